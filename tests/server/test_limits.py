"""Rate limits (429 with Retry-After) and the append-only audit log without personal data.

The counts' contract runs on the three kinds of counts (this process, SQLite, PostgreSQL) with a clock
the test moves; two backends on one database stand for two server processes. Over HTTP with two real
processes: test_shared_limits.py; proxies and client addresses: test_proxies.py."""

from __future__ import annotations

import os
import stat
import threading
import uuid
from dataclasses import replace

import pytest
import requests

from ntm_field.bench.households import generate
from ntm_field.server.db import create_database, drop_database, open_backend
from ntm_field.server.limits import DatabaseCounts, MemoryCounts, RateLimited, RateLimiter, WrongCodes
from tests.server.conftest import ENGINES


class Clock:
    def __init__(self, now: float = 1_700_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def open_counts(request, tmp_path):
    """Opens counts of the test's kind; on a database each call stands for another server process
    (its own connections). A process has one MemoryCounts: every call returns it."""
    if request.param == "memory":
        memory = MemoryCounts()
        yield lambda: memory
        return
    name = f"ntm_test_{uuid.uuid4().hex[:12]}"
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'server.db'}"
    else:
        url = create_database(request.getfixturevalue("postgres_admin_url"), name)
    opened: list[DatabaseCounts] = []

    def open_one() -> DatabaseCounts:
        opened.append(DatabaseCounts.open(open_backend(url)))
        return opened[-1]

    yield open_one
    for counts in opened:
        counts.close()
    if request.param == "postgresql":
        drop_database(request.getfixturevalue("postgres_admin_url"), name)


# ----- the counts' contract -------------------------------------------------------------


def test_a_limit_counts_from_the_first_hit_and_refuses_until_its_window_closes(open_counts):
    clock = Clock()
    limiter = RateLimiter(3, window=60, name="token", counts=open_counts(), clock=clock)
    assert [limiter.check("device-1") for _ in range(3)] == [clock.now + 60] * 3
    with pytest.raises(RateLimited) as refused:
        limiter.check("device-1")
    assert refused.value.retry_after == 60
    limiter.check("device-2")  # another key has its own window
    clock.now += 30
    with pytest.raises(RateLimited) as refused:
        limiter.check("device-1")
    assert refused.value.retry_after == 30  # refused hits do not count, nor move the window
    clock.now += 29.5
    with pytest.raises(RateLimited) as refused:
        limiter.check("device-1")
    assert refused.value.retry_after == 1  # never 0
    clock.now += 0.5
    assert limiter.check("device-1") == clock.now + 60  # the window closed: a new one opens
    assert [limiter.check("device-1") for _ in range(2)] == [clock.now + 60] * 2
    with pytest.raises(RateLimited):
        limiter.check("device-1")


def test_a_hit_taken_back_frees_its_place_but_only_in_its_own_window(open_counts):
    clock = Clock()
    limiter = RateLimiter(2, window=60, name="enrol", counts=open_counts(), clock=clock)
    old = limiter.check("10.0.0.1")
    clock.now += 61
    first, second = limiter.check("10.0.0.1"), limiter.check("10.0.0.1")
    limiter.take_back("10.0.0.1", old)  # a stamp of a window that has closed: nothing to give back
    with pytest.raises(RateLimited):
        limiter.check("10.0.0.1")
    limiter.take_back("10.0.0.1", second)
    assert limiter.check("10.0.0.1") == first


def test_limiters_sharing_counts_keep_apart_by_name_and_closed_windows_are_swept(open_counts):
    clock, counts = Clock(), open_counts()
    tokens = RateLimiter(1, window=10, name="token", counts=counts, clock=clock)
    enrolments = RateLimiter(1, window=100, name="enrol", counts=counts, clock=clock)
    tokens.check("same key")
    enrolments.check("same key")
    for i in range(RateLimiter.SWEEP_EVERY - 2):
        tokens.check(f"device-{i}")
    assert len(counts) == RateLimiter.SWEEP_EVERY
    clock.now += 10
    tokens.check("late")  # the SWEEP_EVERY-th hit of `tokens` sweeps every closed window
    assert len(counts) == 2  # "late" and the enrolment window, still open


def test_wrong_codes_share_one_counts_and_give_back_right_codes(open_counts):
    clock = Clock()
    guesses = WrongCodes(per_address=2, per_prefix=3, window=900, counts=open_counts(), clock=clock)
    guesses.right(guesses.attempt("10.0.0.1", "K7QM"))
    guesses.attempt("10.0.0.1", "AAAA")
    guesses.attempt("10.0.0.1", "BBBB")
    with pytest.raises(RateLimited) as refused:
        guesses.attempt("10.0.0.1", "K7QM")
    assert refused.value.retry_after == 900
    for address in ("10.0.0.2", "10.0.0.3"):
        guesses.attempt(address, "AAAA")
    with pytest.raises(RateLimited):
        guesses.attempt("10.0.0.4", "AAAA")  # the prefix is full: the address is not charged for it
    guesses.attempt("10.0.0.4", "CCCC")
    guesses.attempt("10.0.0.4", "DDDD")


def test_processes_on_one_database_share_the_counts(open_counts):
    clock = Clock()
    first, second = (RateLimiter(4, window=60, name="token", counts=open_counts(), clock=clock) for _ in range(2))
    stamps = [limiter.check("device-1") for limiter in (first, second, first, second)]
    for limiter in (first, second):
        with pytest.raises(RateLimited):
            limiter.check("device-1")
    second.take_back("device-1", stamps[0])  # given back in another process than it was taken in
    first.check("device-1")


def test_hits_at_once_from_two_processes_count_exactly_up_to_the_limit(open_counts):
    limiters = [RateLimiter(25, window=60, name="token", counts=open_counts()) for _ in range(2)]
    counted, start = [], threading.Barrier(16)

    def hit(limiter: RateLimiter) -> None:
        start.wait()
        for _ in range(5):
            try:
                limiter.check("device-1")
                counted.append(1)
            except RateLimited:
                pass

    threads = [threading.Thread(target=hit, args=(limiters[i % 2],)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(counted) == 25  # of 80 hits: a read-then-write count would let more through


@ENGINES
def test_the_counts_live_beside_the_server_database_hashed_and_private(database_url, tmp_path):
    umask = os.umask(0o022)
    try:
        counts = DatabaseCounts.open(open_backend(database_url))
    finally:
        os.umask(umask)
    try:
        RateLimiter(5, name="enrol", counts=counts).check("203.0.113.7")
        RateLimiter(5, name="wrong-code-prefix", counts=counts).check("K7QM")
        with counts.backend.transaction() as tx:
            stored = repr(tx.all("SELECT * FROM rate_limits"))
            if counts.backend.dialect == "postgresql":  # no WAL written, no flush per hit
                assert tx.one("SELECT relpersistence FROM pg_class WHERE relname = 'rate_limits'") == ("u",)
    finally:
        counts.close()
    assert "203.0.113.7" not in stored and "K7QM" not in stored and "enrol" not in stored
    if database_url.startswith("sqlite"):
        assert stat.S_IMODE((tmp_path / "server-limits.db").stat().st_mode) == 0o600  # SqliteBackend's doing


@ENGINES
def test_rate_limits_answer_429_with_retry_after(server):
    surveyor = server.enrol("surveyor", "25216-01")
    headers = {"Authorization": f"Bearer {surveyor['token']}"}
    session = requests.Session()
    codes = [session.get(server.api("/api/v1/sync/pull?limit=1"), headers=headers, timeout=10).status_code
             for _ in range(601)]  # fmt: skip
    assert codes[:600] == [200] * 600  # well above the contract's 120 a minute
    assert codes[600] == 429
    limited = session.get(server.api("/api/v1/sync/pull"), headers=headers, timeout=10)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert limited.json()["error"]["code"] == "rate_limited"
    # another token is not held back by this one
    other = server.enrol("surveyor", "25216-01")
    assert session.get(server.api("/api/v1/sync/pull"), headers={"Authorization": f"Bearer {other['token']}"},
                       timeout=10).status_code == 200  # fmt: skip
    # Enrolments per address and wrong codes per address and per prefix: tests/server/test_enrol_codes.py.


@ENGINES
def test_every_write_lands_in_the_audit_log_without_personal_data(server):
    surveyor = server.enrol("surveyor", "25216-01")
    household = replace(next(generate(1, seed=5)), hamlet_code="25216-01")
    requests.post(server.api("/api/v1/sync/push"), headers={"Authorization": f"Bearer {surveyor['token']}"},
                  json={"batch_id": "b", "changes": [{"change_id": "c", "id": household.id, "base_rev": None,
                                                      "deleted": False, "data": household.to_document()}]},
                  timeout=10)  # fmt: skip
    backend = open_backend(server.db)
    with backend.transaction() as tx:
        entries = tx.all("SELECT actor, action, target, detail FROM audit ORDER BY seq")
    backend.close()
    actions = [e[1] for e in entries]
    assert "units.load" in actions and "device.enrol" in actions and "household.push" in actions
    text = repr(entries)
    for member in household.members:
        assert member.full_name not in text
    assert household.head_name not in text and surveyor["token"] not in text
