"""`ntm-field server --workers N` on PostgreSQL: N processes answer on one port, and concurrent devices
pushing distinct households through 1, 2 and 4 processes land every household exactly once, with coverage
counters equal to a brute-force recount. Behaviour is asserted; the rates are printed, never asserted."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import pytest
import requests

from ntm_field.bench.households import generate
from ntm_field.server.admin import connections_needed
from ntm_field.server.settings import Settings
from tests.server.conftest import prepare_database, start_server, stop_server
from tests.server.test_http import auth, coverage_ok, figures_in, figures_of, push
from tests.sync.conftest import server_history, server_rows

POSTGRES = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
DEVICES = 8
BATCHES = 5  # per device
BATCH = 10  # households per batch


def workers_of(pid: int) -> list[int]:
    """The worker processes uvicorn spawned under the server process `pid` (not its resource tracker)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in children if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()]


def established_on(port: int) -> set[int]:
    """Socket inodes of the TCP connections established to `port` on this machine (/proc/net/tcp)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":
                inodes.add(int(fields[9]))
    return inodes


def sockets_of(pid: int) -> set[int]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = fd.readlink().name
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


@POSTGRES
def test_two_workers_answer_from_two_processes(database_url):
    # 60 threads a process: 2 × (60 + 1 + 8 + 1) = 140 connections could pass PostgreSQL's 97, said at start
    server = start_server(prepare_database(database_url), env={"NTM_WORKERS": "2", "NTM_THREADS": "60"})
    sessions = []
    try:
        workers = workers_of(server.process.pid)
        assert len(workers) == 2 and server.process.pid not in workers
        port = int(server.url.rsplit(":", 1)[1])
        serving: set[int] = set()
        for _ in range(200):  # the kernel hands each new connection to whichever worker accepts first
            session = requests.Session()
            assert session.get(server.api("/api/v1/health"), timeout=10).status_code == 200
            sessions.append(session)  # kept alive: its connection stays open in the worker that took it
            open_here = established_on(port)
            serving = {worker for worker in workers if sockets_of(worker) & open_here}
            if serving == set(workers):
                break
        assert serving == set(workers)
    finally:
        for session in sessions:
            session.close()
        stop_server(server.process)
    warning = server.process.stderr.read().decode()
    assert "ntm-field: warning: 2 workers × (60 threads + 1 exports + 2 × 4 dashboard + 1) may open 140 PostgreSQL connections" in warning


def _device(server, token: str, households: list, refusals: list, errors: list) -> None:
    """One phone: its households in batches, each batch sent again after Retry-After when refused with 503."""
    for start in range(0, len(households), BATCH):
        changes = [{"change_id": str(uuid.uuid4()), "id": h.id, "base_rev": None, "deleted": False,
                    "data": h.to_document()} for h in households[start : start + BATCH]]  # fmt: skip
        for _ in range(10):
            reply = push(server, token, changes)
            if reply.status_code != 503:
                break
            refusals.append(int(reply.headers["Retry-After"]))
            time.sleep(int(reply.headers["Retry-After"]))
        if reply.status_code != 200 or {r["status"] for r in reply.json()["results"]} != {"applied"}:
            errors.append(reply.text[:300])


@POSTGRES
@pytest.mark.parametrize("workers", [1, 2, 4])
def test_concurrent_devices_through_n_processes_land_each_household_once(database_url, workers):
    server = start_server(prepare_database(database_url), env={"NTM_WORKERS": str(workers)})
    try:
        assert len(workers_of(server.process.pid)) == (workers if workers > 1 else 0)  # one process: no children
        officer = server.enrol("officer", "25216")["token"]
        tokens = [server.enrol("surveyor", "25216")["token"] for _ in range(DEVICES)]
        households = list(generate(DEVICES * BATCHES * BATCH, seed=14 + workers, hamlets=3, commune="25216"))
        shares = [households[n::DEVICES] for n in range(DEVICES)]
        refusals: list[int] = []
        errors: list[str] = []
        threads = [threading.Thread(target=_device, args=(server, token, share, refusals, errors))
                   for token, share in zip(tokens, shares, strict=True)]  # fmt: skip
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        assert errors == []

        history = server_history(server)
        assert len(history) == len(households) == len({row[1] for row in history})  # each once, no double
        assert {row[1] for row in history} == {h.id for h in households}
        assert server_rows(server, "SELECT count(*) FROM households")[0][0] == len(households)
        assert figures_in(coverage_ok(server, officer, "25216")) == figures_of(households)
        # connections stay within the documented bound (admin.connections_needed)
        [(connections,)] = server_rows(server, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        assert connections <= connections_needed(Settings(database_url=database_url, workers=workers)) + 1  # + this query's
        print(f"\n{workers} process(es): {len(households) / elapsed:.0f} households/s, {len(refusals)} 503s")
    finally:
        stop_server(server.process)
