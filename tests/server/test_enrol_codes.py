"""Short typed enrolment codes (`K7QM-4XRT-9B`): format, entropy, forgiving input, single use, expiry,
and the limits on wrong guesses per client address and per code prefix, against a lying client.

Every test runs on SQLite and on PostgreSQL. A client's address is what uvicorn gives the app: the peer's
address, or X-Forwarded-For when the peer is a trusted proxy (uvicorn's default: 127.0.0.1 only). The
tests connect from several loopback addresses (127.0.0.x) to see both."""

from __future__ import annotations

import http.client
import json
import math
import random
import re
import time
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from ntm_field.domain import enrol_code
from ntm_field.server import errors
from ntm_field.server.limits import RateLimited, RateLimiter, WrongCodes
from tests.server.conftest import ENGINES, ROOT, ntm, prepare_database, start_server, stop_server

FORMAT = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{2}$")
CONFUSABLE = set("ILOU")


def post_enrol(url: str, code, *, source: str = "127.0.0.1", forwarded_for: str | None = None, name: str = "phone"):
    """POST /api/v1/enrol from the loopback address `source` (optionally claiming another address)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30, source_address=(source, 0))
    headers = {"Content-Type": "application/json"}
    if forwarded_for:
        headers["X-Forwarded-For"] = forwarded_for
    try:
        connection.request("POST", "/api/v1/enrol", body=json.dumps({"code": code, "device_name": name}), headers=headers)
        response = connection.getresponse()
        return response.status, response.headers, json.loads(response.read() or b"null")  # headers: any case
    finally:
        connection.close()


def wrong_code(rng: random.Random, *, start: str = "") -> str:
    symbols = start + "".join(rng.choice(enrol_code.ALPHABET) for _ in range(enrol_code.LENGTH - len(start)))
    return enrol_code.grouped(symbols)


def new_code(server, *, uses: int = 1) -> str:
    """A code from `ntm-field admin enrol-code --json`."""
    created = ntm("admin", "enrol-code", "--role", "surveyor", "--scope", "25216-03", "--uses", str(uses), "--json",
                  "--db", server.db)  # fmt: skip
    assert created.returncode == 0, created.stderr
    return json.loads(created.stdout)["code"]


@pytest.fixture
def limited_server(database_url):
    """A server whose wrong-guess window is 3 s (to see it pass), with the default limits otherwise."""
    running = start_server(prepare_database(database_url), env={"NTM_WRONG_CODE_WINDOW": "3"})
    yield running
    stop_server(running.process)


# ----- format, entropy, input -----------------------------------------------------------


def test_the_alphabet_has_32_unambiguous_symbols_and_a_code_carries_at_least_50_bits():
    assert len(set(enrol_code.ALPHABET)) == len(enrol_code.ALPHABET) == 32
    assert not CONFUSABLE & set(enrol_code.ALPHABET)
    assert enrol_code.entropy_bits() == enrol_code.LENGTH * math.log2(32) >= 50
    assert len(enrol_code.new_code(random.Random(1).choice)) == 12


@ENGINES
def test_codes_are_short_grouped_random_and_hashed(server_store):
    codes = [
        server_store.create_enrol_code(role="surveyor", scope=["25216-03"], uses=1, expires_in=timedelta(days=1), created_by="t").code
        for _ in range(300)
    ]  # fmt: skip
    assert all(FORMAT.match(code) and len(code) <= 12 for code in codes), [c for c in codes if not FORMAT.match(c)]
    assert len(set(codes)) == 300
    # Every symbol turns up (300 codes × 10 symbols: each of the 32 would be missing with odds ~1e-40).
    assert set("".join(codes).replace("-", "")) == set(enrol_code.ALPHABET)
    with server_store.backend.transaction() as tx:
        stored = " ".join(row[0] for row in tx.all("SELECT code_hash FROM enrol_codes"))
    for code in codes:
        assert code not in stored and code.replace("-", "") not in stored


@ENGINES
def test_a_code_is_accepted_in_any_case_and_grouping_once_and_not_after_it_expires(server_store):
    def make(**kwargs) -> str:
        return server_store.create_enrol_code(role="surveyor", scope=["25216-03"], created_by="t",
                                              **{"uses": 1, "expires_in": timedelta(days=1), **kwargs}).code  # fmt: skip

    for typed in (
        lambda c: c.lower(),
        lambda c: c.replace("-", ""),
        lambda c: " ".join(c.replace("-", "").lower()),
        lambda c: f"  {c[:6]} {c[6:]}\t",
        lambda c: c.replace("0", "O").replace("1", "l"),  # a reader who sees O and l where the code has 0 and 1
    ):
        code = make()
        device, _ = server_store.enrol(typed(code), "phone")
        assert device.scope == ("25216-03",)
        with pytest.raises(errors.InvalidCode):  # single use, whatever the spelling
            server_store.enrol(code, "phone")
    twice = make(uses=2)
    server_store.enrol(twice.lower(), "a")
    server_store.enrol(twice, "b")
    with pytest.raises(errors.InvalidCode):
        server_store.enrol(twice, "c")

    expiring = make(expires_in=timedelta(hours=1))
    server_store.clock.now += timedelta(hours=1, seconds=1)
    with pytest.raises(errors.InvalidCode):
        server_store.enrol(expiring, "late")
    for wrong in ("", "K7QM-4XRT-9", "K7QM-4XRT-9B-X", "K7QM-4XRT-9Ü", "made-up"):
        with pytest.raises(errors.InvalidCode):
            server_store.enrol(wrong, "phone")


@ENGINES
def test_the_command_line_makes_short_codes_and_enrols_with_any_spelling_of_them(server, tmp_path):
    code = new_code(server)
    assert FORMAT.match(code)
    created = json.loads(ntm("admin", "enrol-code", "--role", "surveyor", "--scope", "25216-03", "--json",
                             "--url", "https://ntm.example.vn", "--db", server.db).stdout)  # fmt: skip
    assert created["link"] == f"https://ntm.example.vn/enrol?code={created['code']}"  # the link holds the whole code
    typed = code.replace("-", "").lower()
    enrolled = ntm("enrol", "--data", str(tmp_path / "phone"), "--server", server.url, "--code", typed)
    assert enrolled.returncode == 0, enrolled.stderr
    again = ntm("enrol", "--data", str(tmp_path / "other"), "--server", server.url, "--code", code)
    assert again.returncode == 1 and "wrong, used up or expired" in again.stderr


# ----- wrong guesses --------------------------------------------------------------------


@ENGINES
def test_a_lying_client_is_limited_by_its_own_address_whatever_it_claims(server):
    rng = random.Random(5)
    # From 127.0.0.9, an address uvicorn does not trust as a proxy: its X-Forwarded-For is ignored.
    answers = [post_enrol(server.url, wrong_code(rng), source="127.0.0.9", forwarded_for=f"10.9.0.{i}")
               for i in range(21)]  # fmt: skip
    assert [a[0] for a in answers[:20]] == [400] * 20  # 20 wrong codes in 15 minutes per address
    status, headers, body = answers[20]
    assert status == 429 and body["error"]["code"] == "rate_limited"
    assert 800 <= int(headers["Retry-After"]) <= 900
    # the right code from that address is refused as well; from another address it enrols
    code = new_code(server)
    assert post_enrol(server.url, code, source="127.0.0.9")[0] == 429
    assert post_enrol(server.url, code, source="127.0.0.10")[0] == 201
    # malformed codes count too (no free guesses with junk), each with its own prefix here
    junk = [post_enrol(server.url, text, source="127.0.0.11")[0] for text in [f"{i:02d}?" for i in range(20)] + [None, ""]]
    assert junk == [400] * 20 + [429, 429]


@ENGINES
def test_wrong_codes_sharing_a_prefix_are_limited_across_addresses(server):
    rng = random.Random(6)
    code = new_code(server)
    start = enrol_code.normalise(code)[: enrol_code.PREFIX]
    guesses = []
    while len(guesses) < 11:
        guess = wrong_code(rng, start=start)
        if enrol_code.normalise(guess) != enrol_code.normalise(code):
            guesses.append(guess)
    # Real peers 127.0.0.20…30, and through the trusted proxy 127.0.0.1 with forwarded addresses.
    sources = [{"source": f"127.0.0.{20 + i}"} for i in range(6)] + [{"forwarded_for": f"203.0.113.{i}"} for i in range(5)]
    answers = [post_enrol(server.url, guess, **where)[0] for guess, where in zip(guesses, sources)]
    assert answers == [400] * 10 + [429]  # 10 wrong codes per prefix in 15 minutes
    # The right code shares the prefix: refused too, from any address, until the window passes.
    status, headers, _ = post_enrol(server.url, code, forwarded_for="198.51.100.7")
    assert status == 429 and int(headers["Retry-After"]) >= 800
    assert post_enrol(server.url, code.lower(), source="127.0.0.40")[0] == 429
    # Other prefixes are not held back.
    assert post_enrol(server.url, wrong_code(rng, start="ZZZZ" if start != "ZZZZ" else "YYYY"), source="127.0.0.42")[0] == 400


@ENGINES
def test_a_right_code_is_refused_until_the_window_has_passed(limited_server):
    server, rng = limited_server, random.Random(7)
    code = new_code(server)
    start = enrol_code.normalise(code)[: enrol_code.PREFIX]
    for i in range(10):
        guess = wrong_code(rng, start=start)
        assert post_enrol(server.url, guess, source=f"127.0.0.{50 + i}")[0] == 400
    status, headers, _ = post_enrol(server.url, code, source="127.0.0.70")
    assert status == 429 and 1 <= int(headers["Retry-After"]) <= 3
    time.sleep(int(headers["Retry-After"]) + 0.2)
    assert post_enrol(server.url, code, source="127.0.0.70")[0] == 201
    # ... and the per-address limit the same way (the code made first: making one takes seconds on a busy
    # machine, longer than the window)
    other = new_code(server)
    for _ in range(20):
        assert post_enrol(server.url, wrong_code(rng), source="127.0.0.71")[0] == 400
    status, headers, _ = post_enrol(server.url, other, source="127.0.0.71")
    assert status == 429
    time.sleep(int(headers["Retry-After"]) + 0.2)
    assert post_enrol(server.url, other, source="127.0.0.71")[0] == 201


@ENGINES
def test_right_codes_are_not_wrong_guesses_and_30_enrolments_a_minute_per_address_pass(server):
    codes = [new_code(server, uses=30)] * 30
    answers = [post_enrol(server.url, code, source="127.0.0.80", name=f"phone {i}") for i, code in enumerate(codes)]
    assert [a[0] for a in answers] == [201] * 30  # the contract's 30 enrolments a minute per address
    status, headers, _ = post_enrol(server.url, codes[0], source="127.0.0.80")
    assert status == 429 and int(headers["Retry-After"]) >= 1


def test_the_wrong_code_limits_count_in_a_sliding_window_and_forget_right_codes():
    now = [1000.0]
    guesses = WrongCodes(per_address=3, per_prefix=2, window=60, clock=lambda: now[0])
    first = guesses.attempt("10.0.0.1", "K7QM")
    guesses.right(first)  # a right code is not a wrong guess
    guesses.attempt("10.0.0.1", "AAAA")
    guesses.attempt("10.0.0.1", "BBBB")
    guesses.attempt("10.0.0.1", "CCCC")
    with pytest.raises(RateLimited) as limited:
        guesses.attempt("10.0.0.1", "K7QM")
    assert limited.value.retry_after == 60
    now[0] += 30
    with pytest.raises(RateLimited) as limited:
        guesses.attempt("10.0.0.1", "K7QM")
    assert limited.value.retry_after == 30
    # refused by its prefix: the address is not charged for it
    guesses.attempt("10.0.0.2", "DDDD")
    guesses.attempt("10.0.0.3", "DDDD")
    with pytest.raises(RateLimited):
        guesses.attempt("10.0.0.2", "DDDD")
    guesses.attempt("10.0.0.2", "EEEE")
    now[0] += 31
    guesses.attempt("10.0.0.1", "K7QM")  # the window has passed


def test_keys_whose_hits_left_the_window_are_dropped():
    now = [0.0]
    limiter = RateLimiter(5, window=10, clock=lambda: now[0])
    for i in range(RateLimiter.SWEEP_EVERY - 1):
        limiter.check(f"prefix-{i}")
    now[0] = 11
    limiter.check("late")
    assert len(limiter) == 1


def test_the_docs_show_the_new_code_format():
    shown = re.compile(r"(?<![\w-])[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{2}(?![\w-])")
    for name in ("README.md", "docs/server.md", "docs/labels.md", "docs/sync.md"):
        assert shown.search((ROOT / name).read_text(encoding="utf-8")), f"{name} shows no code like K7QM-4XRT-9B"
    server = (ROOT / "docs/server.md").read_text(encoding="utf-8")
    assert "enrolment codes are 256 random bits" not in server.lower()
