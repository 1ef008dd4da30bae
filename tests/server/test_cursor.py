"""The pull cursor as a lying client would send it: every cursor this server did not give is refused
(ValueError → 422 field `cursor`), without inflating more than a few KB; the ones it gave read back."""

from __future__ import annotations

import base64
import zlib

import pytest

from ntm_field.server.clocks import MAX_CURSOR, Cursor, decode_cursor


def _pack(text: bytes) -> str:
    return base64.urlsafe_b64encode(zlib.compress(text)).decode().rstrip("=")


def test_a_cursor_reads_back_and_an_old_one_is_a_floor():
    cursor = Cursor(floor=5, seen={"25216-01": 40, "25216-02": 5, "25216-03": 12})
    back = decode_cursor(cursor.encode())
    assert {h: back.of(h) for h in ("25216-01", "25216-02", "25216-03", "99999-01")} == {
        "25216-01": 40, "25216-02": 5, "25216-03": 12, "99999-01": 5}  # fmt: skip
    legacy = base64.urlsafe_b64encode(b"v1:77").decode().rstrip("=")
    assert decode_cursor(legacy) == Cursor(floor=77) and decode_cursor(None) == Cursor()


@pytest.mark.parametrize(
    "text",
    [
        "not base64 at all!",
        base64.urlsafe_b64encode(b"v1:-3").decode(),
        base64.urlsafe_b64encode(b"v1:99999999999999999999").decode(),  # past BIGINT
        _pack(b"v3:1"),
        _pack(b"v2:x"),
        _pack(b"v2:1;25216-01=abc"),
        _pack(b"v2:1;25216-01=4;25216-01=5"),  # a hamlet twice
        _pack(b"v2:1;'; DROP TABLE households;--=4"),
        _pack(b"v2:0;" + b"9" * 100_000),  # inflates past the bound
        "A" * (MAX_CURSOR + 1),
    ],
)
def test_a_cursor_the_server_did_not_give_is_refused(text):
    with pytest.raises(ValueError):
        decode_cursor(text)
