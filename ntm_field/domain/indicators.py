"""The four indicators ("4 phủ"): the one definition used by the app, the server and every report.

A member's age is the year the household was surveyed minus the birth year. Only households whose
visit status is `surveyed` contribute members, and members who moved out or died are in no
denominator. For each check a member is *eligible* from a minimum age (cccd and vneid 14,
smartphone 15, sim 18) and *covered* when the value is the covered one (`codes.COVERED_VALUE`).

Why a rate can never exceed 100%: the numerator and the denominator are counted over the same
members in the same pass, and a member adds to `covered` only after adding to `eligible` for that
check. The covered members are therefore a subset of the eligible ones, so covered ≤ eligible and
covered / eligible ≤ 1. Published reports showed 101.7% smartphones because they divided a count of
devices (from one source, this year) by a population base (from another source, years old); two
unrelated counts have no such bound. Here there is no separate population figure to go stale.

`Tally` holds additive counts only (never rates), so tallies of disjoint sets of households add up,
and the server can keep per-hamlet counters incrementally: add the tally of a household's new
revision and subtract the tally of its previous one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from types import MappingProxyType

from ntm_field.domain.codes import COVERED_VALUE, UNKNOWN, Check, Presence, VisitStatus
from ntm_field.domain.records import Household, Member

# The age (survey year − birth year) from which a member is in a check's denominator.
MIN_AGE: Mapping[Check, int] = MappingProxyType(
    {Check.CCCD: 14, Check.VNEID: 14, Check.SMARTPHONE: 15, Check.SIM: 18}
)

# Members who are no longer part of the household count nowhere.
_GONE: frozenset[Presence] = frozenset({Presence.MOVED_OUT, Presence.DECEASED})

_VNEID_LEVEL1 = "level1"

# (check name, minimum age, covered value) as plain values, in the campaign's order.
_RULES: tuple[tuple[str, int, str], ...] = tuple((c.value, MIN_AGE[c], COVERED_VALUE[c]) for c in Check)


@dataclass(frozen=True, slots=True)
class Figure:
    """Counts for one indicator: numerator, denominator and two data-quality counts."""

    covered: int = 0
    eligible: int = 0
    unknown: int = 0  # eligible members whose value is "unknown"
    level1: int = 0  # vneid only: eligible members at level 1 (not covered); 0 for other checks

    @property
    def rate(self) -> float | None:
        """covered / eligible as a fraction in [0, 1], or None when nobody is eligible."""
        if self.eligible == 0:
            return None
        return self.covered / self.eligible

    def __add__(self, other: Figure) -> Figure:
        return Figure(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(Figure)))

    def __sub__(self, other: Figure) -> Figure:
        return Figure(*(getattr(self, f.name) - getattr(other, f.name) for f in fields(Figure)))


@dataclass(frozen=True, slots=True)
class Tally:
    """Additive counts for a set of households; `+` and `-` combine them field by field.

    `households` counts every household, `surveyed` those with visit status surveyed, and
    `fully_covered` the surveyed ones with at least one eligible member where every eligible
    member is covered on every check they are eligible for.
    """

    households: int = 0
    surveyed: int = 0
    fully_covered: int = 0
    cccd: Figure = Figure()
    vneid: Figure = Figure()
    smartphone: Figure = Figure()
    sim: Figure = Figure()

    @classmethod
    def zero(cls) -> Tally:
        """The tally of no households: the identity of `+`."""
        return cls()

    def figure(self, check: Check) -> Figure:
        """The figure of one check."""
        return getattr(self, check.value)

    @property
    def figures(self) -> Mapping[Check, Figure]:
        """The four figures by check, in the campaign's order."""
        return {check: self.figure(check) for check in Check}

    def __add__(self, other: Tally) -> Tally:
        return Tally(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(Tally)))

    def __sub__(self, other: Tally) -> Tally:
        return Tally(*(getattr(self, f.name) - getattr(other, f.name) for f in fields(Tally)))


def eligible_checks(member: Member, survey_year: int) -> frozenset[Check]:
    """The checks in whose denominator the member is; empty for members moved out or deceased."""
    if member.presence in _GONE:
        return frozenset()
    age = survey_year - member.birth_year
    return frozenset(check for check in Check if age >= MIN_AGE[check])


def is_covered(member: Member, check: Check) -> bool:
    """Whether the member's value is the covered one for `check` (eligibility aside)."""
    return member.check(check) == COVERED_VALUE[check]


def tally_household(household: Household) -> Tally:
    """The tally of one household; a household not surveyed counts only in `households`."""
    if household.visit_status != VisitStatus.SURVEYED:
        return Tally(households=1)

    # Plain ints per check (a Figure per member and check cost more than the counting itself).
    counts = {name: [0, 0, 0, 0] for name, *_ in _RULES}  # covered, eligible, unknown, level1
    any_eligible = False
    all_covered = True
    year = household.survey_year
    for member in household.members:
        if member.presence in _GONE:
            continue
        age = year - member.birth_year
        for name, min_age, covered_value in _RULES:
            if age < min_age:
                continue
            value = getattr(member, name)
            figure = counts[name]
            figure[1] += 1
            if value == covered_value:
                figure[0] += 1
            else:
                all_covered = False
                if value == UNKNOWN:
                    figure[2] += 1
                elif value == _VNEID_LEVEL1 and name == "vneid":
                    figure[3] += 1
            any_eligible = True

    return Tally(
        households=1,
        surveyed=1,
        fully_covered=int(any_eligible and all_covered),
        **{name: Figure(*figure) for name, figure in counts.items()},
    )


def tally(households: Iterable[Household]) -> Tally:
    """The sum of the tallies of `households`."""
    total = Tally.zero()
    for household in households:
        total += tally_household(household)
    return total
