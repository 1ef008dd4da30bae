"""Keeps the open household form as a draft in the local store, as ODK Collect keeps an unfinished form.

Every change of the form schedules one write after `delay` seconds of quiet, on a worker thread (the UI
loop never waits on SQLite while someone types). The payload is taken on the UI thread when the change
happens, so the write holds exactly what the screen showed. A save runs under the same lock: a draft
write still in flight lands before the save (which deletes the draft in its own transaction), and one
still pending is dropped, so a saved household never gets its draft back.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from ntm_field.store import LocalStore
from ntm_field.ui.models.form import FormModel

log = logging.getLogger(__name__)

DELAY = 0.4  # seconds of quiet before a draft is written


class DraftKeeper:
    def __init__(self, store: LocalStore, form: FormModel, *, delay: float = DELAY):
        self.store, self.form, self.delay = store, form, delay
        self._lock = threading.RLock()  # a save tells the listeners (this one too) while it holds it
        self._timer: threading.Timer | None = None
        self._pending: tuple[str, str, str, str, dict[str, Any]] | None = None
        self._kept_version = -1
        form.subscribe(self._changed)

    def _changed(self) -> None:
        form = self.form
        if not form.dirty:  # opened or saved: nothing to keep, and nothing older may land later
            with self._lock:
                self._cancel()
            return
        if form.version == self._kept_version:
            return
        self._kept_version = form.version
        snapshot = (form.household_id, form.hamlet_code, form.head_name, form.house_no, form.payload())
        with self._lock:
            self._pending = snapshot
            self._cancel_timer()
            self._timer = threading.Timer(self.delay, self._write)
            self._timer.daemon = True
            self._timer.start()

    def flush(self) -> None:
        """Write what is pending now, on the calling thread (tests, the command line)."""
        self._write()

    def flush_soon(self) -> None:
        """Write what is pending now, on a worker thread: the UI loop (leaving the form, the session closing)
        never waits on the lock or on SQLite, whatever else holds them."""
        with self._lock:
            if self._pending is None:
                return
            self._cancel_timer()
            self._timer = threading.Timer(0, self._write)
            self._timer.daemon = True
            self._timer.start()

    def discard(self) -> None:
        """Drop the open form's draft: nothing pending, nothing kept."""
        with self._lock:
            self._cancel()
            self.store.discard_draft(self.form.household_id)
        self.form.dirty = False
        self.form.removed = None  # an undo bar still showing must not bring the discarded form back

    def saving(self, save: Callable[[], bool]) -> bool:
        """Run the form's save with no draft write in between; a failed save keeps the draft current."""
        with self._lock:
            self._cancel()
            saved = save()
        if not saved:
            self._kept_version = -1
            self._changed()
        return saved

    def _write(self) -> None:
        with self._lock:
            snapshot, self._pending = self._pending, None
            self._cancel_timer()
            if snapshot is None:
                return
            household_id, hamlet_code, head_name, house_no, payload = snapshot
            try:
                self.store.save_draft(household_id, hamlet_code, head_name, house_no, payload)
            except Exception as error:  # a full disk must not take the form down; the next change retries
                log.warning("draft not written: %s", type(error).__name__)
                self._kept_version = -1

    def _cancel(self) -> None:
        self._pending = None
        self._cancel_timer()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
