"""Reads do not take SQLite's write lock: while another connection holds it (a long push batch, a
recompute), pull, coverage, progress and the conflicts list still answer. A read transaction is read
only on both engines."""

from __future__ import annotations

import sqlite3

import pytest
import requests

from tests.server.conftest import ENGINES

READS = [
    "/api/v1/sync/pull",
    "/api/v1/coverage?unit=25216",
    "/api/v1/progress?unit=25216",
    "/api/v1/conflicts?unit=25216",
]


def test_reads_answer_while_another_connection_holds_the_write_lock(server):
    leader = server.enrol("leader", "25216")
    headers = {"Authorization": f"Bearer {leader['token']}"}
    for path in READS:  # warm: the units are read and cached once
        assert requests.get(server.api(path), headers=headers, timeout=10).status_code == 200
    writer = sqlite3.connect(server.db.removeprefix("sqlite:///"), isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # the write lock, held as a push batch holds it
    try:
        for path in READS:
            try:
                reply = requests.get(server.api(path), headers=headers, timeout=5)
            except requests.Timeout:
                pytest.fail(f"{path} waited for the write lock")
            assert reply.status_code == 200, (path, reply.text)
    finally:
        writer.execute("ROLLBACK")
        writer.close()


@ENGINES
def test_a_read_transaction_refuses_writes(server_store):
    with pytest.raises(Exception) as refused:
        with server_store.backend.read() as tx:
            tx.execute("UPDATE sync_clock SET seq = seq + 1 WHERE id = 1")
    assert "read" in str(refused.value).lower()  # SQLite: readonly database; PostgreSQL: read-only transaction
    with server_store.backend.read() as tx:  # the connection is usable again, and nothing was written
        assert tx.one("SELECT seq FROM sync_clock WHERE id = 1") == (0,)
    with server_store.backend.transaction() as tx:  # and writes work again outside the read
        tx.execute("UPDATE sync_clock SET seq = seq + 1 WHERE id = 1")
