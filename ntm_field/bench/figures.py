"""Figures at a province's size in a national-size table: `GET /api/v1/progress?unit=70` at 1M members (the
per-day counters) against the way it was computed before (every household read and counted), and the
province's coverage read before and after 80,000 other hamlets join the tables (a national database).

The province is written through the product's own write path (`changes.push_batch`, in process: the HTTP
ingest has rows of its own), its households spread over 60 survey days; the reads go over HTTP to a real
server process.
"""

from __future__ import annotations

import http.client
import json
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from ntm_field.bench import Measure
from ntm_field.bench.households import generate
from ntm_field.bench.server import ASSETS, _postgres_database, _start_server
from ntm_field.domain.codes import Check
from ntm_field.domain.indicators import Tally, tally_household
from ntm_field.domain.records import Household
from ntm_field.domain.units import hamlet_code

FULL = {"members": 1_000_000, "reads": 60, "others": 80_000}
QUICK = {"members": 5_000, "reads": 10, "others": 10_000}
DAYS = 60


def run(*, quick: bool, progress: Callable[[str], None]) -> list[Measure]:
    try:
        from ntm_field.server.admin import open_store
    except ImportError:
        progress("national-size figures skipped: install the 'server' extra")
        return []
    sizes = QUICK if quick else FULL
    measures = []
    with tempfile.TemporaryDirectory(prefix="ntm-bench-figures-") as tmp:
        engines = [("SQLite", f"sqlite:///{Path(tmp) / 'national.db'}")]
        pg = _postgres_database()
        if pg is not None:
            engines.append(("PostgreSQL", pg[0]))
        try:
            for name, url in engines:
                measures += _figures(name, url, sizes, open_store, progress)
        finally:
            if pg is not None:
                pg[1]()
    return measures


def _figures(engine: str, url: str, sizes: dict, open_store, progress: Callable[[str], None]) -> list[Measure]:
    from ntm_field.server.changes import push_batch
    from ntm_field.server.store import Device

    store = open_store(url)
    store.load_units((ASSETS / "binhphuoc-2024.csv").read_text(encoding="utf-8"))
    communes = sorted(c for c, u in store.tree("2024").units.items() if str(u.level) == "commune")
    hamlets = [hamlet_code(c, n) for c in communes for n in range(1, 9)]
    store.load_units("code,name,level,parent_code,expected_households\n"
                     + "".join(f"{h},Ấp {h[-2:]},hamlet,{h[:5]},250\n" for h in hamlets))  # fmt: skip
    _, token = store.create_admin_token("bench")
    writer = Device(id="bench-writer", name="bench", role="surveyor", scope=("70",))
    tree = store.tree("2024")
    progress(f"  {engine}: writing a province of {sizes['members']:,} members through push_batch…")
    members, batch, n = 0, [], 0
    first_day = date(2024, 3, 1)
    for household in generate(sizes["members"], seed=41, hamlets=len(hamlets)):
        if members >= sizes["members"]:
            break
        household = replace(household, hamlet_code=hamlets[n % len(hamlets)], surveyed_on=first_day + timedelta(days=n % DAYS))
        n += 1
        members += len(household.members)
        batch.append({"change_id": f"f-{household.id}", "id": household.id, "base_rev": None, "deleted": False,
                      "data": household.to_document()})  # fmt: skip
        if len(batch) == 500:
            push_batch(store, writer, batch, hamlets=tree, today=date(2024, 6, 1))
            batch = []
    if batch:
        push_batch(store, writer, batch, hamlets=tree, today=date(2024, 6, 1))
    label = f"{members // 1000}k" if members < 1_000_000 else f"{members / 1e6:.1f}M"

    # the baseline: the series as computed before the day counters (every household read and counted)
    started = time.perf_counter()
    brute = _brute_force_progress(store, hamlets)
    brute_ms = (time.perf_counter() - started) * 1000
    store.close()

    server, base = _start_server(url)
    try:
        series = _get(base, "/api/v1/progress?unit=70", token)
        if series["days"] != brute:
            raise RuntimeError("the progress series differs from a brute-force count")
        progress_ms = _median_ms(base, "/api/v1/progress?unit=70", token, sizes["reads"])
        coverage_alone = _median_ms(base, "/api/v1/coverage?unit=70", token, sizes["reads"] * 3)
        progress(f"  {engine}: adding {sizes['others']:,} other hamlets to the units and counters…")
        _add_other_hamlets(open_store(url), sizes["others"])
        coverage_national = _median_ms(base, "/api/v1/coverage?unit=70", token, sizes["reads"] * 3)
        progress_national = _median_ms(base, "/api/v1/progress?unit=70", token, sizes["reads"])
    finally:
        server.terminate()
        server.wait(timeout=30)
    return [
        Measure(f"GET /progress?unit=70 over HTTP, p50 ({label} members, {engine})", "ms", progress_ms, brute_ms,
                "every household read and counted (before)", "≤ 50 ms", progress_ms <= 50),
        Measure(f"GET /progress?unit=70 with {sizes['others'] // 1000}k other hamlets, p50 ({engine})", "ms",
                progress_national, progress_ms, "the province alone", "≤ 50 ms", progress_national <= 50),
        Measure(f"province coverage with {sizes['others'] // 1000}k other hamlets in the tables, p50 ({engine})", "ms",
                coverage_national, coverage_alone, "the province alone", "≤ 5 ms", coverage_national <= 5),
    ]  # fmt: skip


def _brute_force_progress(store, hamlets: list[str]) -> list[dict]:
    with store.backend.read() as tx:
        marks = ", ".join("?" * len(hamlets))
        rows = tx.all(f"SELECT document FROM households WHERE deleted = 0 AND hamlet_code IN ({marks})", hamlets)
    return progress_by_brute_force((Household.from_document(json.loads(document)) for (document,) in rows), hamlets)


def progress_by_brute_force(households: Iterable[Household], hamlets: list[str]) -> list[dict]:
    """The progress series as it was computed before the day counters: every household of the hamlets
    counted with the domain's indicator function (the baseline here, the oracle of the tests)."""
    wanted = set(hamlets)
    by_day: dict[date, Tally] = {}
    for household in households:
        if household.hamlet_code in wanted:
            by_day[household.surveyed_on] = by_day.get(household.surveyed_on, Tally.zero()) + tally_household(household)
    days, running = [], Tally.zero()
    for day in sorted(by_day):
        running = running + by_day[day]
        entry: dict = {"date": day.isoformat(), "surveyed": running.surveyed}
        for check in Check:
            figure = running.figure(check)
            entry[check.value] = {"covered": figure.covered, "eligible": figure.eligible}
        days.append(entry)
    return days


def _add_other_hamlets(store, count: int) -> None:
    """`count` hamlets of other provinces in the units, counters, day counters and clocks (as a national
    database holds them), then a new units version so that servers read the units again."""
    from ntm_field.server.store import COUNTER_COLUMNS, DAY_COLUMNS

    now = datetime.now(timezone.utc).isoformat()
    with store.backend.transaction() as tx:
        commune_rows = [("2024", f"9{n:04d}", f"Xã {n}", "commune", None, None) for n in range(count // 10)]
        hamlet_rows = [("2024", f"9{n // 10:04d}-{n % 10 + 1:02d}", f"Thôn {n}", "hamlet", f"9{n // 10:04d}", 200) for n in range(count)]
        tx._cursor.executemany(tx._sql("INSERT INTO units (structure, code, name, level, parent_code, expected_households) "
                                       "VALUES (?, ?, ?, ?, ?, ?)"), commune_rows + hamlet_rows)  # fmt: skip
        columns = ", ".join(("hamlet_code", *COUNTER_COLUMNS))
        marks = ", ".join("?" * (1 + len(COUNTER_COLUMNS)))
        counts = [(row[1], *([7] * len(COUNTER_COLUMNS))) for row in hamlet_rows]
        tx._cursor.executemany(tx._sql(f"INSERT INTO hamlet_counters ({columns}) VALUES ({marks})"), counts)
        day_columns = ", ".join(("hamlet_code", *DAY_COLUMNS))
        tx._cursor.executemany(tx._sql(f"INSERT INTO hamlet_day_counters (day, {day_columns}) VALUES (?, {', '.join('?' * (1 + len(DAY_COLUMNS)))})"),
                               [("2024-04-12", row[1], *([7] * len(DAY_COLUMNS))) for row in hamlet_rows])  # fmt: skip
        tx._cursor.executemany(tx._sql("INSERT INTO hamlet_clocks (hamlet_code, rev) VALUES (?, 1)"), [(r[1],) for r in hamlet_rows])
        tx.execute("UPDATE units_version SET seq = seq + 1 WHERE id = 1")
        store._audit(tx, "bench", "units.load", None, {"units": len(hamlet_rows), "at": now})
    with store.backend.transaction() as tx:
        tx.execute("ANALYZE")
    store.close()


def _get(base: str, path: str, token: str, connection: http.client.HTTPConnection | None = None) -> dict:
    own = connection is None
    connection = connection or http.client.HTTPConnection(base.removeprefix("http://"), timeout=120)
    try:
        connection.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        reply = connection.getresponse()
        body = reply.read()
        if reply.status != 200:
            raise RuntimeError(f"{path} answered {reply.status}")
        return json.loads(body)
    finally:
        if own:
            connection.close()


def _median_ms(base: str, path: str, token: str, repeats: int) -> float:
    """p50 of `repeats` reads on one kept-alive connection (as a dashboard's session), after one to warm."""
    connection = http.client.HTTPConnection(base.removeprefix("http://"), timeout=120)
    try:
        _get(base, path, token, connection)
        timings = []
        for _ in range(repeats):
            started = time.perf_counter()
            _get(base, path, token, connection)
            timings.append((time.perf_counter() - started) * 1000)
    finally:
        connection.close()
    return statistics.median(timings)
