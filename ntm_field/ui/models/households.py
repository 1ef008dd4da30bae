"""Household list: search that ignores diacritics, filters, the four checks at a glance."""

from __future__ import annotations

import re
from enum import StrEnum

from ntm_field.domain.outbox import ChangeState
from ntm_field.domain.units import Level
from ntm_field.store import HouseholdSummary, LocalStore
from ntm_field.ui.models.base import Observable

LIMIT = 200
# A household label's QR holds `{server}/household/{id}`: pasting or scanning it into search finds that household.
LINK = re.compile(r"/household/([0-9a-fA-F-]{36})\b")


class Filter(StrEnum):
    ALL = "all"
    NOT_VISITED = "not_visited"
    FOLLOW_UP = "follow_up"
    NOT_COVERED = "not_covered"
    NEEDS_FIX = "needs_fix"


def _keep(row: HouseholdSummary, chosen: Filter) -> bool:
    return {
        Filter.ALL: True,
        Filter.NOT_VISITED: row.visit_status != "surveyed",
        Filter.FOLLOW_UP: row.follow_up_due is not None,
        Filter.NOT_COVERED: row.visit_status == "surveyed" and not row.fully_covered,
        Filter.NEEDS_FIX: row.sync_state == ChangeState.REJECTED,
    }[chosen]


class HouseholdListModel(Observable):
    def __init__(self, store: LocalStore):
        super().__init__()
        self.store = store
        self.query = ""
        self.filter = Filter.ALL
        self.rows: list[HouseholdSummary] = []

    def set_query(self, text: str) -> None:
        self.query = text
        self.refresh()

    def set_filter(self, chosen: str) -> None:
        self.filter = Filter(chosen)
        self.refresh()

    def refresh(self) -> None:
        hamlets = [u.code for u in self.store.units().values() if u.level is Level.HAMLET]
        link = LINK.search(self.query)
        if link:
            found = self.store.get(link.group(1).lower())
            rows = [r for r in self.store.search(found.label_code, limit=LIMIT) if r.id == found.id] if found else []
        elif self.query.strip():
            rows = self.store.search(self.query, hamlet_codes=hamlets or None, limit=LIMIT)
        else:
            rows = self.store.browse(hamlets, only=self.filter.value, limit=LIMIT)
        self.rows = [row for row in rows if _keep(row, self.filter)][:LIMIT]
        self.changed()
