"""Contract v1.1 consent over HTTP, the cases test_consent_http.py does not push (both engines): a member's
note without consent, and a household with no `consent` at all, which the server would otherwise have stored
(and served on pull) as `consent.given: false` beside the names."""

from __future__ import annotations

from tests.server.conftest import ENGINES
from tests.server.test_consent_http import anonymous
from tests.server.test_http import change, household, pull_all, push_ok


@ENGINES
def test_a_member_note_or_a_missing_consent_is_refused_and_nothing_is_stored(server):
    token = server.enrol("surveyor", "25216-01")["token"]
    noted = anonymous()
    noted["members"][0]["note"] = "đi làm xa"
    unrecorded = household("25216-01")
    del unrecorded["consent"]
    results = push_ok(server, token, [change(noted), change(unrecorded)])
    assert [(r["status"], (r["error"] or {}).get("code"), (r["error"] or {}).get("field")) for r in results] == [
        ("rejected", "invalid", "data.members[0].note"),
        ("rejected", "invalid", "data.head_name"),
    ], results
    assert pull_all(server, token) == {}

    unrecorded.update(head_name="", address="", note="", follow_up=None)
    for member in unrecorded["members"]:
        member["full_name"] = member["note"] = ""
    [result] = push_ok(server, token, [change(unrecorded)])
    assert result["status"] == "applied", result
    assert pull_all(server, token)[unrecorded["id"]]["data"]["consent"] == {"given": False, "notice_version": ""}
