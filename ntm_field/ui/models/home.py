"""Home screen: the device's hamlets with visit coverage and the four rates, the unfinished forms (drafts)
and the follow-ups due."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ntm_field.domain.codes import Check
from ntm_field.domain.units import Level
from ntm_field.store import DraftSummary, LocalStore
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
    due: str  # ISO date, as stored
    head_name: str
    label_code: str

    def overdue(self, today: date) -> bool:
        """The visit was due before `today` (the app's clock: the view passes `ctx.clock().date()`)."""
        return self.due < today.isoformat()

    @property
    def due_shown(self) -> str:
        """The due date as a Vietnamese reader writes it: dd/mm/yyyy."""
        day = date.fromisoformat(self.due)
        return f"{day.day:02d}/{day.month:02d}/{day.year}"


@dataclass(frozen=True, slots=True)
class DraftCard:
    """An unfinished form on home: who, where, when it was kept, and the route that resumes it."""

    household_id: str
    head_name: str  # "" when no name was typed yet
    house_no: str
    hamlet: str  # the hamlet's name, or its code when the device does not hold it
    saved_at: str  # dd/mm HH:MM, the device's time when the draft was kept
    is_new: bool  # never saved: discarding it leaves nothing of the household

    @property
    def route(self) -> str:
        return f"/draft/{self.household_id}"


class HomeModel(Observable):
    def __init__(self, store: LocalStore):
        super().__init__()
        self.store = store
        self.cards: list[HamletCard] = []
        self.follow_ups: list[FollowUp] = []
        self.drafts: list[DraftCard] = []
        self.discarding: DraftCard | None = None  # the draft whose discarding waits for a confirmation

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
        self.drafts = [_card(d, units) for d in self.store.drafts()]
        self.refresh_follow_ups([card.code for card in cards])

    def ask_discard(self, household_id: str) -> None:
        """The "Bỏ nháp" tap: a confirmation is asked before anything is deleted."""
        self.discarding = next((d for d in self.drafts if d.household_id == household_id), None)
        self.changed()

    def cancel_discard(self) -> None:
        self.discarding = None
        self.changed()

    def confirm_discard(self) -> None:
        """Delete the draft asked about (the saved household, if any, stays as it was)."""
        if self.discarding is not None:
            self.store.discard_draft(self.discarding.household_id)
            self.drafts = [d for d in self.drafts if d.household_id != self.discarding.household_id]
        self.discarding = None
        self.changed()

    def refresh_follow_ups(self, hamlet_codes: list[str] | None = None) -> None:
        """Only the follow-ups (the team screen shows them beside its own figures)."""
        codes = hamlet_codes if hamlet_codes is not None else [code for code, _ in self.hamlets()]
        self.follow_ups = [FollowUp(r.id, r.follow_up_due, r.head_name, r.label_code) for r in self.store.follow_ups(codes)]
        self.changed()


def _card(draft: DraftSummary, units: dict) -> DraftCard:
    hamlet = units.get(draft.hamlet_code)
    return DraftCard(
        household_id=draft.household_id,
        head_name=draft.head_name.strip(),
        house_no=draft.house_no.strip(),
        hamlet=hamlet.name if hamlet is not None else draft.hamlet_code,
        saved_at=draft.updated_at.strftime("%d/%m %H:%M"),
        is_new=draft.is_new,
    )
