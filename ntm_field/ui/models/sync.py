"""Sync screen and the sync chip: state of the background service, last results, the needs-fix list."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ntm_field.store import LocalStore
from ntm_field.sync.service import SyncService, SyncState, SyncStatus
from ntm_field.ui.i18n import I18n, field_label
from ntm_field.ui.models.base import Observable


@dataclass(frozen=True, slots=True)
class FixRow:
    household_id: str
    text: str


class SyncModel(Observable):
    def __init__(self, store: LocalStore, service: SyncService, i18n: I18n):
        super().__init__()
        self.store, self.service, self.i18n = store, service, i18n
        service.subscribe(self._service_changed)

    def _service_changed(self, _state: SyncState) -> None:
        self.changed()

    def close(self) -> None:
        """Stop listening to the service (the screen's session ended)."""
        self.service.unsubscribe(self._service_changed)

    @property
    def state(self) -> SyncState:
        return self.service.state

    def chip(self) -> str:
        state = self.state
        if state.status is SyncStatus.IDLE and state.last_success is None:
            return self.i18n.t("sync.chip.never", pending=state.pending)
        return self.i18n.t(f"sync.chip.{state.status.value}", pending=state.pending)

    def last_success(self) -> str:
        when = self.state.last_success
        return self.i18n.t("sync.last_success", when=when.strftime("%H:%M %d/%m")) if when else self.i18n.t("sync.never")

    def progress(self) -> tuple[str, float | None] | None:
        """(text, fraction or None for indeterminate) while a cycle runs."""
        state = self.state
        if state.status is not SyncStatus.SYNCING:
            return None
        step = state.progress
        if step is not None and step.phase == "wait":  # the server is busy: say how long until it is asked again
            return self.i18n.t("sync.progress.wait", seconds=max(1, math.ceil(step.wait))), None
        if step is None or step.phase == "pull":
            return self.i18n.t("sync.progress.pull", pages=step.pages if step else 0), None
        return self.i18n.t("sync.progress.push", sent=step.sent, total=step.total), (step.sent / step.total if step.total else None)

    def result(self) -> str | None:
        report = self.state.last_report
        if report is None:
            return None
        text = self.i18n.t("sync.result", **report.counts())
        status = self.state.status
        if status in (SyncStatus.OFFLINE, SyncStatus.BUSY, SyncStatus.AUTH_FAILED, SyncStatus.REVOKED, SyncStatus.CANCELLED):
            text += " — " + self.i18n.t(f"sync.problem.{status.value}")
        elif status is SyncStatus.ERROR:
            text += " — " + self.i18n.t("sync.problem.error", detail=getattr(report.problem, "error_code", report.problem))
        return text

    def needs_fix(self) -> list[FixRow]:
        rows = []
        for fix in self.store.needs_fix():
            household = self.store.get(fix.household_id)
            name = household.head_name if household else fix.household_id
            rows.append(FixRow(fix.household_id, self.i18n.t("sync.needs_fix_row", name=name, field=self.field_label(fix.error_field),
                                                              message=fix.error_message)))  # fmt: skip
        return rows

    def field_label(self, path: str | None) -> str:
        return field_label(self.i18n, path)

    def sync_now(self) -> None:
        self.service.sync_now()

    def cancel(self) -> None:
        self.service.cancel()
