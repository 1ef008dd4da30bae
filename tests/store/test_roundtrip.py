"""Property: whatever valid household is saved comes back identical, and its summary matches the domain."""

from __future__ import annotations

import tempfile
import uuid
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from ntm_field.domain.codes import Check
from ntm_field.domain.indicators import tally_household
from ntm_field.domain.text import fold
from ntm_field.store import LocalStore
from tests.strategies import households

NOW = datetime(2026, 7, 1, 8, 0, tzinfo=timezone.utc)


@settings(max_examples=60, deadline=None)
@given(st.lists(households(), min_size=1, max_size=4, unique_by=lambda h: h.id))
def test_saved_households_round_trip_with_their_summary(batch):
    with tempfile.TemporaryDirectory() as tmp:
        store = LocalStore.open(Path(tmp) / "s.db", clock=lambda: NOW, new_id=lambda: str(uuid.uuid4()))
        try:
            for household in batch:
                store.save(household)
            for household in batch:
                expected = replace(household, updated_at=NOW)
                assert store.get(household.id) == expected
                [row] = [r for r in store.list_households(household.hamlet_code) if r.id == household.id]
                tally = tally_household(expected)
                assert row.covered == {c: (tally.figure(c).covered, tally.figure(c).eligible) for c in Check}
                assert row.fully_covered == (tally.fully_covered == 1)
                if household.head_name:  # a household without consent has no name to search by
                    assert household.id in {r.id for r in store.search(fold(household.head_name), limit=100)}
            assert len(store.pending_changes()) == len(batch)
        finally:
            store.close()
