"""Central endpoint figures: ingest over HTTP (SQLite, PostgreSQL) and the provincial coverage read."""

from __future__ import annotations

import gzip
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from ntm_field.bench import Measure, memory
from ntm_field.bench.households import generate
from ntm_field.domain.units import hamlet_code

ASSETS = Path(__file__).resolve().parents[2] / "assets" / "units"
PG_URL = os.environ.get("NTM_BENCH_POSTGRES_URL", os.environ.get("NTM_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
FULL = {"ingest": 20_000, "members": 1_000_000, "reads": 200}
QUICK = {"ingest": 1_000, "members": 20_000, "reads": 50}


def run(*, quick: bool, progress: Callable[[str], None]) -> list[Measure]:
    try:
        from ntm_field.server.admin import open_store
    except ImportError:
        progress("server figures skipped: install the 'server' extra")
        return []
    sizes = QUICK if quick else FULL
    measures = []
    with tempfile.TemporaryDirectory(prefix="ntm-bench-server-") as tmp:
        engines = [("SQLite", f"sqlite:///{Path(tmp) / 'server.db'}")]
        pg = _postgres_database()
        if pg is not None:
            engines.append(("PostgreSQL", pg[0]))
        try:
            for name, url in engines:
                progress(f"ingest of {sizes['ingest']:,} households over HTTP on {name}…")
                rate, raw = _ingest(url, sizes["ingest"], open_store)
                target = "≥ 3,000/s" if name == "SQLite" else "—"
                measures.append(Measure(f"server ingest over HTTP, batches of 50 ({name})", "households/s", rate, raw,
                                        "raw executemany", target, rate >= 3000 if name == "SQLite" else None))  # fmt: skip
            progress("a push of 120,000 repeated help codes over HTTP (SQLite)…")
            measures.append(_hostile_push(f"sqlite:///{Path(tmp) / 'hostile.db'}", open_store))
            progress(f"a province of {sizes['members']:,} members over HTTP (SQLite)…")
            measures += _province(f"sqlite:///{Path(tmp) / 'province.db'}", sizes, open_store, progress)
        finally:
            if pg is not None:
                pg[1]()
        province = _postgres_database()
        if province is not None:
            try:
                progress(f"a province of {sizes['members']:,} members over HTTP (PostgreSQL)…")
                measures += _province(province[0], sizes, open_store, progress)
            finally:
                province[1]()
    return measures


def _ingest(url: str, count: int, open_store) -> tuple[float, float]:
    store = open_store(url)
    store.load_units((ASSETS / "binhphuoc-2024.csv").read_text(encoding="utf-8"))
    hamlets = [hamlet_code("25216", n) for n in range(1, 11)]
    store.load_units("code,name,level,parent_code,expected_households\n"
                     + "".join(f"{h},Khu phố {h[-2:]},hamlet,25216,\n" for h in hamlets))  # fmt: skip
    code = store.create_enrol_code(role="surveyor", scope=["25216"], uses=1, expires_in=timedelta(days=1), created_by="bench")
    _, token = store.enrol(code.code, "bench")
    store.close()
    households = [replace(h, hamlet_code=hamlets[i % 10]) for i, h in enumerate(generate(count, seed=21))]
    bodies = [
        gzip.compress(json.dumps({"batch_id": f"b{i}", "changes": [
            {"change_id": str(uuid.uuid4()), "id": h.id, "base_rev": None, "deleted": False, "data": h.to_document()}
            for h in households[i : i + 50]]}).encode())
        for i in range(0, count, 50)
    ]  # fmt: skip
    server, base = _start_server(url)
    try:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Content-Encoding": "gzip"}
        # one keep-alive connection, as a device's session would use
        connection = http.client.HTTPConnection(base.removeprefix("http://"), timeout=120)
        start = time.perf_counter()
        for body in bodies:
            connection.request("POST", "/api/v1/sync/push", body=body, headers=headers)
            reply = connection.getresponse()
            reply.read()
            if reply.status != 200:
                raise RuntimeError(f"push answered {reply.status}")
        rate = count / (time.perf_counter() - start)
        connection.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    return rate, _raw_insert_rate(url, households)


def _raw_insert_rate(url: str, households) -> float:
    """The same household rows, one executemany in one transaction, into a table of the same database."""
    from ntm_field.server.db import open_backend

    backend = open_backend(url)
    rows = [(h.id, h.hamlet_code, i, json.dumps(h.to_document(), ensure_ascii=False)) for i, h in enumerate(households)]
    with backend.transaction() as tx:
        tx.execute("CREATE TABLE bench_raw (id TEXT PRIMARY KEY, hamlet_code TEXT, rev BIGINT, document TEXT)")
    start = time.perf_counter()
    with backend.transaction() as tx:
        tx._cursor.executemany(tx._sql("INSERT INTO bench_raw VALUES (?, ?, ?, ?)"), rows)
    elapsed = time.perf_counter() - start
    backend.close()
    return len(rows) / elapsed


def _province(url: str, sizes: dict, open_store, progress: Callable[[str], None]) -> list[Measure]:
    """A province's worth of members pushed over HTTP by many devices to a real server process; then
    the server's memory, and the coverage endpoint of the province timed over HTTP (SQLite or PostgreSQL)."""
    store = open_store(url)
    store.load_units((ASSETS / "binhphuoc-2024.csv").read_text(encoding="utf-8"))
    tree = store.tree("2024")
    communes = sorted(c for c, u in tree.units.items() if str(u.level) == "commune")
    hamlets = [hamlet_code(c, n) for c in communes for n in range(1, 9)]  # ≈ 900 hamlets, like the province
    store.load_units("code,name,level,parent_code,expected_households\n"
                     + "".join(f"{h},Ấp {h[-2:]},hamlet,{h[:5]},250\n" for h in hamlets))  # fmt: skip
    # Devices of commune teams (the contract's rate limit is per token: many devices push at once).
    tokens = []
    for commune in communes:
        code = store.create_enrol_code(role="surveyor", scope=[commune], uses=1, expires_in=timedelta(days=1), created_by="bench")
        tokens.append((commune, store.enrol(code.code, f"bench {commune}")[1]))
    _, admin_token = store.create_admin_token("bench")
    store.close()

    rng = random.Random(5)
    by_commune: dict[str, list] = {c: [] for c in communes}
    members = 0
    for household in generate(sizes["members"], seed=31):  # more than needed: stop at the member count
        if members >= sizes["members"]:
            break
        household = replace(household, hamlet_code=rng.choice(hamlets))
        by_commune[household.hamlet_code[:5]].append(household)
        members += len(household.members)
    batches = [
        (token, [h for h in by_commune[commune][i : i + 50]])
        for commune, token in tokens
        for i in range(0, len(by_commune[commune]), 50)
    ]
    rng.shuffle(batches)
    households = sum(len(b) for _, b in batches)
    progress(f"  pushing {households:,} households ({members:,} members) in {len(batches):,} batches…")
    server, base = _start_server(url)
    try:
        connection = http.client.HTTPConnection(base.removeprefix("http://"), timeout=120)
        for n, (token, batch) in enumerate(batches):
            body = gzip.compress(json.dumps({"batch_id": f"p{n}", "changes": [
                {"change_id": str(uuid.uuid4()), "id": h.id, "base_rev": None, "deleted": False, "data": h.to_document()}
                for h in batch]}).encode())  # fmt: skip
            _post(connection, "/api/v1/sync/push", body, token)
        rss, peak = memory(server.pid)
        headers = {"Authorization": f"Bearer {admin_token}"}
        reads = []
        for _ in range(sizes["reads"]):
            start = time.perf_counter()
            connection.request("GET", "/api/v1/coverage?unit=70", headers=headers)
            reply = connection.getresponse()
            figures = json.loads(reply.read())
            reads.append((time.perf_counter() - start) * 1000)
        connection.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    eligible = figures["indicators"]["cccd"]["eligible"]
    progress(f"  province read: {figures['households']['surveyed']:,} households surveyed, {eligible:,} eligible for CCCD")

    # The baseline: the same members in a plain table of the same database, counted from scratch by
    # the engine's best plan for it (a covering index on SQLite, parallel workers on PostgreSQL).
    rows = [(h.hamlet_code, m.birth_year, str(m.presence), m.cccd, m.vneid, m.smartphone, m.sim)
            for _, batch in batches for h in batch for m in h.members]  # fmt: skip
    store = open_store(url)
    postgres = url.startswith("postgres")
    try:
        _load_members(store, rows, postgres=postgres)
        base, base_name = (_parallel_group_by if postgres else _covering_group_by)(store, repeats=max(3, sizes["reads"] // 20), progress=progress)
    finally:
        store.close()
    value = statistics.median(reads)
    label = f"{members // 1000}k" if members < 1_000_000 else f"{members / 1e6:.1f}M"
    engine = "PostgreSQL" if postgres else "SQLite"
    return [
        Measure(f"provincial coverage read over HTTP, p50 ({label} members, {engine})", "ms", value, base,
                base_name, "≤ 5 ms, ≥ 30× faster", value <= 5 and base / value >= 30),
        Measure(f"server RSS after ingesting {label} members over HTTP ({engine})", "MB", rss, None, "", "≤ 300 MB", rss <= 300),
        Measure(f"server peak RSS while ingesting {label} members ({engine})", "MB", peak, None, "", "—", None),
    ]  # fmt: skip


# The eligibility rules of the coverage indicators, counted per hamlet from the members themselves.
GROUP_BY = """SELECT hamlet_code,
    sum(CASE WHEN 2024 - birth_year >= 14 AND presence IN ('resident','away') THEN 1 ELSE 0 END),
    sum(CASE WHEN 2024 - birth_year >= 14 AND presence IN ('resident','away') AND cccd = 'yes' THEN 1 ELSE 0 END),
    sum(CASE WHEN 2024 - birth_year >= 14 AND presence IN ('resident','away') AND vneid = 'level2' THEN 1 ELSE 0 END),
    sum(CASE WHEN 2024 - birth_year >= 15 AND presence IN ('resident','away') AND smartphone = 'yes' THEN 1 ELSE 0 END),
    sum(CASE WHEN 2024 - birth_year >= 18 AND presence IN ('resident','away') AND sim = 'signature' THEN 1 ELSE 0 END)
    FROM bench_members GROUP BY hamlet_code"""
MEMBER_COLUMNS = "hamlet_code, birth_year, presence, cccd, vneid, smartphone, sim"


def _load_members(store, rows: list[tuple], *, postgres: bool) -> None:
    """The members as plain rows of bench_members, with an index holding every column the baseline reads."""
    with store.backend.transaction() as tx:
        tx.execute("CREATE TABLE bench_members (hamlet_code TEXT, birth_year INT, presence TEXT, cccd TEXT, "
                   "vneid TEXT, smartphone TEXT, sim TEXT)")  # fmt: skip
        if postgres:
            with tx._cursor.copy(f"COPY bench_members ({MEMBER_COLUMNS}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            tx._cursor.executemany(tx._sql("INSERT INTO bench_members VALUES (?, ?, ?, ?, ?, ?, ?)"), rows)
        tx.execute(f"CREATE INDEX bench_members_cover ON bench_members ({MEMBER_COLUMNS})")
    with store.backend.transaction() as tx:
        tx.execute("ANALYZE bench_members")


def _covering_group_by(store, *, repeats: int, progress: Callable[[str], None]) -> tuple[float, str]:
    """Median ms of the GROUP BY on SQLite, and its name: the plan must read the covering index alone."""
    with store.backend.transaction() as tx:
        plan = " / ".join(str(row[-1]) for row in tx.all(f"EXPLAIN QUERY PLAN {GROUP_BY}"))
    progress(f"  baseline plan (SQLite): {plan}")
    name = "GROUP BY, covering index" if "COVERING INDEX bench_members_cover" in plan else "GROUP BY, table scan"
    return statistics.median(_timed_query(store, GROUP_BY) for _ in range(repeats)), name


def _parallel_group_by(store, *, repeats: int, progress: Callable[[str], None]) -> tuple[float, str]:
    """Median ms of the GROUP BY on PostgreSQL, and its name: the faster of a serial plan and a parallel one
    with a worker per core (the planner shuns workers for a small table; they are forced to be sure
    they were tried, and the serial plan kept when it wins)."""
    workers = os.cpu_count() or 2
    serial = ["SET LOCAL max_parallel_workers_per_gather = 0"]
    parallel = [f"SET LOCAL max_parallel_workers_per_gather = {workers}", "SET LOCAL parallel_setup_cost = 0",
                "SET LOCAL parallel_tuple_cost = 0", "SET LOCAL min_parallel_table_scan_size = 0",
                "SET LOCAL min_parallel_index_scan_size = 0"]  # fmt: skip
    with store.backend.transaction() as tx:
        for setting in parallel:
            tx.execute(setting)
        plan = "\n".join(row[0] for row in tx.all(f"EXPLAIN (ANALYZE, COSTS OFF) {GROUP_BY}"))
    launched = [int(line.split(":")[1]) for line in plan.splitlines() if "Workers Launched:" in line]
    if "Gather" not in plan or "Partial" not in plan or not launched or not launched[0]:
        raise RuntimeError(f"PostgreSQL did not run the GROUP BY in parallel:\n{plan}")
    progress(f"  baseline plan (PostgreSQL, parallel): {' / '.join(line.strip() for line in plan.splitlines())}")
    timings = {
        f"serial GROUP BY (PostgreSQL; {launched[0]} workers slower at this size)": [_timed_query(store, GROUP_BY, serial) for _ in range(repeats)],
        f"parallel GROUP BY (PostgreSQL, {launched[0]} workers)": [_timed_query(store, GROUP_BY, parallel) for _ in range(repeats)],
    }  # fmt: skip
    medians = {name: statistics.median(ms) for name, ms in timings.items()}
    progress("  baselines: " + ", ".join(f"{name} {ms:.1f} ms" for name, ms in medians.items()))
    name = min(medians, key=medians.__getitem__)
    return medians[name], name


def _timed_query(store, sql: str, settings: Sequence[str] = ()) -> float:
    """ms of one query alone, in a transaction of its own after `settings`."""
    with store.backend.transaction() as tx:
        for setting in settings:
            tx.execute(setting)
        start = time.perf_counter()
        tx.all(sql)
        return (time.perf_counter() - start) * 1000


def _hostile_push(url: str, open_store, *, repeats: int = 120_000, samples: int = 9) -> Measure:
    """A gzip push of a few KB whose member repeats one help code `repeats` times (issue 13: 17 s under the
    write lock with a quadratic duplicate check), p50 time to its answer, beside an ordinary push of one
    household on the same connection."""
    store = open_store(url)
    store.load_units((ASSETS / "binhphuoc-2024.csv").read_text(encoding="utf-8"))
    store.load_units("code,name,level,parent_code,expected_households\n25216-01,Khu phố 1,hamlet,25216,\n")
    code = store.create_enrol_code(role="surveyor", scope=["25216"], uses=1, expires_in=timedelta(days=1), created_by="bench")
    _, token = store.enrol(code.code, "bench")
    store.close()

    def body(household, assisted: list[str]) -> bytes:
        doc = household.to_document()
        doc["hamlet_code"], doc["members"][0]["assisted"] = "25216-01", assisted
        change = {"change_id": str(uuid.uuid4()), "id": household.id, "base_rev": None, "deleted": False, "data": doc}
        return gzip.compress(json.dumps({"batch_id": "b", "changes": [change]}).encode())

    households = list(generate(2 * samples, seed=41))
    hostile = body(households[0], ["app_guidance"] * repeats)
    server, base = _start_server(url)
    try:
        connection = http.client.HTTPConnection(base.removeprefix("http://"), timeout=120)
        ordinary = [_timed(lambda h=h: _post(connection, "/api/v1/sync/push", body(h, []), token)) for h in households[samples:]]
        timed = [_timed(lambda: _post(connection, "/api/v1/sync/push", hostile, token)) for _ in range(samples)]
        connection.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    value = statistics.median(timed)
    return Measure(f"push of {repeats // 1000}k repeated help codes ({len(hostile) / 1024:.1f} KB gzip) answered, p50",
                   "ms", value, statistics.median(ordinary), "push of one household", "≤ 1,000 ms", value <= 1000)  # fmt: skip


def _post(connection: http.client.HTTPConnection, path: str, body: bytes, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Content-Encoding": "gzip"}
    connection.request("POST", path, body=body, headers=headers)
    reply = connection.getresponse()
    reply.read()
    if reply.status != 200:
        raise RuntimeError(f"push answered {reply.status}")


def _query(store, sql: str) -> list:
    with store.backend.transaction() as tx:
        return tx.all(sql)


def _postgres_database():
    from ntm_field.server.db import DatabaseError, create_database, drop_database

    name = f"ntm_bench_{uuid.uuid4().hex[:10]}"
    try:
        url = create_database(PG_URL, name)
    except DatabaseError:  # no PostgreSQL here: the SQLite figures still stand
        return None
    return url, lambda: drop_database(PG_URL, name)


def _start_server(url: str) -> tuple[subprocess.Popen, str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    process = subprocess.Popen([sys.executable, "-m", "ntm_field", "server", "--db", url, "--port", str(port)],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"{base}/api/v1/health", timeout=1):
                return process, base
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the benchmark server did not start")


def _timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return (time.perf_counter() - start) * 1000


__all__ = ["run"]
