"""Home screen: the device's hamlets with visit coverage and the four rates, and the follow-ups due."""

from __future__ import annotations

from dataclasses import dataclass

from ntm_field.domain.codes import Check
from ntm_field.domain.units import Level
from ntm_field.store import HouseholdSummary, LocalStore
from ntm_field.ui.models.base import Observable


@dataclass(frozen=True, slots=True)
class HamletCard:
    code: str
    name: str
    surveyed: int
    expected: int | None
    figures: dict[Check, tuple[int, int]]  # covered, eligible over the surveyed households

    def rate(self, check: Check) -> float | None:
        covered, eligible = self.figures[check]
        return None if eligible == 0 else covered / eligible


@dataclass(frozen=True, slots=True)
class FollowUp:
    household_id: str
    due: str
    head_name: str
    label_code: str


class HomeModel(Observable):
    def __init__(self, store: LocalStore):
        super().__init__()
        self.store = store
        self.cards: list[HamletCard] = []
        self.follow_ups: list[FollowUp] = []

    def hamlets(self) -> list[tuple[str, str]]:
        """(code, name) of the hamlets the device holds, by code."""
        units = self.store.units()
        return sorted((u.code, u.name) for u in units.values() if u.level is Level.HAMLET)

    def refresh(self) -> None:
        """Recompute the cards and the follow-ups from the store (a query per hamlet)."""
        units = self.store.units()
        cards, follow_ups = [], []
        for code, name in self.hamlets():
            rows = self.store.list_households(code)
            cards.append(_card(code, name, units[code].expected_households, rows))
            follow_ups += [FollowUp(r.id, r.follow_up_due, r.head_name, r.label_code) for r in rows if r.follow_up_due]
        self.cards = cards
        self.follow_ups = sorted(follow_ups, key=lambda f: (f.due, f.label_code))
        self.changed()


def _card(code: str, name: str, expected: int | None, rows: list[HouseholdSummary]) -> HamletCard:
    surveyed = [r for r in rows if r.visit_status == "surveyed"]
    figures = {
        check: (sum(r.covered[check][0] for r in surveyed), sum(r.covered[check][1] for r in surveyed)) for check in Check
    }
    return HamletCard(code=code, name=name, surveyed=len(surveyed), expected=expected, figures=figures)
