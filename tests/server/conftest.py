"""Fixtures for the central endpoint: a fresh database per test on SQLite and on PostgreSQL,
and a real server process (uvicorn) on 127.0.0.1.

PostgreSQL comes from NTM_TEST_POSTGRES_URL (default: the local server of these machines,
postgresql://postgres@127.0.0.1:5432/postgres). Each test gets its own database, dropped after.
When no PostgreSQL answers, its tests are skipped on a developer machine and FAIL in CI (CI=true).
"""

from __future__ import annotations

import itertools
import os
import signal
import socket
import subprocess
import threading
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest
import requests

from ntm_field.server.db import open_backend
from ntm_field.server.store import ServerStore

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "assets" / "units"
PG_URL = os.environ.get("NTM_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
HAMLETS_CSV = (
    "code,name,level,parent_code,expected_households\n"
    "25216-01,Khu phố 1,hamlet,25216,200\n"
    "25216-02,Khu phố 2,hamlet,25216,180\n"
    "25216-03,Khu phố 3,hamlet,25216,\n"
    "25217-01,Khu phố 1,hamlet,25217,150\n"
)


def _postgres_available() -> str | None:
    try:
        with psycopg.connect(PG_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return None
    except psycopg.Error as error:
        return str(error).splitlines()[0]


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    problem = _postgres_available()
    if problem is not None:
        message = f"PostgreSQL is not reachable at {PG_URL}: {problem}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return PG_URL


def _database_url(base: str, name: str) -> str:
    head, _, _ = base.rpartition("/")
    return f"{head}/{name}"


@pytest.fixture
def database_url(request, tmp_path) -> str:
    """A fresh, empty database URL of the engine the test is parametrised with."""
    engine = getattr(request, "param", "sqlite")
    if engine == "sqlite":
        yield f"sqlite:///{tmp_path / 'server.db'}"
        return
    admin_url = request.getfixturevalue("postgres_admin_url")
    name = f"ntm_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _database_url(admin_url, name)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


ENGINES = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)


class Clock:
    def __init__(self):
        self.now = datetime(2024, 4, 12, 2, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def server_store(database_url):
    """A migrated store with the 2024 and 2025 units of Bình Phước, the mapping and four hamlets."""
    counter = itertools.count(1)
    store = ServerStore(open_backend(database_url), clock=Clock(), new_id=lambda: f"id-{next(counter)}")
    store.migrate()
    store.load_units((UNITS / "binhphuoc-2024.csv").read_text(encoding="utf-8"))
    store.load_units((UNITS / "dongnai-2025-binhphuoc.csv").read_text(encoding="utf-8"))
    store.load_mapping((UNITS / "binhphuoc-2025-mapping.csv").read_text(encoding="utf-8"))
    store.load_units(HAMLETS_CSV)
    yield store
    store.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ntm(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ntm_field", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})},
    )  # fmt: skip


@dataclass
class RunningServer:
    url: str
    db: str
    process: subprocess.Popen

    def api(self, path: str) -> str:
        return f"{self.url}{path}"

    def enrol(self, role: str, scope: str, *, uses: int = 1) -> dict:
        """Create a code (in process, as the admin command does) and enrol a device with it over HTTP."""
        store = ServerStore(open_backend(self.db), clock=lambda: datetime.now(timezone.utc), new_id=lambda: str(uuid.uuid4()))
        try:
            code = store.create_enrol_code(
                role=role, scope=scope.split(","), uses=uses, expires_in=timedelta(days=7), created_by="test"
            ).code
        finally:
            store.close()
        reply = requests.post(self.api("/api/v1/enrol"), json={"code": code, "device_name": f"{role} phone"}, timeout=10)
        assert reply.status_code == 201, reply.text
        return reply.json()


def start_server(db: str, *, env: dict | None = None, port: int | None = None, module: list[str] | None = None) -> RunningServer:
    """`ntm-field server` on `db`, or another server module (`module`: its arguments before the port)."""
    port = port or _free_port()
    environment = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    command = ["ntm_field", "server", "--db", db, "--port"] if module is None else module
    stdout, stdout_reader = _output_file()
    stderr, stderr_reader = _output_file()
    with stdout, stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", *command, str(port)],
            cwd=ROOT, env={**environment, **(env or {})}, stdout=stdout, stderr=stderr, start_new_session=True,
        )  # fmt: skip
    # Read back through `process.stdout` / `process.stderr` as pipes would be, but written to files: a server
    # that logs more than a pipe holds (64 KB) while nobody reads would stall mid-test.
    process.stdout, process.stderr = stdout_reader, stderr_reader
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {process.stderr.read().decode()[-2000:]}")
        try:
            if requests.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                return RunningServer(url=url, db=db, process=process)
        except requests.RequestException:
            time.sleep(0.1)
    stop_server(process)
    raise RuntimeError("server did not answer within 30 s")


def _output_file():
    """A file to write a process's output to, and a second handle reading it from the start (the name is
    gone at once: the two handles keep it while they are open)."""
    handle, name = tempfile.mkstemp(prefix="ntm-server-", suffix=".log")
    writer, reader = os.fdopen(handle, "wb"), open(name, "rb")
    os.unlink(name)
    return writer, reader


def at_once(target, arguments) -> None:
    """Run `target(argument)` for each argument on its own thread, all at once, and wait for them all."""
    threads = [threading.Thread(target=target, args=(argument,)) for argument in arguments]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def stop_server(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def prepare_database(database_url: str) -> str:
    """Migrate the database and load the units (in process, through the same store calls as
    `ntm-field admin units load/map`); returns the URL."""
    store = ServerStore(open_backend(database_url), clock=lambda: datetime.now(timezone.utc), new_id=lambda: str(uuid.uuid4()))
    try:
        store.migrate()
        store.load_units((UNITS / "binhphuoc-2024.csv").read_text(encoding="utf-8"))
        store.load_units((UNITS / "dongnai-2025-binhphuoc.csv").read_text(encoding="utf-8"))
        store.load_mapping((UNITS / "binhphuoc-2025-mapping.csv").read_text(encoding="utf-8"))
        store.load_units(HAMLETS_CSV)
    finally:
        store.close()
    return database_url


@pytest.fixture
def server(database_url):
    """A real `ntm-field server` process on a free port of 127.0.0.1, with units loaded."""
    running = start_server(prepare_database(database_url))
    yield running
    stop_server(running.process)
