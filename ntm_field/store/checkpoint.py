"""WAL checkpoints off the save path.

SQLite's automatic checkpoint runs inside the commit that crosses the WAL size
limit: one save in ~40 paid ≈15 ms for it. Here writers turn the automatic
checkpoint off and nudge a background thread after each commit; the thread
checkpoints on its own connection, at most once every `interval` seconds, so
saves never wait for a checkpoint.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path


RESTART_FRAMES = 4_000  # ≈16 MiB of WAL at 4 KiB pages


class Checkpointer:
    """A daemon thread that runs `PRAGMA wal_checkpoint(PASSIVE)` after commits."""

    def __init__(self, path: Path, *, interval: float = 1.0):
        self._path = path
        self._interval = interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def after_commit(self) -> None:
        """Called by a writer after each commit; costs an Event.set()."""
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._stop.clear()
                    self._thread = threading.Thread(target=self._run, name="ntm-checkpoint", daemon=True)
                    self._thread.start()
        self._wake.set()

    def stop(self) -> None:
        """Checkpoint what is left and stop the thread."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            self._wake.set()
            thread.join(timeout=60)

    def _run(self) -> None:
        conn = sqlite3.connect(self._path, timeout=30)
        try:
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA busy_timeout=30000")
            while not self._stop.is_set():
                self._wake.wait()
                self._stop.wait(self._interval)  # let commits gather: one checkpoint for many saves
                self._wake.clear()
                _busy, log_frames, _done = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                if log_frames > RESTART_FRAMES:
                    # Steady writers never let a passive checkpoint catch up, and the WAL only
                    # starts over once it has: wait briefly for them so the file stops growing.
                    conn.execute("PRAGMA wal_checkpoint(RESTART)")
        finally:
            conn.close()
