"""The server refuses a house number with emoji or symbols, naming the field, as the app does (one rule in
the domain's validation); a house number written as people write addresses is stored."""

from __future__ import annotations

from tests.server.conftest import ENGINES
from tests.server.test_http import change, household, pull_all, push_ok


@ENGINES
def test_a_house_number_with_an_emoji_is_rejected_with_its_field(server):
    token = server.enrol("surveyor", "25216-01")["token"]
    emoji, keycap, fine = (household("25216-01", house_no=n) for n in ("12🏠", "1\ufe0f\u20e3", "Kiốt 5 (chợ), 12/3B"))
    results = push_ok(server, token, [change(emoji), change(keycap), change(fine)])
    assert [r["status"] for r in results] == ["rejected", "rejected", "applied"], results
    for result in results[:2]:
        assert result["error"]["code"] == "invalid" and result["error"]["field"] == "data.house_no", result
        assert "House number" in result["error"]["message"]
    stored = pull_all(server, token)
    assert set(stored) == {fine["id"]} and stored[fine["id"]]["data"]["house_no"] == "Kiốt 5 (chợ), 12/3B"
