"""The field-level three-way merge of the sync contract ("Merge rule").

Two versions of a household that both started from `base` are merged field by
field. `current` is the version already stored (the earlier arrival) and
`incoming` the change being pushed (the later arrival); where they contradict
each other the merged household holds the incoming value and a `FieldConflict`
records every competing value in wire (JSON-able) form, so the server can store
it as is.

Paths name a top-level field (`head_name`, `consent`, `follow_up`, …), a
member field (`members[id=k3v9q2xa].full_name`) or a whole member
(`members[id=k3v9q2xa]`, for members added or removed). Members are named by
id because their positions differ between versions.

Member order in the merged household: the members of `current` in current's
order, then the members found only in `incoming` in incoming's order. Order is
not a field, so a reordering on one side alone is not carried over.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any

from ntm_field.domain.codes import CHECK_VALUES, COVERED_VALUE, MONOTONE_CHECKS, Check
from ntm_field.domain.records import Consent, FollowUp, Household, Member

HOUSEHOLD_FIELDS = (
    "hamlet_code",
    "house_no",
    "address",
    "head_name",
    "visit_status",
    "surveyed_on",
    "consent",
    "follow_up",
    "note",
    "updated_at",
)
MEMBER_FIELDS = (
    "full_name",
    "birth_year",
    "presence",
    "cccd",
    "vneid",
    "smartphone",
    "sim",
    "reasons",
    "assisted",
    "note",
)

# Least to most covered; `unknown` first, so it loses to every known value.
_MONOTONE_ORDER: dict[str, tuple[str, ...]] = {check.value: CHECK_VALUES[check] for check in MONOTONE_CHECKS}


class _Absent:
    """Stands for a base value that does not exist (a member added on both sides)."""

    def __repr__(self) -> str:
        return "<absent>"


_ABSENT = _Absent()


@dataclass(frozen=True, slots=True)
class FieldConflict:
    """Two sides changed one field to different values; values are in wire form.

    `base` is None where the field did not exist in base; for a member removed
    on one side and edited on the other, the removed side's value is None.
    """

    field: str
    base: Any
    current: Any
    incoming: Any


@dataclass(frozen=True, slots=True)
class MergeResult:
    """The merged household and the contradictions found on the way."""

    household: Household
    conflicts: tuple[FieldConflict, ...]

    @property
    def status(self) -> str:
        """The push result status of the contract: `merged` or `conflict`."""
        return "conflict" if self.conflicts else "merged"


def merge(base: Household, current: Household, incoming: Household) -> MergeResult:
    """Merge two concurrent edits of `base`, following the contract's merge rule.

    A field changed on one side only takes that side's value; the same change
    on both sides is no conflict. Changed on both sides to different values:
    `updated_at` takes the later one (None is earlier than any time), the
    monotone checks (cccd, vneid, sim) take the more covered one, and any other
    field is a conflict that stores the incoming value. A member removed on one
    side and edited on the other is kept as edited, with a conflict on
    `members[id=…]` (the contract's "kept" wins over "store the incoming value").

    Raises ValueError when the three versions are not of the same household.
    """
    if not base.id == current.id == incoming.id:
        raise ValueError("merge needs three versions of the same household")
    values: dict[str, Any] = {}
    conflicts: list[FieldConflict] = []
    for name in HOUSEHOLD_FIELDS:
        values[name], conflict = _merge_field(
            name, getattr(base, name), getattr(current, name), getattr(incoming, name)
        )
        if conflict is not None:
            conflicts.append(conflict)
    members, member_conflicts = _merge_members(base, current, incoming)
    conflicts.extend(member_conflicts)
    household = Household(id=base.id, members=members, **values)
    return MergeResult(household=household, conflicts=tuple(conflicts))


def changed_fields(base: Household, other: Household) -> set[str]:
    """The paths at which `other` differs from `base` (see the module docstring).

    A member added or removed gives `members[id=…]` alone; a member in both
    gives one path per differing field. Values are compared in wire form.
    """
    paths = {name for name in HOUSEHOLD_FIELDS if _wire(getattr(base, name)) != _wire(getattr(other, name))}
    base_members = {member.id: member for member in base.members}
    other_members = {member.id: member for member in other.members}
    for member_id in base_members.keys() | other_members.keys():
        before, after = base_members.get(member_id), other_members.get(member_id)
        if before is None or after is None:
            paths.add(_member_path(member_id))
            continue
        paths.update(
            f"{_member_path(member_id)}.{name}"
            for name in MEMBER_FIELDS
            if _wire(getattr(before, name)) != _wire(getattr(after, name))
        )
    return paths


def _merge_members(
    base: Household, current: Household, incoming: Household
) -> tuple[tuple[Member, ...], list[FieldConflict]]:
    base_members = {member.id: member for member in base.members}
    current_members = {member.id: member for member in current.members}
    incoming_members = {member.id: member for member in incoming.members}
    # Members removed on both sides are in neither list, so they stay removed.
    order = [member.id for member in current.members]
    order += [member.id for member in incoming.members if member.id not in current_members]

    merged: list[Member] = []
    conflicts: list[FieldConflict] = []
    for member_id in order:
        before = base_members.get(member_id)
        ours, theirs = current_members.get(member_id), incoming_members.get(member_id)
        if ours is not None and theirs is not None:
            member, found = _merge_member(before, ours, theirs)
            merged.append(member)
            conflicts.extend(found)
            continue
        survivor = ours if ours is not None else theirs
        if before is None:
            merged.append(survivor)
        elif _wire(survivor) != _wire(before):
            # Removing is not allowed to silently discard an edit made meanwhile.
            merged.append(survivor)
            conflicts.append(
                FieldConflict(_member_path(member_id), _wire(before), _wire(ours), _wire(theirs))
            )
        # else: removed on one side and untouched on the other, so it goes.
    return tuple(merged), conflicts


def _merge_member(
    before: Member | None, ours: Member, theirs: Member
) -> tuple[Member, list[FieldConflict]]:
    values: dict[str, Any] = {}
    conflicts: list[FieldConflict] = []
    for name in MEMBER_FIELDS:
        base_value = _ABSENT if before is None else getattr(before, name)
        values[name], conflict = _merge_field(
            f"{_member_path(ours.id)}.{name}", base_value, getattr(ours, name), getattr(theirs, name)
        )
        if conflict is not None:
            conflicts.append(conflict)
    # A reason explains a check that is not met. Where the monotone rule raised a check to met
    # (both sides changed it), a reason carried over from the less covered side no longer applies.
    raised = {
        name for name in _MONOTONE_ORDER
        if getattr(ours, name) != getattr(theirs, name)
        and (before is None or getattr(before, name) not in (getattr(ours, name), getattr(theirs, name)))
        and values[name] == COVERED_VALUE[Check(name)]
    }  # fmt: skip
    if raised:
        values["reasons"] = {check: reason for check, reason in values["reasons"].items() if check not in raised}
    return Member(id=ours.id, **values), conflicts


def _merge_field(path: str, base: Any, current: Any, incoming: Any) -> tuple[Any, FieldConflict | None]:
    """The merged value at `path` (a field or member field) and its conflict, if any."""
    base_wire, current_wire, incoming_wire = _wire(base), _wire(current), _wire(incoming)
    if current_wire == incoming_wire or current_wire == base_wire:
        return incoming, None
    if incoming_wire == base_wire:
        return current, None
    if path == "updated_at":
        return _later(current, incoming), None
    name = path.rsplit(".", 1)[-1]
    if name in _MONOTONE_ORDER:
        return max((current, incoming), key=_MONOTONE_ORDER[name].index), None
    conflict = FieldConflict(path, None if base is _ABSENT else base_wire, current_wire, incoming_wire)
    return incoming, conflict


def _later(first: datetime | None, second: datetime | None) -> datetime | None:
    if first is None or second is None:
        return second if first is None else first
    # A tie (the same instant written with another offset) goes to the later arrival.
    return first if first > second else second


def _member_path(member_id: str) -> str:
    return f"members[id={member_id}]"


# A member path read back: the id is everything between `members[id=` and the last `]` (before `.<field>`,
# when there is one). A field name never holds `]` or `.`, so an id holding `]` (stored before v1.1 limited
# ids to A–Z a–z 0–9 _ -) parses back whole.
MEMBER_PATH = re.compile(r"members\[id=(?P<member>.+)\](?:\.(?P<field>\w+))?", re.DOTALL)


def parse_member_path(path: str) -> tuple[str, str | None] | None:
    """(member id, field or None for the whole member) of a conflict's member path; None for other paths."""
    found = MEMBER_PATH.fullmatch(path)
    return None if found is None else (found["member"], found["field"])


def _wire(value: Any) -> Any:
    """The JSON-able form of a field value, as `Household.to_document` writes it."""
    if isinstance(value, Member):
        return value.to_document()
    if isinstance(value, Consent):
        return {"given": value.given, "notice_version": value.notice_version}
    if isinstance(value, FollowUp):
        return {"due": value.due.isoformat(), "note": value.note}
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple):
        return [_wire(item) for item in value]
    if isinstance(value, dict):
        return {key: _wire(item) for key, item in value.items()}
    return value
