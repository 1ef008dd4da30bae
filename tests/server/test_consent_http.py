"""Contract v1.1, "Consent and personal data", over HTTP on both engines: a household without consent
carries no names or notes (the server refuses one that does, naming the first such field), still counts,
and two crossing edits never merge into a household that holds names without consent."""

from __future__ import annotations

import requests

from ntm_field.domain.validation import validate_document
from tests.server.conftest import ENGINES
from tests.server.test_http import change, household, pull_all, push_ok

NO_CONSENT = {"given": False, "notice_version": ""}


def anonymous(hamlet: str = "25216-01") -> dict:
    doc = household(hamlet, head_name="", consent=NO_CONSENT, address="", note="",
                     follow_up={"due": "2024-05-02", "note": ""})  # fmt: skip
    for m in doc["members"]:
        m["full_name"] = m["note"] = ""
    return doc


@ENGINES
def test_without_consent_names_and_notes_are_refused_and_the_household_still_counts(server):
    token = server.enrol("surveyor", "25216-01")["token"]
    for field, edit in (("data.head_name", {"head_name": "Nguyễn Văn Đức"}), ("data.address", {"address": "Tổ 3"}),
                        ("data.note", {"note": "có người già"}),
                        ("data.follow_up.note", {"follow_up": {"due": "2024-05-02", "note": "gọi anh Đức"}})):  # fmt: skip
        [result] = push_ok(server, token, [change(anonymous() | edit)])
        assert result["status"] == "rejected" and result["error"]["code"] == "invalid", result
        assert result["error"]["field"] == field
    named_member = anonymous()
    named_member["members"][0]["full_name"] = "Lê Văn Bình"
    [result] = push_ok(server, token, [change(named_member)])
    assert result["error"]["field"] == "data.members[0].full_name"

    doc = anonymous()
    [result] = push_ok(server, token, [change(doc)])
    assert result["status"] == "applied", result
    leader = server.enrol("leader", "25216")["token"]
    coverage = requests.get(server.api("/api/v1/coverage"), params={"unit": "25216-01"},
                            headers={"Authorization": f"Bearer {leader}"}, timeout=30).json()  # fmt: skip
    assert coverage["households"]["surveyed"] == 1 and coverage["indicators"]["cccd"]["eligible"] == 1


@ENGINES
def test_crossing_edits_never_merge_names_into_a_household_without_consent(server):
    first = server.enrol("surveyor", "25216-01")["token"]
    second = server.enrol("surveyor", "25216-01")["token"]
    doc = household("25216-01")
    [created] = push_ok(server, first, [change(doc)])
    # One surveyor records that the household withdrew consent (names cleared); the other, from the same
    # base revision, adds a note. Each is valid; merged they would hold a note without consent.
    withdrawn = anonymous() | {"id": doc["id"]}
    withdrawn["members"] = [m | {"full_name": "", "note": ""} for m in doc["members"]]
    noted = doc | {"note": "nhà có người già"}
    [a] = push_ok(server, first, [change(withdrawn, base_rev=created["rev"])])
    [b] = push_ok(server, second, [change(noted, base_rev=created["rev"])])
    assert a["status"] == "applied"
    # The merge would be invalid: the server keeps the pushed version and opens a conflict for a leader.
    assert b["status"] == "conflict", b
    stored = pull_all(server, first)[doc["id"]]["data"]
    assert validate_document(stored, today=None) == []
    assert stored["consent"]["given"] is True and stored["note"] == "nhà có người già"
