"""Run a child that saves in a loop and prints a line per confirmed save, SIGKILL it at a random moment,
and return the lines it confirmed (split into fields): shared by the store's durability tests."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_and_kill(module: str, store_path: Path, seed: int, rng: random.Random, *, within: float) -> list[list[str]]:
    """`python -m module STORE SEED` until it says "ready", then kill it within `within` seconds."""
    child = subprocess.Popen(
        [sys.executable, "-m", module, str(store_path), str(seed)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    assert child.stdout.readline() == b"ready\n", child.stderr.read().decode()
    time.sleep(rng.uniform(0.0, within))
    child.send_signal(signal.SIGKILL)
    out, err = child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL, err.decode()
    # a line cut by the kill was never confirmed
    return [line.split() for line in out.decode().splitlines(keepends=True) if line.endswith("\n")]
