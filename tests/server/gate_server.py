"""A central endpoint whose pushes wait at a gate after they commit, before replying: a push that finds
the file HOLD writes the file HELD and waits (at most a minute) until HOLD is gone. A test holds the only
sync slot that way, at a moment it knows, to see what a saturated server answers.

Usage: python -m tests.server.gate_server DB_URL PORT HOLD HELD   (settings from NTM_*, as the server's)
Test-only: the product's command line has no way to set this hook.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
import uvicorn

from ntm_field.server.admin import open_store
from ntm_field.server.app import Hooks, Settings, create_app
from tests.server.conftest import (
    RunningServer,
    _free_port,
    prepare_database,
    stop_server,
)
from tests.server.test_http import change, household, push


def main() -> None:
    url, port, hold, held = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])

    def after_commit() -> None:
        if hold.exists():
            held.touch()
            deadline = time.monotonic() + 60
            while hold.exists() and time.monotonic() < deadline:
                time.sleep(0.01)

    settings = Settings.from_env(database=url)
    app = create_app(settings, store=open_store(url), hooks=Hooks(after_commit=after_commit), dashboard=False)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


class Gate:
    """The two files of a gate server: HOLD (pushes wait while it exists) and HELD (one did)."""

    def __init__(self, folder: Path):
        self.hold, self.held = folder / "hold", folder / "held"

    def close(self) -> None:
        """Pushes from now on reply as soon as they commit; a waiting one goes on."""
        self.hold.unlink(missing_ok=True)

    def hold_next(self) -> None:
        self.held.unlink(missing_ok=True)
        self.hold.touch()

    def wait_held(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not self.held.exists():
            if time.monotonic() > deadline:
                raise AssertionError("no push reached the gate")
            time.sleep(0.01)


def start_gate_server(db: str, port: int, gate: Gate, env: dict[str, str]) -> subprocess.Popen:
    """The gate server as a process of its own (stop it with conftest.stop_server), once it answers."""
    root = Path(__file__).resolve().parents[2]
    environment = {k: v for k, v in os.environ.items() if k != "DISPLAY"} | env
    command = [sys.executable, "-m", "tests.server.gate_server", db, str(port), str(gate.hold), str(gate.held)]
    process = subprocess.Popen(command, cwd=root, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gate server exited: {process.stderr.read().decode()[-2000:]}")
        try:
            if requests.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).status_code == 200:
                return process
        except requests.RequestException:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("gate server did not answer within 30 s")


WAIT = 2  # NTM_ADMISSION_WAIT of these servers, seconds
RETRY_AFTER = 4  # NTM_BUSY_RETRY_AFTER: answered as 2–6 s


@contextmanager
def gated_server(database_url: str, folder: Path) -> Iterator[tuple[RunningServer, Gate]]:
    """A server with units loaded, one sync slot, a wait of WAIT s and a Retry-After of RETRY_AFTER ± 50 %,
    whose pushes wait at a gate while it is held."""
    gate = Gate(folder)
    env = {"NTM_SYNC_SLOTS": "1", "NTM_ADMISSION_WAIT": str(WAIT), "NTM_BUSY_RETRY_AFTER": str(RETRY_AFTER)}
    port = _free_port()
    process = start_gate_server(prepare_database(database_url), port, gate, env)
    try:
        yield RunningServer(url=f"http://127.0.0.1:{port}", db=database_url, process=process), gate
    finally:
        gate.close()
        stop_server(process)


def hold_the_sync_slot(server: RunningServer, gate: Gate, token: str) -> tuple[threading.Thread, dict, list]:
    """Start a push that commits and then waits at the gate, holding the only sync slot; returns once it does."""
    gate.hold_next()
    first = change(household("25216-01"))
    replies: list = []
    thread = threading.Thread(target=lambda: replies.append(push(server, token, [first])))
    thread.start()
    gate.wait_held()
    return thread, first, replies


if __name__ == "__main__":
    main()
