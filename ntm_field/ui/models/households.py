"""Household list: search that ignores diacritics, filters, the four checks and the state of each household
(draft, saved not sent, sent, needs fix, in conflict) at a glance."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from ntm_field.domain.outbox import ChangeState
from ntm_field.domain.text import fold
from ntm_field.domain.units import Level
from ntm_field.store import DraftSummary, HouseholdSummary, LocalStore
from ntm_field.ui.models.base import Observable

LIMIT = 200
# A household label's QR holds `{server}/household/{id}`: pasting or scanning it into search finds that household.
LINK = re.compile(r"/household/([0-9a-fA-F-]{36})\b")


class Filter(StrEnum):
    """What the visit found (the needs-fix filter is a state: `State.REJECTED`)."""

    ALL = "all"
    NOT_VISITED = "not_visited"
    FOLLOW_UP = "follow_up"
    NOT_COVERED = "not_covered"


class State(StrEnum):
    """Where a household stands on its way to the server (ODK Collect's Drafts / Ready / Sent, and what the
    server said). A household is in one saved state; `DRAFT` marks unsaved changes kept beside it."""

    ALL = "all"
    DRAFT = "draft"
    PENDING = "pending"
    SYNCED = "synced"
    REJECTED = "rejected"
    CONFLICT = "conflict"


@dataclass(frozen=True, slots=True)
class NewDraft:
    """A household that exists only as a draft (never saved): listed under "Nháp", opened at /draft/ID."""

    id: str
    head_name: str
    house_no: str
    hamlet: str  # the hamlet's name (its code when the device does not hold it)

    @property
    def route(self) -> str:
        return f"/draft/{self.id}"


def states(row: HouseholdSummary) -> list[State]:
    """The row's states, its draft first: e.g. [DRAFT, SYNCED] for a sent household being edited."""
    saved = (
        State.CONFLICT if row.in_conflict
        else {ChangeState.PENDING: State.PENDING, ChangeState.REJECTED: State.REJECTED}.get(row.sync_state, State.SYNCED)
    )  # fmt: skip
    return [State.DRAFT, saved] if row.has_draft else [saved]


def route(row: HouseholdSummary) -> str:
    """Where tapping the row goes: its draft when it has one (the unsaved changes), else the saved household."""
    return f"/draft/{row.id}" if row.has_draft else f"/household/{row.id}"


def _keep(row: HouseholdSummary, chosen: Filter, state: State) -> bool:
    visit = {
        Filter.ALL: True,
        Filter.NOT_VISITED: row.visit_status != "surveyed",
        Filter.FOLLOW_UP: row.follow_up_due is not None,
        Filter.NOT_COVERED: row.visit_status == "surveyed" and not row.fully_covered,
    }[chosen]
    return visit and (state is State.ALL or state in states(row))


class HouseholdListModel(Observable):
    def __init__(self, store: LocalStore):
        super().__init__()
        self.store = store
        self.query = ""
        self.filter = Filter.ALL
        self.state = State.ALL
        self.rows: list[HouseholdSummary] = []
        self.new_drafts: list[NewDraft] = []  # shown above the rows

    def set_query(self, text: str) -> None:
        self.query = text
        self.refresh()

    def clear_query(self) -> None:
        self.set_query("")

    def set_filter(self, chosen: str) -> None:
        self.filter = Filter(chosen)
        self.refresh()

    def set_state(self, chosen: str) -> None:
        self.state = State(chosen)
        self.refresh()

    @property
    def empty(self) -> bool:
        return not self.rows and not self.new_drafts

    def refresh(self) -> None:
        units = self.store.units()
        hamlets = [u.code for u in units.values() if u.level is Level.HAMLET]
        link = LINK.search(self.query)
        if link:
            found = self.store.get(link.group(1).lower())
            rows = [r for r in self.store.search(found.label_code, limit=LIMIT) if r.id == found.id] if found else []
        elif self.query.strip():
            rows = self.store.search(self.query, hamlet_codes=hamlets or None, limit=LIMIT)
        else:
            rows = self.store.browse(hamlets, only=self.filter.value, state=self.state.value, limit=LIMIT)
        self.rows = [row for row in rows if _keep(row, self.filter, self.state)][:LIMIT]
        shown = not link and self.filter is Filter.ALL and self.state in (State.ALL, State.DRAFT)
        self.new_drafts = [_new(d, units) for d in self.store.drafts() if d.is_new and _matches(d, self.query)] if shown else []
        self.changed()


def _matches(draft: DraftSummary, query: str) -> bool:
    text = fold(f"{draft.head_name} {draft.house_no}")
    return all(term in text for term in fold(query).split())


def _new(draft: DraftSummary, units: dict) -> NewDraft:
    hamlet = units.get(draft.hamlet_code)
    return NewDraft(id=draft.household_id, head_name=draft.head_name.strip(), house_no=draft.house_no.strip(),
                    hamlet=hamlet.name if hamlet is not None else draft.hamlet_code)  # fmt: skip
