"""Fixtures for the device side of sync: real server processes (from the server tests' fixtures),
device stores in temp dirs, enrolled over HTTP, with a fast retry policy."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from contextlib import contextmanager
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from ntm_field.server.db import open_backend
from ntm_field.server.store import ServerStore
from ntm_field.store import LocalStore
from ntm_field.sync.engine import Policy, SyncEngine
from ntm_field.sync.enrol import enrol_device
from ntm_field.sync.transport import Transport
from tests.conftest import FakeClock
from tests.server.conftest import (  # noqa: F401  (fixtures used by the sync tests)
    ENGINES,
    RunningServer,
    database_url,
    postgres_admin_url,
    server,
    start_server,
    stop_server,
)


@contextmanager
def admin_store(server: RunningServer) -> Iterator[ServerStore]:
    """The server's store, opened in process as the `ntm-field admin` commands open it."""
    store = ServerStore(open_backend(server.db), clock=lambda: datetime.now(timezone.utc), new_id=lambda: str(uuid.uuid4()))
    try:
        yield store
    finally:
        store.close()


def enrol_code(server: RunningServer, *, role: str = "surveyor", scope: str = "25216", uses: int = 1) -> str:
    """A fresh enrolment code, created in process as `ntm-field admin enrol-code` does."""
    with admin_store(server) as store:
        return store.create_enrol_code(
            role=role, scope=scope.split(","), uses=uses, expires_in=timedelta(days=7), created_by="test"
        ).code


def fast_policy(seed: int = 0, **overrides) -> Policy:
    """Retries that fit in a test: short backoff, many attempts."""
    settings = {"backoff_base": 0.02, "backoff_cap": 0.5, "attempts": 12, **overrides}
    return Policy(rng=random.Random(seed), **settings)


@dataclass
class Device:
    store: LocalStore
    clock: FakeClock
    url: str
    read_timeout: float = 10.0
    policy: Policy | None = None

    def connect(self, server: str, token: str | None) -> Transport:
        # The enrolled address is the server's; tests may route the device through a proxy instead.
        return Transport(self.url, token, connect_timeout=2.0, read_timeout=self.read_timeout)

    def engine(self, **policy) -> SyncEngine:
        return SyncEngine(self.store, connect=self.connect, policy=self.policy or fast_policy(**policy))

    def sync(self, **policy):
        return self.engine(**policy).run()


@pytest.fixture
def make_device(tmp_path: Path):
    """make_device(server, scope=…, role=…) → an enrolled Device with its own store and clock."""
    names = itertools.count(1)
    opened: list[LocalStore] = []

    def make(server: RunningServer, *, scope: str = "25216", role: str = "surveyor", clock: FakeClock | None = None) -> Device:
        n = next(names)
        clock = clock or FakeClock()
        ids = itertools.count(1)
        store = LocalStore.open(tmp_path / f"device-{n}" / "ntm-field.db", clock=clock,
                                new_id=lambda: str(uuid.UUID(int=(n << 64) + next(ids))))  # fmt: skip
        opened.append(store)
        device = Device(store=store, clock=clock, url=server.url)
        enrol_device(store, enrol_code(server, role=role, scope=scope), server=server.url,
                     device_name=f"phone {n}", clock=clock, connect=device.connect)  # fmt: skip
        return device

    yield make
    for store in opened:
        store.close()


def server_rows(server: RunningServer, sql: str, params: list | tuple = ()) -> list[tuple]:
    """Rows of a query on the server's own database (what it stored, not what it answered)."""
    backend = open_backend(server.db)
    try:
        with backend.transaction() as tx:
            return [tuple(row) for row in tx.all(sql, params)]
    finally:
        backend.close()


def server_history(server: RunningServer) -> list[tuple]:
    """(change_id, household_id, status, rev) of every change the server stored, in order."""
    return server_rows(server, "SELECT change_id, household_id, status, rev FROM changes ORDER BY rev")


def server_documents(server: RunningServer) -> dict[str, dict | None]:
    rows = server_rows(server, "SELECT id, deleted, document FROM households")
    return {row[0]: None if row[1] else json.loads(row[2]) for row in rows}
