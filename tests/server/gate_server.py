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
import time
from pathlib import Path

import requests
import uvicorn

from ntm_field.server.admin import open_store
from ntm_field.server.app import Hooks, Settings, create_app


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


def start_gate_server(db: str, port: int, hold: Path, held: Path, env: dict[str, str]) -> subprocess.Popen:
    """The gate server as a process of its own (stop it with conftest.stop_server), once it answers."""
    root = Path(__file__).resolve().parents[2]
    environment = {k: v for k, v in os.environ.items() if k != "DISPLAY"} | env
    process = subprocess.Popen([sys.executable, "-m", "tests.server.gate_server", db, str(port), str(hold), str(held)],
                               cwd=root, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
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


if __name__ == "__main__":
    main()
