"""Local store figures: save latency and name search latency at 50,000 households."""

from __future__ import annotations

import itertools
import json
import random
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

from ntm_field.bench import Measure
from ntm_field.bench.households import full_name, generate
from ntm_field.domain.records import Household
from ntm_field.domain.text import fold
from ntm_field.store import LocalStore

FULL = {"households": 50_000, "saves": 1_000, "queries": 200}
QUICK = {"households": 5_000, "saves": 200, "queries": 50}
SEED_CHUNK = 5_000
LIKE_SCAN = "LIKE scan, one open connection"


def run(*, quick: bool, progress: Callable[[str], None]) -> list[Measure]:
    sizes = QUICK if quick else FULL
    with tempfile.TemporaryDirectory(prefix="ntm-bench-") as tmp:
        store = LocalStore.open(Path(tmp) / "store.db", clock=_utc_now, new_id=lambda: str(uuid.uuid4()))
        progress(f"seeding {sizes['households']:,} households…")
        seeded = generate(sizes["households"], seed=1)
        while chunk := list(itertools.islice(seeded, SEED_CHUNK)):
            store.save_many(chunk)
        progress(f"timing {sizes['saves']:,} saves…")
        saves = _time_saves(store, sizes["saves"], size=sizes["households"])
        baseline_save = _raw_insert_per_household(Path(tmp) / "raw.db", sizes["saves"], seed=3)
        progress(f"timing {sizes['queries']} searches…")
        queries = _queries(sizes["queries"], seed=4)
        search = [_timed(lambda q=q: store.search(q)) for q in queries]
        # the baseline keeps one connection open, as the store keeps one per thread
        conn = sqlite3.connect(store.path)
        try:
            like = [_timed(lambda q=q: _like_scan(conn, q)) for q in queries]
        finally:
            conn.close()

    n = f"{sizes['households'] // 1000}k"
    p50, p99 = _percentile(saves, 50), _percentile(saves, 99)
    raw = "raw sqlite3, one transaction"
    return [
        Measure(f"local save p50 (4 members, {n} held)", "ms", p50, baseline_save, raw, "—", None),
        Measure(f"local save p99 (4 members, {n} held)", "ms", p99, baseline_save, raw, "≤ 10 ms", p99 <= 10),
        Measure(f"local search p50 ({n} households)", "ms", _percentile(search, 50),
                _percentile(like, 50), LIKE_SCAN, "—", None),
        Measure(f"local search p95 ({n} households)", "ms", _percentile(search, 95),
                _percentile(like, 95), LIKE_SCAN, "≤ 20 ms", _percentile(search, 95) <= 20),
    ]  # fmt: skip


def _time_saves(store: LocalStore, count: int, *, size: int) -> list[float]:
    durations = []
    for household in generate(count, seed=2, commune="25217"):
        if len(household.members) != 4:
            household = _with_four_members(household)
        durations.append(_timed(lambda h=household: store.save(h)))
    return durations


def _with_four_members(household: Household) -> Household:
    members = (household.members * 4)[:4]
    members = tuple(replace(m, id=f"m{i}") for i, m in enumerate(members))
    return replace(household, members=members, head_name=members[0].full_name)


def _raw_insert_per_household(path: Path, count: int, *, seed: int) -> float:
    """Plain sqlite3: the same household, member and outbox rows, one transaction, per household."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.executescript(
        """CREATE TABLE households (id TEXT PRIMARY KEY, hamlet_code TEXT, house_no TEXT, head_name TEXT, document TEXT);
           CREATE TABLE members (household_id TEXT, member_id TEXT, full_name TEXT, birth_year INT,
                                 cccd TEXT, vneid TEXT, smartphone TEXT, sim TEXT, PRIMARY KEY (household_id, member_id));
           CREATE TABLE outbox (seq INTEGER PRIMARY KEY, change_id TEXT UNIQUE, household_id TEXT, document TEXT);"""
    )
    households = [_with_four_members(h) for h in generate(count, seed=seed)]
    start = time.perf_counter()
    with conn:
        for h in households:
            doc = json.dumps(h.to_document(), ensure_ascii=False)
            conn.execute("INSERT INTO households VALUES (?, ?, ?, ?, ?)", (h.id, h.hamlet_code, h.house_no, h.head_name, doc))
            conn.executemany(
                "INSERT INTO members VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(h.id, m.id, m.full_name, m.birth_year, m.cccd, m.vneid, m.smartphone, m.sim) for m in h.members],
            )
            conn.execute("INSERT INTO outbox (change_id, household_id, document) VALUES (?, ?, ?)", (str(uuid.uuid4()), h.id, doc))
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed * 1000 / count


def _like_scan(conn: sqlite3.Connection, query: str) -> list:
    """Every word as `LIKE '%word%'` over the same folded text, same order and limit as the store's search."""
    terms = fold(query).split()
    where = " AND ".join("search_text LIKE ?" for _ in terms)
    return conn.execute(
        f"SELECT id, head_name FROM households WHERE {where} ORDER BY hamlet_code, house_no, head_name LIMIT 50",
        [f"%{t}%" for t in terms],
    ).fetchall()


def _queries(count: int, *, seed: int) -> list[str]:
    """Accent-free name queries as a surveyor types them: full names, or family + given name."""
    rng = random.Random(seed)
    queries = []
    for _ in range(count):
        parts = fold(full_name(rng)).split()
        queries.append(" ".join(parts if rng.random() < 0.5 else [parts[0], parts[-1]]))
    return queries


def _timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return (time.perf_counter() - start) * 1000


def _percentile(values: list[float], pct: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1] if len(values) > 1 else values[0]


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)
