"""Concurrent edits for the demo: households edited on two devices from the same revision.

Each pair changes one field two different ways, so that the server's three-way merge finds a
real contradiction and records an open conflict for a leader to resolve.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from ntm_field.demo import names
from ntm_field.domain.codes import Presence, VisitStatus
from ntm_field.domain.records import FollowUp, Household, Member
from ntm_field.domain.text import fold

if TYPE_CHECKING:
    from ntm_field.demo.province import Survey


@dataclass(frozen=True, slots=True)
class ConcurrentEdit:
    """Two devices edit the same surveyed household from the same revision, on the same field."""

    field: str
    first_team: int
    first: Household
    second_team: int
    second: Household


EDITED_FIELDS = ("head_name", "smartphone", "house_no", "birth_year", "follow_up", "full_name")


def concurrent_edits(
    rng: random.Random, surveys: list[Survey], teams: dict[str, list[int]], count: int, *, focus: str
) -> list[ConcurrentEdit]:
    """`count` households edited by the two team devices of their commune from the same revision:
    three in the `focus` commune (so the demo leader has conflicts to resolve), the rest anywhere."""
    candidates = [
        s for s in surveys
        if s.household.visit_status is VisitStatus.SURVEYED and len(teams[_commune(s)]) == 2
        and _editable_member(s.household) is not None
    ]  # fmt: skip
    local = [s for s in candidates if _commune(s) == focus]
    others = [s for s in candidates if _commune(s) != focus]
    chosen = rng.sample(local, min(3, len(local), count))
    chosen += rng.sample(others, min(count - len(chosen), len(others)))
    edits = []
    for index, survey in enumerate(chosen):
        field = EDITED_FIELDS[index % len(EDITED_FIELDS)]
        first, second = _two_edits(rng, survey.household, field)
        other_team = next(t for t in teams[_commune(survey)] if t != survey.team)
        edits.append(ConcurrentEdit(field, survey.team, first, other_team, second))
    return edits


def _commune(survey: Survey) -> str:
    return survey.household.hamlet_code.split("-")[0]


def _two_edits(rng: random.Random, base: Household, field: str) -> tuple[Household, Household]:
    """Two versions of `base` that change `field` to two different values (and nothing else but the time)."""
    year = base.survey_year
    index, member = _editable_member(base)
    if field == "head_name":
        # typed without diacritics on one phone, another given name on the other
        first, second = replace(base, head_name=fold(base.head_name).title()), replace(base, head_name=_renamed(rng, base.head_name))
    elif field == "house_no":
        first, second = replace(base, house_no=base.house_no + "A"), replace(base, house_no=base.house_no + "/2")
    elif field == "follow_up":
        first = replace(base, follow_up=FollowUp(base.surveyed_on + timedelta(days=3), "hẹn quay lại chiều thứ Bảy"))
        second = replace(base, follow_up=FollowUp(base.surveyed_on + timedelta(days=10), "quay lại khi con trai về"))
    else:
        if field == "smartphone":
            a, b = [v for v in ("yes", "no", "unknown") if v != member.smartphone]
            changed = (_with_check(member, "smartphone", a), _with_check(member, "smartphone", b))
        elif field == "birth_year":
            a, b = (member.birth_year - 1, member.birth_year - 2)
            changed = (replace(member, birth_year=a), replace(member, birth_year=b))
        else:  # a member's full name, as for head_name
            changed = (replace(member, full_name=fold(member.full_name).title()),
                       replace(member, full_name=_renamed(rng, member.full_name)))  # fmt: skip
        first, second = (replace(base, members=base.members[:index] + (m,) + base.members[index + 1:]) for m in changed)
    later = base.updated_at or datetime(year, 1, 1, tzinfo=timezone(timedelta(hours=7)))
    return (replace(first, updated_at=later + timedelta(days=1, hours=1)),
            replace(second, updated_at=later + timedelta(days=1, hours=3)))  # fmt: skip


def _editable_member(household: Household) -> tuple[int, Member] | None:
    """(position, member) of the first resident old enough for every check but the SIM's."""
    year = household.survey_year
    return next(
        ((i, m) for i, m in enumerate(household.members) if m.presence is Presence.RESIDENT and year - m.birth_year >= 15),
        None,
    )


def _renamed(rng: random.Random, name: str) -> str:
    """The same name with another given name."""
    given = [g for g in names.MALE_GIVEN + names.FEMALE_GIVEN if not name.endswith(" " + g)]
    return name.rsplit(" ", 1)[0] + " " + rng.choice(given)


def _with_check(member: Member, check: str, value: str) -> Member:
    """The member with a check's new value: the reason given for the old one no longer applies."""
    reasons = {k: v for k, v in member.reasons.items() if k != check}
    return replace(member, **{check: value}, reasons=reasons)
