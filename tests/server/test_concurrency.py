"""Two server processes on one PostgreSQL, two clients editing the same 100 households at once."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
import requests

from ntm_field.bench.households import generate
from ntm_field.server.db import open_backend
from ntm_field.server.store import ServerStore
from tests.server.conftest import at_once, HAMLETS_CSV, UNITS, start_server, stop_server


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_no_lost_update_across_two_processes(database_url):
    store = ServerStore(open_backend(database_url), clock=lambda: datetime.now(timezone.utc), new_id=lambda: str(uuid.uuid4()))
    store.migrate()
    store.load_units((UNITS / "binhphuoc-2024.csv").read_text(encoding="utf-8"))
    store.load_units(HAMLETS_CSV)
    tokens = []
    for _ in range(2):
        code = store.create_enrol_code(role="surveyor", scope=["25216"], uses=1, expires_in=timedelta(days=1), created_by="t")
        tokens.append(store.enrol(code.code, "phone")[1])
    store.close()

    servers = [start_server(database_url), start_server(database_url)]
    try:
        households = [replace(h, hamlet_code=f"25216-0{i % 3 + 1}") for i, h in enumerate(generate(100, seed=11))]
        first = requests.post(
            servers[0].api("/api/v1/sync/push"),
            json={"batch_id": "seed", "changes": [
                {"change_id": f"seed-{i}", "id": h.id, "base_rev": None, "deleted": False, "data": h.to_document()}
                for i, h in enumerate(households)]},
            headers={"Authorization": f"Bearer {tokens[0]}"}, timeout=60,
        ).json()["results"]  # fmt: skip
        base_revs = {r["id"]: r["rev"] for r in first}

        def edits(client: int) -> list[dict]:
            out = []
            for i, h in enumerate(households):
                if client == 0:
                    edited = replace(h, note=f"ghi chú {i}")  # touches note only
                elif i % 2:
                    edited = replace(h, house_no=f"{i}B")  # a different field: merges
                else:
                    edited = replace(h, note=f"khác {i}")  # the same field: conflicts
                out.append({"change_id": f"edit-{client}-{i}", "id": h.id, "base_rev": base_revs[h.id],
                            "deleted": False, "data": edited.to_document()})  # fmt: skip
            return out

        results: dict[int, list[dict]] = {}

        def client(number: int) -> None:
            changes, collected = edits(number), []
            for start in range(0, len(changes), 10):
                reply = requests.post(
                    servers[number].api("/api/v1/sync/push"),
                    json={"batch_id": f"{number}-{start}", "changes": changes[start : start + 10]},
                    headers={"Authorization": f"Bearer {tokens[number]}"}, timeout=60,
                )  # fmt: skip
                collected += reply.json()["results"]
            results[number] = collected

        at_once(client, (0, 1))
    finally:
        for server in servers:
            stop_server(server.process)

    statuses = [r["status"] for n in (0, 1) for r in results[n]]
    assert len(statuses) == 200 and set(statuses) <= {"applied", "merged", "conflict"}
    # per household one edit lands first (applied); the other merges (other field) or conflicts (same field)
    assert (statuses.count("applied"), statuses.count("merged"), statuses.count("conflict")) == (100, 50, 50)
    store = ServerStore(open_backend(database_url), clock=lambda: datetime.now(timezone.utc), new_id=lambda: str(uuid.uuid4()))
    try:
        with store.backend.transaction() as tx:
            history = dict(tx.all("SELECT change_id, count(*) FROM revisions GROUP BY change_id"))
            revs = [row[0] for row in tx.all("SELECT rev FROM revisions ORDER BY rev")]
            documents = {row[0]: row[1] for row in tx.all("SELECT id, document FROM households")}
        assert all(history.get(f"edit-{n}-{i}") == 1 for n in (0, 1) for i in range(100))
        assert len(revs) == len(set(revs)) == 300
        for i, h in enumerate(households):
            stored = json.loads(documents[h.id])
            # no lost update: the odd households keep both edits (note from one, house number from the other)
            if i % 2:
                assert (stored["note"], stored["house_no"]) == (f"ghi chú {i}", f"{i}B")
        hamlets = ["25216-01", "25216-02", "25216-03"]
        live = store.counters(hamlets)
        store.recompute()
        assert store.counters(hamlets) == live
    finally:
        store.close()
