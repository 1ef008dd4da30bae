"""The README's first command: `ntm-field demo` brings everything up, every printed URL answers,
the printed officer token reads the province, and SIGTERM leaves no process behind."""

from __future__ import annotations

import os
import queue
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 90


def _free_ports(count: int) -> int:
    """A base port with `count` consecutive free ports (the demo uses PORT, PORT+1, PORT+2)."""
    rng = random.Random()
    for _ in range(200):
        base = rng.randint(20_000, 60_000)
        try:
            for port in range(base, base + count):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError("no free ports")


def _descendants(root: int) -> set[int]:
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry.name))
    found, stack = set(), [root]
    while stack:
        for child in parents.get(stack.pop(), ()):
            found.add(child)
            stack.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _read_until_ready(process: subprocess.Popen) -> list[str]:
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        for line in process.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    seen: list[str] = []
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            continue
        if line is None:
            raise AssertionError("the demo exited before it was ready:\n" + "\n".join(seen))
        seen.append(line)
        if "Ctrl+C" in line:
            return seen
    raise AssertionError(f"no ready block within {READY_TIMEOUT} s:\n" + "\n".join(seen))


def _value(lines: list[str], label: str) -> str:
    [line] = [line for line in lines if label in line]
    return line.rsplit(None, 1)[-1]


def test_the_demo_starts_answers_on_every_printed_url_and_stops_cleanly(tmp_path):
    port = _free_ports(3)
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "ntm_field", "demo", "--port", str(port), "--data", str(tmp_path / "demo")],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    dashboard = None
    try:
        lines = _read_until_ready(process)
        ready_after = time.monotonic() - started
        urls = {name: _value(lines, label) for name, label in (
            ("dashboard", "Officer dashboard"), ("health", "health"), ("openapi", "OpenAPI"),
            ("surveyor", "Surveyor app"), ("leader", "Leader app"),
        )}  # fmt: skip
        token = _value(lines, "Officer token")
        assert all(url.startswith(f"http://127.0.0.1:{port}") for url in (urls["dashboard"], urls["health"]))

        assert requests.get(urls["health"], timeout=10).json()["status"] == "ok"
        assert "/api/v1/sync/push" in requests.get(urls["openapi"], timeout=10).json()["paths"]
        for app in ("surveyor", "leader"):
            page = requests.get(urls[app], timeout=10)
            assert page.status_code == 200 and "flutter" in page.text.lower(), app  # Flet's web index

        auth = {"Authorization": f"Bearer {token}"}
        api = urls["health"].removesuffix("/api/v1/health")
        province = requests.get(f"{api}/api/v1/coverage?unit=70", headers=auth, timeout=10)
        assert province.status_code == 200
        figures = province.json()
        assert figures["households"]["surveyed"] > 3_000 and len(figures["children"]) == 11
        merged = requests.get(f"{api}/api/v1/coverage?unit=75&structure=2025", headers=auth, timeout=10).json()
        assert merged["indicators"] == figures["indicators"] and merged["households"] == figures["households"]
        conflicts = requests.get(f"{api}/api/v1/conflicts?unit=70", headers=auth, timeout=10).json()["conflicts"]
        assert len(conflicts) >= 5
        assert requests.get(f"{api}/api/v1/coverage?unit=70", timeout=10).status_code == 401
        dashboard = requests.get(urls["dashboard"], timeout=10).status_code

        children = _descendants(process.pid)
        assert len(children) >= 3  # the endpoint and two field apps
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        deadline = time.monotonic() + 5
        while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [pid for pid in children if _alive(pid)] == []
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert ready_after < 60
    # The officer dashboard is mounted at / by create_app (issue 6): it must answer too.
    assert dashboard == 200
