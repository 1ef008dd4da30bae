"""Every rule of the household document, broken once: refused with its field path, nothing stored."""

from __future__ import annotations

import copy
from datetime import date

import pytest

from ntm_field.domain.records import Household
from ntm_field.domain.validation import ValidationError, validate_document

TODAY = date(2024, 4, 12)


def valid_document() -> dict:
    """The example of the sync contract, plus a second member."""
    return {
        "id": "3b0f5a0e-8a4e-4f6e-9d61-2f0c7a1d9e55",
        "hamlet_code": "25216-03",
        "house_no": "12",
        "address": "Tổ 3",
        "head_name": "Nguyễn Văn Đức",
        "visit_status": "surveyed",
        "surveyed_on": "2024-04-12",
        "consent": {"given": True, "notice_version": "2024-04"},
        "follow_up": {"due": "2024-05-02", "note": "quay lại buổi tối"},
        "note": "",
        "members": [
            {
                "id": "k3v9q2xa",
                "full_name": "Nguyễn Văn Đức",
                "birth_year": 1968,
                "presence": "resident",
                "cccd": "yes",
                "vneid": "level1",
                "smartphone": "yes",
                "sim": "owner",
                "reasons": {"vneid": "DATA_MISMATCH", "sim": "NOT_INTERESTED"},
                "assisted": ["vneid_level1_activated"],
                "note": "",
            },
            {
                "id": "p7r2m4wz",
                "full_name": "Trần Thị Hồng",
                "birth_year": 1972,
                "presence": "away",
                "cccd": "yes",
                "vneid": "level2",
                "smartphone": "yes",
                "sim": "signature",
            },
        ],
        "updated_at": "2024-04-12T09:31:00+07:00",
    }


def _set(path: str, value):
    def mutate(doc):
        *parents, last = _parse(path)
        target = doc
        for key in parents:
            target = target[key]
        target[last] = value

    return mutate


def _drop(path: str):
    def mutate(doc):
        *parents, last = _parse(path)
        target = doc
        for key in parents:
            target = target[key]
        del target[last]

    return mutate


def _parse(path: str) -> list:
    keys: list = []
    for part in path.replace("]", "").replace("[", ".").split("."):
        keys.append(int(part) if part.isdigit() else part)
    return keys


# (rule broken, mutation, field path the problem must name)
CASES = [
    ("id missing", _drop("id"), "id"),
    ("id not a UUID", _set("id", "not-a-uuid"), "id"),
    ("id not a string", _set("id", 42), "id"),
    ("hamlet_code missing", _drop("hamlet_code"), "hamlet_code"),
    ("hamlet_code bad shape", _set("hamlet_code", "25216"), "hamlet_code"),
    ("head_name missing", _drop("head_name"), "head_name"),
    ("head_name empty", _set("head_name", "   "), "head_name"),
    ("head_name over 80", _set("head_name", "A" * 81), "head_name"),
    ("head_name with a NUL character", _set("head_name", "Nguyễn\x00Văn"), "head_name"),
    ("head_name with DEL", _set("head_name", "Nguyễn\x7fVăn"), "head_name"),
    ("head_name with a C1 control (NEL)", _set("head_name", "Nguyễn\x85Văn"), "head_name"),
    ("visit_status missing", _drop("visit_status"), "visit_status"),
    ("visit_status unknown", _set("visit_status", "done"), "visit_status"),
    ("surveyed_on missing", _drop("surveyed_on"), "surveyed_on"),
    ("surveyed_on not a date", _set("surveyed_on", "12/04/2024"), "surveyed_on"),
    ("surveyed_on after tomorrow", _set("surveyed_on", "2024-04-14"), "surveyed_on"),
    ("members missing", _drop("members"), "members"),
    ("members not a list", _set("members", {"a": 1}), "members"),
    ("surveyed without members", _set("members", []), "members"),
    ("more than 30 members", lambda d: d.update(members=[
        {**d["members"][1], "id": f"m{i}"} for i in range(31)]), "members"),  # fmt: skip
    ("unknown top-level key", _set("revision", 7), "revision"),
    ("server-owned field forged", _set("device_id", "abc"), "device_id"),
    ("house_no not a string", _set("house_no", 12), "house_no"),
    ("address over 200", _set("address", "x" * 201), "address"),
    ("consent.given not a bool", _set("consent.given", "yes"), "consent.given"),
    ("consent given without notice version", _set("consent.notice_version", ""), "consent.notice_version"),
    ("consent unknown key", _set("consent.signed_by", "x"), "consent.signed_by"),
    ("follow_up.due bad date", _set("follow_up.due", "2024-13-01"), "follow_up.due"),
    ("follow_up not an object", _set("follow_up", "tomorrow"), "follow_up"),
    ("updated_at without offset", _set("updated_at", "2024-04-12T09:31:00"), "updated_at"),
    ("updated_at offset with seconds", _set("updated_at", "2024-04-12T09:31:00+07:00:30"), "updated_at"),
    ("member not an object", _set("members[1]", "Trần Thị Hồng"), "members[1]"),
    ("member id missing", _drop("members[1].id"), "members[1].id"),
    ("member id over 40", _set("members[1].id", "x" * 41), "members[1].id"),
    ("member id duplicated", _set("members[1].id", "k3v9q2xa"), "members[1].id"),
    ("member id with a bracket", _set("members[1].id", "a]b"), "members[1].id"),
    ("member id with a diacritic", _set("members[1].id", "Đức1"), "members[1].id"),
    ("member id with a space", _set("members[1].id", "m 1"), "members[1].id"),
    ("member full_name empty", _set("members[1].full_name", ""), "members[1].full_name"),
    ("member full_name missing", _drop("members[0].full_name"), "members[0].full_name"),
    ("birth_year before 1900", _set("members[1].birth_year", 1899), "members[1].birth_year"),
    ("birth_year after survey year", _set("members[1].birth_year", 2025), "members[1].birth_year"),
    ("birth_year a string", _set("members[1].birth_year", "1972"), "members[1].birth_year"),
    ("birth_year a bool", _set("members[1].birth_year", True), "members[1].birth_year"),
    ("presence unknown", _set("members[1].presence", "here"), "members[1].presence"),
    ("cccd bad value", _set("members[1].cccd", "level2"), "members[1].cccd"),
    ("vneid bad value", _set("members[1].vneid", "yes"), "members[1].vneid"),
    ("smartphone missing", _drop("members[1].smartphone"), "members[1].smartphone"),
    ("sim bad value", _set("members[1].sim", "owned"), "members[1].sim"),
    ("reason for an unknown check", _set("members[0].reasons.phone", "NO_PHONE"), "members[0].reasons.phone"),
    ("reason code unknown", _set("members[0].reasons.vneid", "LAZY"), "members[0].reasons.vneid"),
    ("reason for a met check", _set("members[0].reasons.cccd", "OTHER"), "members[0].reasons.cccd"),
    ("assisted not a list", _set("members[0].assisted", "app_guidance"), "members[0].assisted"),
    ("assisted unknown code", _set("members[0].assisted", ["gave_money"]), "members[0].assisted[0]"),
    ("assisted code twice", _set("members[0].assisted", ["app_guidance", "app_guidance"]), "members[0].assisted[1]"),
    ("assisted longer than the codes", _set("members[0].assisted", ["app_guidance"] * 8), "members[0].assisted"),
    ("more reasons than checks", _set("members[0].reasons", {"cccd": "OTHER", "vneid": "OTHER", "smartphone": "OTHER",
                                                            "sim": "OTHER", "x": "OTHER"}), "members[0].reasons"),  # fmt: skip
    ("member unknown key (ID number)", _set("members[0].cccd_number", "0123"), "members[0].cccd_number"),
    ("member unknown key (phone)", _set("members[1].phone", "0912"), "members[1].phone"),
    ("member note not a string", _set("members[1].note", None), "members[1].note"),
]


def test_there_are_at_least_thirty_cases_each_on_its_own_rule():
    assert len(CASES) >= 30
    assert len({name for name, _, _ in CASES}) == len(CASES)


def test_the_valid_document_passes():
    assert validate_document(valid_document(), today=TODAY) == []


@pytest.mark.parametrize(("rule", "mutate", "field"), CASES, ids=[c[0] for c in CASES])
def test_each_broken_rule_names_its_field(rule, mutate, field):
    doc = copy.deepcopy(valid_document())
    mutate(doc)
    problems = validate_document(doc, today=TODAY)
    assert field in [p.field for p in problems], (rule, [p.field for p in problems])


@pytest.mark.parametrize(("rule", "mutate", "field"), CASES, ids=[c[0] for c in CASES])
def test_each_broken_document_is_refused_by_the_store_and_nothing_is_stored(store, rule, mutate, field):
    store.save_document(valid_document())  # data already there must stay intact
    before = store.counts()
    before_doc = store.get(valid_document()["id"])
    doc = copy.deepcopy(valid_document())
    doc["id"] = "5c1d6c2e-1111-4e6e-9d61-2f0c7a1d9e55" if field != "id" else doc["id"]
    mutate(doc)
    with pytest.raises(ValidationError) as refused:
        store.save_document(doc)
    assert field in [p.field for p in refused.value.problems]
    assert store.counts() == before
    assert store.get(valid_document()["id"]) == before_doc
    assert store.get("5c1d6c2e-1111-4e6e-9d61-2f0c7a1d9e55") is None


def test_messages_name_the_field_in_both_languages_and_never_the_value():
    doc = valid_document()
    doc["members"][1]["full_name"] = ""
    doc["members"][0]["birth_year"] = 2030
    problems = validate_document(doc, today=TODAY)
    for problem in problems:
        vi, en = problem.message("vi"), problem.message("en")
        assert vi.startswith(problem.field + ": ") and en.startswith(problem.field + ": ")
        assert vi != en
        assert "2030" not in vi and "2030" not in en
    assert any("phải từ 1900" in p.message("vi") for p in problems)


def test_every_problem_is_reported_not_just_the_first():
    doc = valid_document()
    doc["head_name"] = ""
    doc["members"][0]["cccd"] = "maybe"
    doc["members"][1]["sim"] = "maybe"
    fields = [p.field for p in validate_document(doc, today=TODAY)]
    assert fields == ["head_name", "members[0].cccd", "members[1].sim"]


def test_a_household_not_surveyed_may_have_no_members():
    doc = valid_document()
    doc["visit_status"] = "absent"
    doc["members"] = []
    assert validate_document(doc, today=TODAY) == []


def test_optional_keys_may_be_absent_and_follow_up_null():
    doc = valid_document()
    for key in ("house_no", "address", "note", "updated_at"):
        del doc[key]
    doc["follow_up"] = None
    for key in ("reasons", "assisted", "note"):
        doc["members"][0].pop(key)
    assert validate_document(doc, today=TODAY) == []


def test_an_absent_consent_is_no_consent_so_the_document_carries_no_names():
    """The record reads a missing `consent` as not given: a document without one that carried names was
    stored (and pulled, and exported) as a household without consent holding names."""
    doc = valid_document()
    del doc["consent"]
    fields = [p.field for p in validate_document(doc, today=TODAY) if p.code == "personal_without_consent"]
    assert fields == ["head_name", "address", "follow_up.note", "members[0].full_name", "members[1].full_name"]
    doc.update(head_name="", address="", follow_up=None)
    for member in doc["members"]:
        member["full_name"] = ""
    assert validate_document(doc, today=TODAY) == []
    assert validate_document(Household.from_document(doc).to_document(), today=TODAY) == []


def test_surveyed_on_may_be_tomorrow_but_not_later():
    doc = valid_document()
    doc["surveyed_on"] = "2024-04-13"
    assert validate_document(doc, today=TODAY) == []


def test_a_valid_document_round_trips_through_the_record():
    doc = valid_document()
    assert Household.from_document(doc).to_document() == {**doc, "members": [
        doc["members"][0], {**doc["members"][1], "reasons": {}, "assisted": [], "note": ""}]}  # fmt: skip


def test_non_object_documents_are_refused():
    assert [p.field for p in validate_document([], today=TODAY)] == ["data"]
    assert [p.field for p in validate_document(None, today=TODAY)] == ["data"]
