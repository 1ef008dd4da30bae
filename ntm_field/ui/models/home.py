"""Home screen: the device's hamlets with visit coverage and the four rates, and the follow-ups due."""

from __future__ import annotations

from dataclasses import dataclass

from ntm_field.domain.codes import Check
from ntm_field.domain.units import Level
from ntm_field.store import LocalStore
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
        """Recompute the cards (sums over the hamlet's rows) and the follow-ups (an indexed query)."""
        units = self.store.units()
        cards = []
        for code, name in self.hamlets():
            _, tally = self.store.hamlet_figures(code)
            figures = {check: (tally.figure(check).covered, tally.figure(check).eligible) for check in Check}
            cards.append(HamletCard(code=code, name=name, surveyed=tally.surveyed,
                                    expected=units[code].expected_households, figures=figures))  # fmt: skip
        self.cards = cards
        self.refresh_follow_ups([card.code for card in cards])

    def refresh_follow_ups(self, hamlet_codes: list[str] | None = None) -> None:
        """Only the follow-ups (the team screen shows them beside its own figures)."""
        codes = hamlet_codes if hamlet_codes is not None else [code for code, _ in self.hamlets()]
        self.follow_ups = [FollowUp(r.id, r.follow_up_due, r.head_name, r.label_code) for r in self.store.follow_ups(codes)]
        self.changed()
