"""What `ntm-field demo` refuses before it starts anything: a busy port, a directory that is not a demo's."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ntm_field.demo import run as demo

ROOT = Path(__file__).resolve().parents[2]


def test_a_busy_port_is_one_line_on_stderr_and_exit_1(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "ntm_field", "demo", "--port", str(port), "--data", str(tmp_path / "d")],
            cwd=ROOT, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"ntm-field: port {port} is in use (the demo uses {port}–{port + 2}; choose another with --port)"
    ]
    assert not (tmp_path / "d").exists()


def test_a_directory_that_holds_something_else_is_never_wiped(tmp_path):
    (tmp_path / "thesis.docx").write_text("keep me")
    with pytest.raises(demo.DemoError, match="not empty and holds no earlier demo"):
        demo._fresh_dir(tmp_path)
    assert (tmp_path / "thesis.docx").read_text() == "keep me"


def test_an_earlier_demo_is_wiped_and_a_running_one_is_not(tmp_path):
    earlier = tmp_path / "earlier"
    (earlier / "surveyor").mkdir(parents=True)
    (earlier / "server.db").write_text("old")
    (earlier / demo.MARKER).write_text(json.dumps({"pid": 2**22 + 1}))  # no such process
    assert demo._fresh_dir(earlier) == earlier.resolve()
    assert sorted(p.name for p in earlier.iterdir()) == [demo.MARKER, "logs"]
    assert json.loads((earlier / demo.MARKER).read_text())["pid"] == os.getpid()

    running = tmp_path / "running"
    running.mkdir()
    (running / demo.MARKER).write_text("{}")
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", "demo"])
    try:
        (running / demo.MARKER).write_text(json.dumps({"pid": sleeper.pid}))
        deadline = time.monotonic() + 10
        while b"demo" not in Path(f"/proc/{sleeper.pid}/cmdline").read_bytes() and time.monotonic() < deadline:
            time.sleep(0.01)  # until the child has exec'd its command line
        with pytest.raises(demo.DemoError, match=f"still running .*process {sleeper.pid}"):
            demo._fresh_dir(running)
        assert (running / demo.MARKER).exists()
    finally:
        sleeper.kill()
        sleeper.wait()
