"""The server dies right after a commit and before its reply, 50 times: retries lose nothing and double nothing."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
import requests

from ntm_field.bench.households import generate
from ntm_field.server.db import open_backend
from ntm_field.server.store import ServerStore
from tests.server.conftest import ENGINES, HAMLETS_CSV, ROOT, UNITS, _free_port

KILLS = 50


def _start(db: str, kill_at: int) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.server.fault_server", db, str(port), str(kill_at)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read().decode()[-2000:]
        try:
            requests.get(f"{url}/api/v1/health", timeout=1)
            return process, url
        except requests.RequestException:
            time.sleep(0.05)
    raise RuntimeError("fault server did not start")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _store(db: str) -> ServerStore:
    return ServerStore(open_backend(db), clock=lambda: datetime.now(timezone.utc), new_id=lambda: str(uuid.uuid4()))


@pytest.mark.slow
@ENGINES
def test_kills_between_commit_and_reply_leave_no_duplicate_and_no_gap(database_url):
    store = _store(database_url)
    store.migrate()
    store.load_units((UNITS / "binhphuoc-2024.csv").read_text(encoding="utf-8"))
    store.load_units(HAMLETS_CSV)
    code = store.create_enrol_code(role="surveyor", scope=["25216"], uses=1, expires_in=timedelta(days=1), created_by="t")
    _, token = store.enrol(code.code, "phone")
    store.close()

    rng = random.Random(42)
    households = [replace(h, hamlet_code=f"25216-0{i % 3 + 1}") for i, h in enumerate(generate(600, seed=8))]
    changes = [
        {"change_id": f"c-{i}", "id": h.id, "base_rev": None, "deleted": False, "data": h.to_document()}
        for i, h in enumerate(households)
    ]
    batches = [changes[i : i + 4] for i in range(0, len(changes), 4)]
    headers = {"Authorization": f"Bearer {token}"}
    final: dict[str, dict] = {}
    kills = 0
    process, url = _start(database_url, rng.randint(1, 3))
    try:
        for number, batch in enumerate(batches):
            while True:
                try:
                    reply = requests.post(f"{url}/api/v1/sync/push", json={"batch_id": f"b{number}", "changes": batch},
                                          headers=headers, timeout=30)  # fmt: skip
                    break
                except requests.ConnectionError:
                    kills += 1
                    _stop(process)
                    # after enough kills, run clean so the test ends
                    process, url = _start(database_url, rng.randint(1, 3) if kills < KILLS else 10**9)
            assert reply.status_code == 200, reply.text
            for result in reply.json()["results"]:
                assert result["status"] in ("applied", "duplicate"), result
                final[result["change_id"]] = result
    finally:
        _stop(process)
    assert kills >= KILLS, f"only {kills} kills"

    store = _store(database_url)
    try:
        with store.backend.transaction() as tx:
            per_change = dict(tx.all("SELECT change_id, count(*) FROM revisions GROUP BY change_id"))
            revs = dict(tx.all("SELECT change_id, rev FROM changes"))
            stored = tx.one("SELECT count(*) FROM households")[0]
        assert set(per_change) == {c["change_id"] for c in changes}  # nothing missing
        assert set(per_change.values()) == {1}  # nothing applied twice
        assert stored == len(households)
        assert all(final[cid]["rev"] == rev for cid, rev in revs.items())  # retries got the first outcome
        hamlets = ["25216-01", "25216-02", "25216-03"]
        live = store.counters(hamlets)
        store.recompute()
        assert store.counters(hamlets) == live
    finally:
        store.close()
