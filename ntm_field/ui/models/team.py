"""A team leader's screens: coverage per hamlet from the device's own data (offline, with the domain's
indicator function, so it equals the server's figures for the same households), progress per team
member, follow-ups; and, online, the conflict inbox and enrolment codes for new team members."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ntm_field.domain.codes import Check, VisitStatus
from ntm_field.domain.indicators import Tally
from ntm_field.domain.merge import parse_member_path
from ntm_field.domain.units import Level
from ntm_field.qr import household_labels, label_sheet_pdf, qr_png
from ntm_field.store import LocalStore, SurveyorProgress
from ntm_field.sync.errors import AuthFailed, Offline, Refused, ServerBusy, SyncError
from ntm_field.sync.leader import CompetingValue, Conflict, Invite, LeaderClient
from ntm_field.ui.i18n import I18n, field_name
from ntm_field.ui.models.base import Observable


@dataclass(frozen=True, slots=True)
class HamletFigures:
    """What the server's coverage endpoint reports for a hamlet, computed from the device's store."""

    code: str
    name: str
    expected: int | None
    visits: dict[str, int]  # visit status → households
    tally: Tally

    @property
    def surveyed(self) -> int:
        return self.tally.surveyed


@dataclass(frozen=True, slots=True)
class ConflictOption:
    """One competing value as the leader reads it: the value in words, who sent it, when, from which revision."""

    text: str  # the value in words
    value: Any  # the value itself, sent back to resolve
    device: str  # the sending device's name ("Máy này" for the leader's own)
    when: str  # dd/mm/yyyy HH:MM in the device's time zone, "" when the server did not say
    rev: int

    def source(self, i18n: I18n) -> str:
        return i18n.t("team.option_source", device=self.device, when=self.when or "?", rev=self.rev)


@dataclass(frozen=True, slots=True)
class ConflictRow:
    """A conflict as the leader reads it: which household, which field, and each competing value."""

    id: str
    household_id: str
    household: str  # head name and label code, from the device's copy
    field: str  # in words
    options: tuple[ConflictOption, ...]


@dataclass(frozen=True, slots=True)
class Choice:
    """A value the leader picked, waiting for confirmation: what the dialog says."""

    conflict_id: str
    index: int
    title: str
    body: str
    confirm: str  # the confirm button's label, naming the value kept


class TeamModel(Observable):
    def __init__(self, store: LocalStore, i18n: I18n, *, client: LeaderClient, clock: Callable[[], datetime],
                 sync_now: Callable[[], None]):  # fmt: skip
        super().__init__()
        self.store, self.i18n, self.client, self.clock, self.sync_now = store, i18n, client, clock, sync_now
        self.hamlets: list[HamletFigures] = []
        self.surveyors: list[SurveyorProgress] = []
        self.conflicts: list[ConflictRow] = []
        self.conflicts_loaded = False
        self.conflicts_loading = False
        self.choice: Choice | None = None  # picked, not yet confirmed
        self.invite: Invite | None = None
        self.invite_png: bytes | None = None
        self.message: str | None = None  # the last online action's outcome, in words

    @property
    def is_leader(self) -> bool:
        enrolment = self.store.enrolment()
        return enrolment is not None and enrolment.role in ("leader", "admin")

    # ----- offline: the device's own data --------------------------------------------------

    def refresh(self) -> None:
        units = self.store.units()
        hamlets = sorted((u for u in units.values() if u.level is Level.HAMLET), key=lambda u: u.code)
        figures = []
        for unit in hamlets:
            visits, hamlet_tally = self.store.hamlet_figures(unit.code)
            figures.append(HamletFigures(
                code=unit.code, name=unit.name, expected=unit.expected_households,
                visits={str(v): visits.get(str(v), 0) for v in VisitStatus}, tally=hamlet_tally,
            ))  # fmt: skip
        self.hamlets = figures
        self.surveyors = self.store.surveyor_progress([h.code for h in figures], today=self.clock().date().isoformat())
        self.changed()

    def surveyor_name(self, progress: SurveyorProgress) -> str:
        return progress.surveyor or self.i18n.t("team.this_device")

    def rate_text(self, figures: HamletFigures, check: Check) -> str:
        figure = figures.tally.figure(check)
        return self.i18n.t("team.figure", label=self.i18n.check(check.value), covered=figure.covered,
                           eligible=figure.eligible, rate=self.i18n.percent(figure.rate))  # fmt: skip

    def chart(self) -> list[tuple[str, dict[Check, float]]]:
        """Per hamlet (short name), the four rates in percent (0 where nobody is eligible)."""
        return [
            (h.code, {check: round(100 * (h.tally.figure(check).rate or 0), 1) for check in Check}) for h in self.hamlets
        ]

    # ----- online: conflicts and new members ----------------------------------------------

    def begin_loading(self) -> bool:
        """Mark the inbox as loading; False when a load is already under way (the screen opening and a
        tap on reload at once fetch once)."""
        if self.conflicts_loading:
            return False
        self.conflicts_loading = True
        self.changed()
        return True

    def load_conflicts(self) -> None:
        """Fetch the open conflicts (blocking: run it off the UI loop)."""
        try:
            conflicts = self.client.conflicts()
        except SyncError as error:
            self.message = self._problem(error)
        else:
            self.conflicts = [self._row(c) for c in conflicts]
            self.conflicts_loaded = True
            self.message = None if conflicts else self.i18n.t("team.conflicts_none")
            if self.choice is not None and all(r.id != self.choice.conflict_id for r in self.conflicts):
                self.choice = None
        finally:
            self.conflicts_loading = False
        self.changed()

    def choose(self, conflict_id: str, index: int) -> Choice | None:
        """Pick the `index`-th competing value; nothing is sent before `confirm_choice`."""
        row = next((r for r in self.conflicts if r.id == conflict_id), None)
        if row is None or not 0 <= index < len(row.options):
            self.choice = None
            return None
        kept = row.options[index]
        others = ", ".join(o.text for i, o in enumerate(row.options) if i != index and o.text != kept.text)
        body = self.i18n.t("team.confirm_body", household=row.household, field=row.field, value=kept.text,
                           source=kept.source(self.i18n), others=others or "—")  # fmt: skip
        self.choice = Choice(conflict_id, index, self.i18n.t("team.confirm_title"), body,
                             self.i18n.t("team.confirm_keep", value=kept.text))  # fmt: skip
        self.changed()
        return self.choice

    def cancel_choice(self) -> None:
        self.choice = None
        self.changed()

    def confirm_choice(self) -> None:
        """Resolve the conflict with the picked value (blocking: run it off the UI loop)."""
        choice, self.choice = self.choice, None
        if choice is not None:
            self.resolve(choice.conflict_id, choice.index)

    def resolve(self, conflict_id: str, choice: int) -> None:
        """Resolve a conflict with its `choice`-th competing value, then sync to receive the new revision."""
        row = next((r for r in self.conflicts if r.id == conflict_id), None)
        if row is None or not 0 <= choice < len(row.options):
            return
        try:
            rev = self.client.resolve(conflict_id, row.options[choice].value)
        except SyncError as error:
            self.message = self._problem(error)
        else:
            self.conflicts = [r for r in self.conflicts if r.id != conflict_id]
            self.message = self.i18n.t("team.resolved", household=row.household, rev=rev)
            self.sync_now()
        self.changed()

    def new_invite(self, unit: str) -> None:
        """A single-use surveyor enrolment code for `unit`, with its QR code (blocking)."""
        try:
            invite = self.client.invite([unit])
        except SyncError as error:
            self.message = self._problem(error)
        else:
            self.invite, self.invite_png = invite, qr_png(invite.link, scale=6)
            self.message = None
        self.changed()

    def invite_expires(self) -> str:
        """The shown code's expiry as people here write a date (dd/mm/yyyy), in this phone's time zone."""
        if self.invite is None:
            return ""
        return self._when(self.invite.expires)[:10] or self.invite.expires[:10]

    def label_sheet(self, hamlet_code: str) -> tuple[str, bytes] | None:
        """(file name, PDF) of the hamlet's household labels, each QR holding the household's link on
        the server this device is enrolled with; None when the hamlet has no household yet."""
        enrolment = self.store.enrolment()
        rows = self.store.list_households(hamlet_code)
        if enrolment is None or not rows:
            self.message = self.i18n.t("team.labels_none")
            self.changed()
            return None
        return f"nhan-ho-{hamlet_code}.pdf", label_sheet_pdf(household_labels(rows, enrolment.server))

    def _row(self, conflict: Conflict) -> ConflictRow:
        household = self.store.get(conflict.household_id)
        who = f"{household.head_name} ({household.label_code})" if household else conflict.household_id
        return ConflictRow(
            id=conflict.id, household_id=conflict.household_id, household=who,
            field=self._field(conflict.field, household),
            options=tuple(
                ConflictOption(text=self._value(conflict.field, v.value), value=v.value, device=self._device(v),
                               when=self._when(v.received_at), rev=v.rev)
                for v in conflict.values
            ),
        )  # fmt: skip

    def _device(self, value: CompetingValue) -> str:
        enrolment = self.store.enrolment()
        if enrolment is not None and value.device_id == enrolment.device_id:
            return self.i18n.t("team.this_device")
        if value.device_name.strip():
            return value.device_name.strip()
        return self.i18n.t("team.option_device_unnamed", id=value.device_id[:8] or "?")

    def _when(self, received_at: str) -> str:
        """The server's time of arrival in this device's time zone, as people here write it."""
        try:
            when = datetime.fromisoformat(received_at)
        except ValueError:
            return ""
        if when.tzinfo is None:
            return ""
        return when.astimezone(self.clock().tzinfo).strftime("%d/%m/%Y %H:%M")

    def _field(self, path: str, household: Any) -> str:
        if path == "deleted":
            return self.i18n.t("team.field_deleted")
        if (member := parse_member_path(path)) is not None:
            member_id, inner = member
            members = household.members if household else ()
            name = next((m.full_name for m in members if m.id == member_id), member_id)
            return f"{name} · {field_name(self.i18n, inner)}" if inner else self.i18n.t("team.field_member", name=name)
        return field_name(self.i18n, path)

    def _value(self, path: str, value: Any) -> str:
        if path == "deleted":
            return self.i18n.t("team.value_delete" if value else "team.value_keep")
        if value is None:
            return self.i18n.t("team.value_removed")
        if isinstance(value, dict):
            return str(value.get("full_name") or value.get("id") or "?")
        check = path.rsplit(".", 1)[-1]
        if check in {c.value for c in Check} and isinstance(value, str):
            return self.i18n.value(check, value)
        return str(value)

    def _problem(self, error: SyncError) -> str:
        if isinstance(error, Offline | ServerBusy):
            return self.i18n.t("team.offline")
        if isinstance(error, AuthFailed):
            return self.i18n.t("sync.problem.auth_failed")
        if isinstance(error, Refused) and error.status == 409:
            return self.i18n.t("team.not_open")
        if isinstance(error, Refused) and error.status == 403:
            return self.i18n.t("team.forbidden")
        return self.i18n.t("team.error", code=getattr(error, "error_code", error.code))
