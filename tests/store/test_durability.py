"""A confirmed save survives SIGKILL: kill a saving child at random moments, reopen, check everything."""

from __future__ import annotations

import random
import sqlite3
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest

from ntm_field.store import LocalStore
from tests.store.kill_loop import run_and_kill

ROOT = Path(__file__).resolve().parents[2]


def _run_and_kill(store_path: Path, seed: int, rng: random.Random) -> list[tuple[str, int, str]]:
    lines = run_and_kill("tests.store.save_loop", store_path, seed, rng, within=0.25)
    return [(household_id, int(members), change_id) for household_id, members, change_id in lines]


@pytest.mark.slow
def test_every_confirmed_save_survives_sigkill(tmp_path, long_mode):
    kills = 500 if long_mode else 50
    rng = random.Random(20241125)
    store_path = tmp_path / "device" / "store.db"
    confirmed: list[tuple[str, int, str]] = []
    for kill in range(kills):
        confirmed += _run_and_kill(store_path, seed=kill, rng=rng)

        store = LocalStore.open(store_path, clock=lambda: datetime.now(timezone.utc), new_id=lambda: str(uuid.uuid4()))
        store.close()
        conn = sqlite3.connect(store_path)
        try:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            members = dict(conn.execute("SELECT household_id, count(*) FROM members GROUP BY household_id"))
            outbox = set(conn.execute("SELECT household_id, change_id FROM outbox WHERE state = 'pending'"))
            households = {row[0] for row in conn.execute("SELECT id FROM households")}
            for household_id, member_count, change_id in confirmed:
                assert household_id in households, f"kill {kill}: a confirmed household is missing"
                assert members.get(household_id, 0) == member_count, f"kill {kill}: members missing"
                assert (household_id, change_id) in outbox, f"kill {kill}: outbox entry missing"
            orphans = conn.execute(
                "SELECT count(*) FROM outbox WHERE household_id NOT IN (SELECT id FROM households)"
            ).fetchone()[0]
            unqueued = conn.execute(
                "SELECT count(*) FROM households WHERE id NOT IN (SELECT household_id FROM outbox)"
            ).fetchone()[0]
            stray_members = conn.execute(
                "SELECT count(*) FROM members WHERE household_id NOT IN (SELECT id FROM households)"
            ).fetchone()[0]
            assert (orphans, unqueued, stray_members) == (0, 0, 0), f"kill {kill}"
        finally:
            conn.close()
    # the kills must have landed while saving, not before the first save
    assert len(confirmed) > kills, f"only {len(confirmed)} saves confirmed over {kills} kills"
