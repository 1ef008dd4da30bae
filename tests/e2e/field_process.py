"""The field app as a real web process whose output is kept (a crash's traceback is in it), and its
store read back read-only, as the monkey and the tap-count test need them."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import requests

from ntm_field.device import STORE_FILE
from tests.server.conftest import ROOT, _free_port

# What an unhandled exception leaves in the app's output (Python's traceback, Flet's own report).
PROBLEM = re.compile(r"Traceback \(most recent call last\)|Error running app|^\w*(Error|Exception)\b.*$", re.M)


class LoggedApp:
    """`python main.py --web` on a free port with stdout and stderr in `log` (never discarded)."""

    def __init__(self, data: Path, log: Path, *, root: Path = ROOT):
        self.data, self.log = data, log
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
        env["PYTHONUNBUFFERED"] = "1"
        log.parent.mkdir(parents=True, exist_ok=True)
        self._out = log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "main.py", "--web", "--port", str(self.port), "--data", str(data)],
            cwd=root, env=env, stdout=self._out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the app exited: {self.text()[-3000:]}")
            try:
                if requests.get(self.url, timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("the app did not answer within 60 s")

    @property
    def db(self) -> Path:
        return self.data / STORE_FILE

    def text(self, start: int = 0) -> str:
        with self.log.open("rb") as f:
            f.seek(start)
            return f.read().decode("utf-8", "replace")

    def size(self) -> int:
        return self.log.stat().st_size

    def problems(self, start: int = 0) -> str | None:
        """The log from the first traceback or error line written after byte `start`, or None."""
        text = self.text(start)
        found = PROBLEM.search(text)
        return None if found is None else text[max(0, found.start() - 200) : found.start() + 4000]

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._out.close()


def app_root() -> Path:
    """Where the app under test comes from: this checkout, or another one (NTM_APP_ROOT), e.g. a
    snapshot of a commit, to run the browser tests against it while the work tree changes."""
    return Path(os.environ.get("NTM_APP_ROOT") or ROOT)


def enrol_store(data: Path, server: str, code: str, *, name: str, root: Path = ROOT) -> None:
    """Enrol a device store as `ntm-field enrol` does, with the app's own code."""
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    done = subprocess.run(
        [sys.executable, "-m", "ntm_field", "enrol", "--data", str(data), "--server", server, "--code", code, "--name", name],
        cwd=root, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def stored_documents(db: Path) -> list[dict]:
    """Every household document in a device store, opened read-only (the app keeps writing)."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as conn:
        rows = conn.execute("SELECT document, label_code, saved_at FROM households").fetchall()
    out = []
    for document, label, saved_at in rows:
        doc = json.loads(document)
        doc["_label_code"], doc["_saved_at"] = label, saved_at
        out.append(doc)
    return out


def stored_household(db: Path, *, label_code: str | None = None) -> dict | None:
    """The household with this label code, or the one saved last."""
    documents = stored_documents(db)
    if label_code:
        return next((d for d in documents if d["_label_code"] == label_code), None)
    saved = [d for d in documents if d["_saved_at"]]
    return max(saved, key=lambda d: d["_saved_at"], default=None)
