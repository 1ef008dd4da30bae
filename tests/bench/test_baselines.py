"""The bench's baselines are what their names say: the plan each engine runs, the bytes each format sends."""

from __future__ import annotations

import gzip
import random
import re
from collections import Counter

from ntm_field.bench.households import generate
from ntm_field.bench.server import (
    GROUP_BY,
    _covering_group_by,
    _load_members,
    _parallel_group_by,
)
from ntm_field.bench.sync import odk_instance, odk_submission
from tests.server.conftest import ENGINES


def members(count: int) -> list[tuple]:
    rng = random.Random(3)
    hamlets = [f"25216-{n:02d}" for n in range(1, 9)]
    rows = []
    for household in generate(count, seed=7):
        hamlet = rng.choice(hamlets)
        rows += [(hamlet, m.birth_year, str(m.presence), m.cccd, m.vneid, m.smartphone, m.sim) for m in household.members]
    return rows


def brute_force(rows: list[tuple]) -> dict[str, tuple[int, ...]]:
    counts: dict[str, Counter] = {}
    for hamlet, birth_year, presence, cccd, vneid, smartphone, sim in rows:
        age, here = 2024 - birth_year, presence in ("resident", "away")
        tally = counts.setdefault(hamlet, Counter())
        tally["eligible"] += here and age >= 14
        tally["cccd"] += here and age >= 14 and cccd == "yes"
        tally["vneid"] += here and age >= 14 and vneid == "level2"
        tally["smartphone"] += here and age >= 15 and smartphone == "yes"
        tally["sim"] += here and age >= 18 and sim == "signature"
    return {h: tuple(t[k] for k in ("eligible", "cccd", "vneid", "smartphone", "sim")) for h, t in counts.items()}


@ENGINES
def test_group_by_baseline_runs_the_engines_best_plan_and_counts_right(database_url):
    from ntm_field.server.admin import open_store

    rows = members(600)
    store = open_store(database_url)
    lines: list[str] = []
    try:
        _load_members(store, rows, postgres=database_url.startswith("postgres"))
        with store.backend.transaction() as tx:
            counted = {hamlet: tuple(int(v) for v in values) for hamlet, *values in tx.all(GROUP_BY)}
        if database_url.startswith("postgres"):
            ms, name = _parallel_group_by(store, repeats=3, progress=lines.append)
            launched = re.search(r"Gather .*Workers Launched: ([1-9][0-9]*)", lines[0])
            assert launched is not None and "Partial" in lines[0], lines
            workers = launched[1]
            assert name in (f"parallel GROUP BY (PostgreSQL, {workers} workers)",
                            f"serial GROUP BY (PostgreSQL; {workers} workers slower at this size)")
        else:
            ms, name = _covering_group_by(store, repeats=3, progress=lines.append)
            assert lines == ["  baseline plan (SQLite): SCAN bench_members USING COVERING INDEX bench_members_cover"]
            assert name == "GROUP BY, covering index"
    finally:
        store.close()
    assert counted == brute_force(rows)
    assert ms > 0


def test_odk_submission_gzipped_is_the_same_submission_compressed():
    household = next(iter(generate(1, seed=5)))
    plain, packed = odk_submission(household, "http://127.0.0.1:9"), odk_submission(household, "http://127.0.0.1:9", compress=True)
    head, body = packed.split(b"\r\n\r\n", 1)
    assert b"Content-Encoding: gzip" in head and b"Content-Encoding" not in plain.split(b"\r\n\r\n", 1)[0]
    assert f"Content-Length: {len(body)}".encode() in head
    assert odk_instance(household).encode() in gzip.decompress(body)
    assert len(packed) < len(plain)
