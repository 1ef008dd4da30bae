"""Sync in the background for the app: now on request, every few minutes, and right after a save.

One worker thread runs the cycles (never the UI loop); listeners get a new
`SyncState` whenever something changes (a progress step, a finished cycle), on
the worker thread: a UI hands it over to its own loop.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from ntm_field.sync.engine import Progress, SyncEngine, SyncReport
from ntm_field.sync.errors import AuthFailed, Cancelled, ServerBusy, SyncError, Transient

DEFAULT_INTERVAL = 180.0  # seconds between automatic cycles


class SyncStatus(StrEnum):
    IDLE = "idle"  # the last cycle completed: online
    SYNCING = "syncing"
    OFFLINE = "offline"  # the last cycle could not reach the server; it will try again
    BUSY = "busy"  # the server answered that it is busy (429, 503) or failing (5xx); it will try again
    ERROR = "error"  # the server refused a request or answered off-contract
    AUTH_FAILED = "auth_failed"  # the token no longer works: enrol again
    REVOKED = "revoked"  # the device was revoked and its data wiped
    NOT_ENROLLED = "not_enrolled"
    CANCELLED = "cancelled"  # the user stopped the last cycle


@dataclass(frozen=True, slots=True)
class SyncState:
    status: SyncStatus
    pending: int
    last_success: datetime | None = None
    last_report: SyncReport | None = None
    progress: Progress | None = None


def status_of(report: SyncReport) -> SyncStatus:
    problem = report.problem
    if problem is None:
        return SyncStatus.IDLE
    if isinstance(problem, AuthFailed):
        if problem.error_code == "not_enrolled":
            return SyncStatus.NOT_ENROLLED
        return SyncStatus.REVOKED if problem.revoked else SyncStatus.AUTH_FAILED
    if isinstance(problem, Cancelled):
        return SyncStatus.CANCELLED
    if isinstance(problem, ServerBusy):
        return SyncStatus.BUSY
    if isinstance(problem, Transient):
        return SyncStatus.OFFLINE
    return SyncStatus.ERROR


class SyncService:
    """Drives a SyncEngine from a worker thread."""

    def __init__(self, engine: SyncEngine, *, clock: Callable[[], datetime], interval: float = DEFAULT_INTERVAL):
        self._engine = engine
        self._clock = clock
        self._interval = interval
        self._listeners: list[Callable[[SyncState], None]] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None
        status = SyncStatus.IDLE if engine.store.enrolment() else SyncStatus.NOT_ENROLLED
        self._state = SyncState(status=status, pending=engine.store.pending_count())

    @property
    def state(self) -> SyncState:
        return self._state

    def subscribe(self, listener: Callable[[SyncState], None]) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Callable[[SyncState], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def start(self) -> None:
        """Start the worker: a first cycle now, then one every `interval` seconds."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="ntm-sync", daemon=True)
            self._thread.start()
            self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._cancel.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def sync_now(self) -> None:
        """Ask for a cycle as soon as the worker is free."""
        self._wake.set()

    def saved(self) -> None:
        """A household was saved: send it right away when the last cycle reached the server."""
        self._set(pending=self._engine.store.pending_count())
        if self._state.status is SyncStatus.IDLE:
            self._wake.set()

    def cancel(self) -> None:
        """Stop the running cycle at its next step (what was committed stays)."""
        self._cancel.set()

    def run_once(self) -> SyncReport:
        """One cycle on the calling thread (the command line, tests)."""
        with self._lock:
            self._cancel.clear()
            self._set(status=SyncStatus.SYNCING, progress=None)
            try:
                report = self._engine.run(progress=lambda p: self._set(progress=p), cancel=self._cancel)
            except Exception as error:  # noqa: BLE001 — the worker must survive; the state says it failed
                report = SyncReport(problem=SyncError(type(error).__name__), pending=self._engine.store.pending_count())
            status = status_of(report)
            last_success = self._clock() if report.ok else self._state.last_success
            self._set(status=status, pending=report.pending, last_report=report, progress=None, last_success=last_success)
            return report

    def _work(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(timeout=self._interval)
            self._wake.clear()
            if self._stopping.is_set():
                return
            if self._state.status in (SyncStatus.REVOKED, SyncStatus.NOT_ENROLLED) and not self._engine.store.enrolment():
                continue
            self.run_once()

    def _set(self, **changes) -> None:
        self._state = replace(self._state, **changes)
        for listener in list(self._listeners):
            try:
                listener(self._state)
            except Exception:  # noqa: BLE001 — a screen that went away must not fail a save or a sync
                self.unsubscribe(listener)
