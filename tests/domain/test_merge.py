"""The field-level three-way merge of the sync contract ("Merge rule")."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ntm_field.domain.codes import CHECK_VALUES, COVERED_VALUE, Check, Presence, VisitStatus
from ntm_field.domain.merge import FieldConflict, MergeResult, changed_fields, merge, parse_member_path
from ntm_field.domain.records import Consent, FollowUp, Household, Member
from tests.strategies import ICT, households, names, survey_dates

# Drawing a household with tests.strategies takes ~30 ms here: 60 examples per property
# keeps this file under 20 s.
PROPERTY_EXAMPLES = 60
MONOTONE = {"cccd", "vneid", "sim"}
HOUSEHOLD_FIELDS = (
    "hamlet_code", "house_no", "address", "head_name", "visit_status",
    "surveyed_on", "consent", "follow_up", "note", "updated_at",
)  # fmt: skip

# Small pools so that both sides often pick the same value, or add the same member id.
household_values: dict[str, st.SearchStrategy[Any]] = {
    "hamlet_code": st.sampled_from(["25216-03", "25216-04"]),
    "house_no": st.sampled_from(["", "12", "7A"]),
    "address": st.sampled_from(["", "Tổ 3", "Tổ 4"]),
    "head_name": names,
    "visit_status": st.sampled_from(list(VisitStatus)),
    "surveyed_on": survey_dates,
    "consent": st.builds(Consent, given=st.booleans(), notice_version=st.sampled_from(["2024-04", "2025-01"])),
    "follow_up": st.none() | st.builds(FollowUp, due=survey_dates, note=st.sampled_from(["", "buổi tối"])),
    "note": st.sampled_from(["", "chó dữ", "hẹn lại"]),
    # Fixed instants: drawn freely, both sides would mostly get the same simplest timestamp.
    "updated_at": st.sampled_from(
        [None] + [datetime(*moment, tzinfo=ICT) for moment in [(2024, 3, 1), (2026, 7, 1, 8), (2026, 7, 1, 8, 5)]]
    ),
}
member_values: dict[str, st.SearchStrategy[Any]] = {
    "full_name": names,
    "birth_year": st.integers(min_value=1920, max_value=2024),
    "presence": st.sampled_from(list(Presence)),
    **{check.value: st.sampled_from(CHECK_VALUES[check]) for check in Check},
    "reasons": st.sampled_from([{}, {"sim": "NOT_INTERESTED"}, {"vneid": "DATA_MISMATCH"}]),
    "assisted": st.sampled_from([(), ("app_guidance",), ("sim_registered", "signature_issued")]),
    "note": st.sampled_from(["", "gọi lại sau", "đi làm xa"]),
}
# Built once here: tests.strategies.members builds its strategies on every draw, which is slow.
new_members = st.builds(
    Member, id=st.sampled_from(["new00001", "new00002", "new00003"]), **member_values
)


@st.composite
def edited_members(draw, member: Member) -> Member:
    """`member` with about half its fields set to another value."""
    changes = [name for name in member_values if draw(st.booleans())]
    return replace(
        member,
        **{name: draw(member_values[name].filter(lambda v, old=getattr(member, name): v != old)) for name in changes},
    )


@st.composite
def edits(draw, base: Household) -> Household:
    """Another version of `base`: some fields changed, members kept, edited, removed or added."""
    # A coin per field (not a short list of fields) so that both sides often change the same one.
    changes = [name for name in HOUSEHOLD_FIELDS if draw(st.booleans())]
    people = []
    for member in base.members:
        fate = draw(st.sampled_from(["keep", "edit", "remove"]))
        if fate == "keep":
            people.append(member)
        elif fate == "edit":
            people.append(draw(edited_members(member)))
    people += draw(st.lists(new_members, max_size=2, unique_by=lambda member: member.id))
    if draw(st.booleans()):
        people = draw(st.permutations(people))
    return replace(base, members=tuple(people), **{name: draw(household_values[name]) for name in changes})


@st.composite
def versions(draw) -> tuple[Household, Household, Household]:
    """A base and two concurrent edits of it: (base, current, incoming)."""
    base = draw(households())
    current, incoming = draw(edits(base)), draw(edits(base))
    if base.members and draw(st.booleans()):
        # Both sides edit one member: otherwise two edits of one check (monotone or not) rarely meet.
        target = base.members[0]
        current = with_member(current, draw(edited_members(target)))
        incoming = with_member(incoming, draw(edited_members(target)))
    return base, current, incoming


def with_member(household: Household, member: Member) -> Household:
    """`household` with `member` first, in place of any member with its id."""
    others = tuple(m for m in household.members if m.id != member.id)
    return replace(household, members=(member, *others))


PATH = re.compile(r"members\[id=(?P<id>[^\]]+)\](?:\.(?P<field>\w+))?")


def value_at(household: Household, path: str) -> Any:
    """The wire value at a merge path, read from the document (None where absent)."""
    document = household.to_document()
    match = PATH.fullmatch(path)
    if match is None:
        return document.get(path)
    member = next((m for m in document["members"] if m["id"] == match["id"]), None)
    if member is None or match["field"] is None:
        return member
    return member[match["field"]]


def more_covered(field: str, first: str, second: str) -> str:
    order = CHECK_VALUES[Check(field)]
    return max(first, second, key=order.index)


def member_ids(household: Household) -> list[str]:
    return [member.id for member in household.members]


def by_id(household: Household) -> dict[str, Member]:
    return {member.id: member for member in household.members}


def conflict_paths(result: MergeResult) -> set[str]:
    return {conflict.field for conflict in result.conflicts}


def merged_value(path: str, mine: Any, other: Any) -> Any:
    """What the contract says a path changed on both sides becomes (values in wire form)."""
    field = path.rsplit(".", 1)[-1]
    if mine == other:
        return mine
    if path == "updated_at":
        return max((v for v in (mine, other) if v is not None), key=datetime.fromisoformat)
    if path.startswith("members") and field in MONOTONE:
        return more_covered(field, mine, other)
    return other


def is_whole_member(path: str) -> bool:
    match = PATH.fullmatch(path)
    return match is not None and match["field"] is None


def touches(path: str, changes: set[str]) -> bool:
    """Whether `changes` alter `path`: editing a member's field touches the whole member too."""
    return path in changes or any(change.startswith(f"{path}.") for change in changes)


# --- properties -------------------------------------------------------------------------------

@settings(max_examples=PROPERTY_EXAMPLES, deadline=None)
@given(versions())
def test_merge_never_loses_a_change(three: tuple[Household, Household, Household]) -> None:
    base, current, incoming = three
    merged = merge(base, current, incoming).household
    ours, theirs = changed_fields(base, current), changed_fields(base, incoming)
    for path in ours | theirs:
        got, mine, other = value_at(merged, path), value_at(current, path), value_at(incoming, path)
        # the merge drops a reason whose check it made met (see merge._merge_member)
        mine = without_raised_reasons(path, mine, base, current, incoming)
        other = without_raised_reasons(path, other, base, current, incoming)
        if not touches(path, theirs):
            assert got == mine, path
        elif not touches(path, ours):
            assert got == other, path
        elif is_whole_member(path) and mine is not None and other is not None:
            # The same member id added on both sides: merged field by field, base absent.
            expected = {name: merged_value(f"{path}.{name}", mine[name], other[name]) for name in mine}
            assert got == without_raised_reasons(path, expected, base, current, incoming)
        elif is_whole_member(path):
            assert got == (mine if other is None else other), "removed vs edited keeps the edit"
        elif path.endswith(".reasons"):
            assert got == without_raised_reasons(path, merged_value(path, mine, other), base, current, incoming), path
        else:
            assert got in (mine, other), path
            assert got == merged_value(path, mine, other), path


def without_raised_reasons(path: str, value: Any, base: Household, current: Household, incoming: Household) -> Any:
    """`value` (a member's reasons, or a whole member) less the reasons for checks that the monotone
    rule raised to met: both sides changed the check to different values and the more covered is met."""
    match = PATH.fullmatch(path)
    if match is None or value is None:
        return value
    member_path = f"members[id={match['id']}]"
    before, mine, other = (value_at(h, member_path) for h in (base, current, incoming))
    if mine is None or other is None:
        return value
    raised = {
        name for name in MONOTONE
        if mine[name] != other[name]
        and (before is None or before[name] not in (mine[name], other[name]))
        and more_covered(name, mine[name], other[name]) == COVERED_VALUE[Check(name)]
    }  # fmt: skip
    if match["field"] == "reasons":
        return {k: v for k, v in value.items() if k not in raised}
    if match["field"] is None and isinstance(value, dict) and "reasons" in value:
        return {**value, "reasons": {k: v for k, v in value["reasons"].items() if k not in raised}}
    return value


@settings(max_examples=PROPERTY_EXAMPLES, deadline=None)
@given(versions())
def test_merge_invents_nothing(three: tuple[Household, Household, Household]) -> None:
    base, current, incoming = three
    merged = merge(base, current, incoming).household
    invented = changed_fields(base, merged) - changed_fields(base, current) - changed_fields(base, incoming)
    # the one change of its own the merge makes: dropping the reasons of checks the monotone rule raised to met
    for path in invented:
        assert path.endswith(".reasons"), path
        before = value_at(base, path)
        assert value_at(merged, path) == without_raised_reasons(path, before, base, current, incoming) != before


def expected_conflicts(base: Household, current: Household, incoming: Household) -> set[str]:
    ours, theirs = changed_fields(base, current), changed_fields(base, incoming)
    expected = set()
    for path in ours | theirs:
        before, mine, other = value_at(base, path), value_at(current, path), value_at(incoming, path)
        if is_whole_member(path):
            if before is None and mine is not None and other is not None:
                expected |= {
                    f"{path}.{name}" for name in mine if name not in MONOTONE and mine[name] != other[name]
                }
            elif before is not None and (mine is None) != (other is None) and (mine or other) != before:
                expected.add(path)
        elif path in ours and path in theirs and mine != other:
            if path != "updated_at" and path.rsplit(".", 1)[-1] not in MONOTONE:
                expected.add(path)
    return expected


@settings(max_examples=PROPERTY_EXAMPLES, deadline=None)
@given(versions())
def test_every_contradiction_is_a_conflict_holding_every_value(three: tuple[Household, Household, Household]) -> None:
    base, current, incoming = three
    result = merge(base, current, incoming)
    assert result.status == ("conflict" if result.conflicts else "merged")
    assert conflict_paths(result) == expected_conflicts(base, current, incoming)
    assert len(conflict_paths(result)) == len(result.conflicts)
    for conflict in result.conflicts:
        assert conflict.current != conflict.incoming
        assert conflict.base == value_at(base, conflict.field)
        assert conflict.current == value_at(current, conflict.field)
        assert conflict.incoming == value_at(incoming, conflict.field)


@settings(max_examples=PROPERTY_EXAMPLES, deadline=None)
@given(versions())
def test_conflicts_are_symmetric(three: tuple[Household, Household, Household]) -> None:
    base, current, incoming = three
    forward, backward = merge(base, current, incoming), merge(base, incoming, current)
    assert conflict_paths(forward) == conflict_paths(backward)
    swapped = {c.field: FieldConflict(c.field, c.base, c.incoming, c.current) for c in backward.conflicts}
    assert {c.field: c for c in forward.conflicts} == swapped
    # Without conflicts the merged values (not the member order) do not depend on arrival order.
    if not forward.conflicts:
        assert replace(forward.household, members=()) == replace(backward.household, members=())
        assert by_id(forward.household) == by_id(backward.household)


@settings(max_examples=PROPERTY_EXAMPLES, deadline=None)
@given(st.data())
def test_merging_with_an_unchanged_side_gives_the_other_side(data: st.DataObject) -> None:
    base = data.draw(households())
    other = data.draw(edits(base))

    current_changed = merge(base, other, base)
    assert current_changed.household == other
    assert current_changed.conflicts == ()

    incoming_changed = merge(base, base, other)
    assert incoming_changed.conflicts == ()
    assert incoming_changed.status == "merged"
    # Same values; members in base's order, then the added ones in other's order.
    assert replace(incoming_changed.household, members=()) == replace(other, members=())
    assert by_id(incoming_changed.household) == by_id(other)
    kept = [i for i in member_ids(base) if i in by_id(other)]
    added = [i for i in member_ids(other) if i not in by_id(base)]
    assert member_ids(incoming_changed.household) == kept + added


@settings(max_examples=PROPERTY_EXAMPLES, deadline=None)
@given(st.data())
def test_the_same_edit_on_both_sides_merges_to_it(data: st.DataObject) -> None:
    base = data.draw(households())
    other = data.draw(edits(base))
    result = merge(base, other, other)
    assert result.household == other
    assert result.conflicts == ()


# --- examples, one per rule of the contract ---------------------------------------------------

def person(member_id: str = "k3v9q2xa", **fields: Any) -> Member:
    return Member(id=member_id, **{"full_name": "Nguyễn Văn Đức", "birth_year": 1968, **fields})


def household(*people: Member, **fields: Any) -> Household:
    values = {
        "id": "3b0f5a0e-8a4e-4f6e-9d61-2f0c7a1d9e55",
        "hamlet_code": "25216-03",
        "head_name": "Nguyễn Văn Đức",
        "visit_status": VisitStatus.SURVEYED,
        "surveyed_on": date(2024, 4, 12),
        "updated_at": datetime(2024, 4, 12, 9, 31, tzinfo=ICT),
        **fields,
    }
    return Household(members=people, **values)


def merge_member_field(field: str, base: str, current: str, incoming: str) -> MergeResult:
    return merge(
        household(person(**{field: base})),
        household(person(**{field: current})),
        household(person(**{field: incoming})),
    )


@pytest.mark.parametrize(
    ("field", "base", "current", "incoming", "expected"),
    [
        ("cccd", "unknown", "no", "yes", "yes"),
        ("cccd", "unknown", "yes", "no", "yes"),
        ("vneid", "no", "level1", "level2", "level2"),
        ("vneid", "unknown", "level2", "level1", "level2"),
        ("sim", "no", "owner", "signature", "signature"),
        ("sim", "no", "signature", "owner", "signature"),
        ("sim", "owner", "unknown", "no", "no"),
        ("vneid", "level1", "unknown", "no", "no"),
        ("cccd", "yes", "no", "unknown", "no"),
    ],
)
def test_a_monotone_check_takes_the_more_covered_value(
    field: str, base: str, current: str, incoming: str, expected: str
) -> None:
    result = merge_member_field(field, base, current, incoming)
    assert result.household.members[0].check(Check(field)) == expected
    assert result.status == "merged"


def test_a_check_changed_on_one_side_only_may_go_down() -> None:
    result = merge_member_field("vneid", "level2", "level1", "level2")
    assert result.household.members[0].vneid == "level1"
    assert result.conflicts == ()


def test_smartphone_is_not_monotone() -> None:
    result = merge_member_field("smartphone", "unknown", "yes", "no")
    assert result.household.members[0].smartphone == "no"
    assert result.conflicts == (FieldConflict("members[id=k3v9q2xa].smartphone", "unknown", "yes", "no"),)
    assert result.status == "conflict"


def test_updated_at_takes_the_later_value_without_conflict() -> None:
    base = household(updated_at=datetime(2024, 4, 12, 9, 0, tzinfo=ICT))
    later = datetime(2024, 4, 13, 8, 0, tzinfo=ICT)
    earlier = datetime(2024, 4, 12, 17, 0, tzinfo=ICT)
    for current, incoming in [(later, earlier), (earlier, later), (None, later), (later, None)]:
        result = merge(base, replace(base, updated_at=current), replace(base, updated_at=incoming))
        assert result.household.updated_at == later
        assert result.conflicts == ()


def test_head_name_changed_on_both_sides_is_a_conflict_storing_the_incoming_value() -> None:
    base = household()
    result = merge(base, replace(base, head_name="Trần Văn Đức"), replace(base, head_name="Nguyễn Văn Được"))
    assert result.household.head_name == "Nguyễn Văn Được"
    assert result.conflicts == (FieldConflict("head_name", "Nguyễn Văn Đức", "Trần Văn Đức", "Nguyễn Văn Được"),)
    assert result.status == "conflict"


def test_the_same_change_on_both_sides_is_no_conflict() -> None:
    base = household()
    edit = replace(base, head_name="Trần Văn Đức", follow_up=FollowUp(due=date(2024, 5, 2), note="tối"))
    assert merge(base, edit, edit) == MergeResult(edit, ())


def test_whole_value_fields_conflict_in_wire_form() -> None:
    base = household(follow_up=FollowUp(date(2024, 4, 20), "quay lại buổi tối"))
    current = replace(base, consent=Consent(True, "2024-04"), follow_up=FollowUp(date(2024, 5, 2)))
    incoming = replace(base, consent=Consent(True, "2025-01"), follow_up=None, surveyed_on=date(2024, 4, 13))
    result = merge(base, current, incoming)
    assert result.household == incoming
    assert sorted(result.conflicts, key=lambda c: c.field) == [
        FieldConflict(
            "consent",
            {"given": False, "notice_version": ""},
            {"given": True, "notice_version": "2024-04"},
            {"given": True, "notice_version": "2025-01"},
        ),
        FieldConflict(
            "follow_up", {"due": "2024-04-20", "note": "quay lại buổi tối"}, {"due": "2024-05-02", "note": ""}, None
        ),
    ]


def test_members_added_on_both_sides_are_kept_in_current_then_incoming_order() -> None:
    base = household(person("a"))
    current = household(person("a"), person("b", full_name="Trần Thị Hồng"))
    incoming = household(person("c", full_name="Lê Văn Bình"), person("a"))
    result = merge(base, current, incoming)
    assert member_ids(result.household) == ["a", "b", "c"]
    assert result.household.members[1] == current.members[1]
    assert result.household.members[2] == incoming.members[0]
    assert result.conflicts == ()


def test_the_same_member_added_on_both_sides_merges_field_by_field() -> None:
    base = household()
    current = household(person("n", cccd="yes", smartphone="yes", note="a"))
    incoming = household(person("n", cccd="no", smartphone="no", note="a", full_name="Nguyễn Văn Được"))
    result = merge(base, current, incoming)
    assert result.household.members == (
        person("n", cccd="yes", smartphone="no", note="a", full_name="Nguyễn Văn Được"),
    )
    assert set(result.conflicts) == {
        FieldConflict("members[id=n].smartphone", None, "yes", "no"),
        FieldConflict("members[id=n].full_name", None, "Nguyễn Văn Đức", "Nguyễn Văn Được"),
    }


@pytest.mark.parametrize("removed_by", ["current", "incoming"])
def test_a_member_removed_on_one_side_and_edited_on_the_other_is_kept_with_a_conflict(removed_by: str) -> None:
    base = household(person("a"), person("b"))
    removed = household(person("a"))
    edited = household(person("a"), person("b", vneid="level2"))
    current, incoming = (removed, edited) if removed_by == "current" else (edited, removed)
    result = merge(base, current, incoming)
    assert result.household.members == edited.members
    expected = {"base": person("b").to_document(), removed_by: None}
    expected["incoming" if removed_by == "current" else "current"] = person("b", vneid="level2").to_document()
    assert result.conflicts == (FieldConflict("members[id=b]", **expected),)


@pytest.mark.parametrize("removed_by", ["current", "incoming"])
def test_a_member_removed_on_one_side_and_unchanged_on_the_other_is_removed(removed_by: str) -> None:
    base = household(person("a"), person("b"))
    removed = household(person("b"))
    current, incoming = (removed, base) if removed_by == "current" else (base, removed)
    result = merge(base, current, incoming)
    assert member_ids(result.household) == ["b"]
    assert result.conflicts == ()


def test_a_member_removed_on_both_sides_is_removed() -> None:
    base = household(person("a"), person("b"))
    result = merge(base, household(person("a")), household(person("a", note="x")))
    assert result.household.members == (person("a", note="x"),)
    assert result.conflicts == ()


def test_edits_to_different_fields_of_one_member_both_survive() -> None:
    base = household(person("a"))
    result = merge(base, household(person("a", sim="owner")), household(person("a", birth_year=1970)))
    assert result.household.members == (person("a", sim="owner", birth_year=1970),)
    assert result.status == "merged"


def test_versions_of_different_households_are_refused() -> None:
    base = household()
    with pytest.raises(ValueError):
        merge(base, base, replace(base, id="9a7e1c52-0000-4000-8000-000000000000"))


def test_changed_fields_names_members_by_id() -> None:
    base = household(person("a"), person("b"))
    other = household(person("b", cccd="yes"), person("c"), note="x", updated_at=None)
    assert changed_fields(base, other) == {"note", "updated_at", "members[id=a]", "members[id=c]", "members[id=b].cccd"}
    assert changed_fields(base, base) == set()


def test_a_reason_goes_when_the_merge_makes_its_check_met():
    from ntm_field.domain.validation import validate_document

    member = Member(id="m1", full_name="Lê Văn Bình", birth_year=1980, cccd="unknown")
    base = _household_with(member)
    current = _household_with(replace(member, cccd="no", reasons={"cccd": "REFUSED"}))
    incoming = _household_with(replace(member, cccd="yes"))
    merged = merge(base, current, incoming).household
    assert merged.members[0].cccd == "yes" and merged.members[0].reasons == {}
    assert validate_document(merged.to_document(), today=merged.surveyed_on) == []


def _household_with(*members):
    return Household(
        id="3b0f5a0e-8a4e-4f6e-9d61-2f0c7a1d9e55", hamlet_code="25216-01", head_name="Lê Văn Bình",
        visit_status=VisitStatus.SURVEYED, surveyed_on=date(2024, 4, 12), members=tuple(members),
        consent=Consent(True, "2024-04"),
    )  # fmt: skip


@pytest.mark.parametrize("member_id", ["k3v9q2xa", "a]b", "x].full_name", "]", "c]]", "m.1"])
@pytest.mark.parametrize("field", [None, "full_name", "vneid"])
def test_a_member_path_reads_back_its_id_and_field_whatever_the_id_holds(member_id, field):
    """Ids stored before v1.1 limited them may hold `]` or `.`: the path the merge writes parses back whole
    (the server's resolver and the leader's inbox both read it with parse_member_path)."""
    path = f"members[id={member_id}]" + (f".{field}" if field else "")
    assert parse_member_path(path) == (member_id, field)


@pytest.mark.parametrize("path", ["head_name", "deleted", "members", "members[id=]"])
def test_other_paths_are_not_member_paths(path):
    assert parse_member_path(path) is None
