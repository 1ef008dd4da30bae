"""The province load scenario run tiny (20 phones) on both engines: not its speed, its bookkeeping and what
it leaves on the server — every request accounted for, every household pushed stored exactly once at the
revision its last answer gave, the counters equal to a recount, every phone holding its hamlet."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime

import pytest

from ntm_field.bench.load import province_load
from ntm_field.server.db import open_backend
from ntm_field.server.store import ServerStore
from tests.server.conftest import database_url, postgres_admin_url  # noqa: F401 (fixtures)

ENGINES = pytest.mark.parametrize("database_url, workers", [("sqlite", 1), ("postgresql", 2)],
                                  indirect=["database_url"])  # fmt: skip


@ENGINES
def test_a_tiny_province_load_accounts_for_every_request_and_household(database_url, workers):  # noqa: F811
    result = province_load(database_url, devices=20, workers=workers, cycles=2, window=3.0, seed=7, settle=True)
    assert result.tallies["enrol"].ok == 21  # 20 phones and the officer
    assert result.tallies["push"].ok >= 40  # 20 phones × 2 cycles, each with something to push
    assert sum(phone.edits for phone in result.phones) > 0  # the second cycles edited households of the first
    _check(result, database_url)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_phones_answered_503_send_again_and_every_household_lands_once(database_url):  # noqa: F811
    # One sync slot, a wait of 1 s for it (the shortest setting), and 300 phones pushing 1–20 households each at
    # the same moment: at ≥ 5 ms a push here (pushes are one transaction of ~15 statements), the queue (≥ 1.5 s)
    # outlasts the wait and part of them are answered 503. (At 80 phones it did once pushes got faster.)
    squeezed = {"NTM_SYNC_SLOTS": "1", "NTM_ADMISSION_WAIT": "1", "NTM_BUSY_RETRY_AFTER": "1"}
    result = province_load(database_url, devices=300, workers=1, cycles=1, window=0.05, seed=9, settle=True, env=squeezed)
    assert result.tallies["push"].busy > 0, "no push waited past the admission wait: the test no longer squeezes"
    assert result.tallies["push"].ok == 300  # each phone's one push, in the end
    _check(result, database_url)


def _check(result, url: str) -> None:
    """The invariants of a run: requests accounted for, households stored once, counters, what phones hold."""
    # Every request is accounted for: each kind adds up, and together they are what went on the wire.
    for kind, tally in result.tallies.items():
        assert tally.sent == tally.ok + tally.busy + tally.errors, kind
        assert len(tally.latencies) == tally.ok, kind
    assert sum(t.sent for t in result.tallies.values()) == result.wire
    assert {"enrol", "units", "push", "pull", "coverage", "progress", "export"} <= set(result.tallies)
    assert result.export[0] == 200
    # Nothing failed (a 503 is not a failure: it is sent again), nothing was refused, nothing waits.
    assert result.requests().errors == 0, result.requests().problems
    assert not result.rejected
    assert result.pending == 0

    store = ServerStore(open_backend(url), clock=lambda: datetime.now(UTC), new_id=lambda: "x")
    try:
        with store.backend.read() as tx:
            households = tx.all("SELECT id, hamlet_code, rev, deleted, document FROM households")
            revisions = Counter(row[0] for row in tx.all("SELECT household_id FROM revisions"))
        # Each household pushed is stored once, at the revision its last answer gave; no other is there.
        ids = [row[0] for row in households]
        assert len(ids) == len(set(ids))
        assert {row[0]: row[2] for row in households} == result.stored
        assert all(row[3] == 0 for row in households)
        # Each accepted change made exactly one revision: a new household one, each edit one more (the
        # retried or re-sent ones made none).
        edits = Counter(household for phone in result.phones for household, (_, document) in phone.mine.items()
                        if json.loads(document)["note"])  # fmt: skip
        assert revisions == Counter({household: 1 + edits[household] for household in result.stored})

        # The counters kept by the pushes equal a recount from the stored households.
        hamlets = sorted({phone.hamlet for phone in result.phones})
        kept = store.counters(hamlets)
        store.recompute(actor="test")
        assert store.counters(hamlets) == kept
    finally:
        store.close()

    # Every phone, after one more pull, holds every household of its hamlet at the stored revision and
    # nothing of another hamlet.
    by_hamlet: dict[str, dict[str, int]] = {}
    for household, hamlet, rev, _, _ in households:
        by_hamlet.setdefault(hamlet, {})[household] = rev
    for phone in result.phones:
        assert phone.seen == by_hamlet[phone.hamlet]
