"""Many devices at once against a real `ntm-field server` process on PostgreSQL (issue 14, item 5).

Two scenarios, both over HTTP only (the server is whatever `python -m ntm_field server` is when they run):

**Ingest concurrency.** 1, 8 and 64 devices push at the same moment, each with its own token (enrolled over
HTTP) and its own hamlet, gzip batches of 50 households back to back on a keep-alive connection, against a
server with 1 and then 2 worker processes; a fresh database for each run. Households/s from the first batch
sent to the last answer; p99 of the push answers. The per-token and per-address limits are raised for these
runs (one device sends hundreds of batches a minute).

**Province load.** N simulated phones (default 2,000 over the 888 hamlets of Bình Phước's 111 communes,
2–3 phones a hamlet), each enrolled over HTTP with its own token, follow the app's sync cycle
(`SyncEngine.run`): push what is pending (1–20 changes a cycle, about a fifth of them edits of households the
phone pushed before, as gzip JSON, frozen change ids), then pull from its cursor (`limit=500`,
`include=surveyor`) until `has_more` is false. Transient answers (408, 429, 5xx, timeouts, lost connections)
are retried like the engine: up to 6 attempts, exponential backoff with jitter, never sooner than
`Retry-After`; a cycle that gives up leaves its changes pending for the next cycle. The phone's read timeout
is 30 s.

Arrival pattern: every phone runs `cycles` cycles (default 3), the first at a random phase within
`window ÷ cycles` seconds and the next ones `window ÷ cycles` seconds after the previous start (or at once
when the previous cycle ran over). The app syncs every 3 minutes and right after each save; with the default
window of 180 s a phone syncs once a minute, so 2,000 phones make ≈ 33 cycles/s, 3× the steady rate of
2,000 phones on the 3-minute timer (≈ 11 cycles/s): the morning burst when every team starts at once. The
province starts empty; the tables hold what the burst pushes (≈ 60,000 households at 2,000 phones).

Meanwhile an officer's dashboard reads `/api/v1/coverage?unit=70` and `/api/v1/progress?unit=70` in a loop
(a pair, then 0.25 s), and one officer downloads the province XLSX a third of the way into the window. The
dashboard's idle figures are measured before the burst, on the same server. Server CPU comes from /proc of
the server's processes, PostgreSQL's from /proc of the backends serving this database (sampled from
`pg_stat_activity` each second), peak RSS (VmHWM) from every server process. Only the enrolment limit per
address is raised (every phone enrols from 127.0.0.1).
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import random
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import httpx

from ntm_field.bench import Measure, format_table
from ntm_field.bench.crowd import (
    Client,
    Monitor,
    Server,
    Tally,
    enrol,
    enrol_codes,
    loop_lag,
    own_cpu,
    percentile,
    runner,
    workers_shown,
)
from ntm_field.bench.households import generate
from ntm_field.bench.server import ASSETS, _postgres_database
from ntm_field.domain.units import hamlet_code

FULL = {"ingest": 25_600, "devices": 2_000, "cycles": 3, "window": 180.0}
QUICK = {"ingest": 1_600, "devices": 60, "cycles": 2, "window": 6.0}
PROVINCE = "70"
RAISED = {"NTM_REQUESTS_PER_MINUTE": "1000000", "NTM_ENROLMENTS_PER_MINUTE": "1000000"}


# ----- the bench rows -------------------------------------------------------------------------


def run(*, quick: bool, progress: Callable[[str], None]) -> list[Measure]:
    """The ingest concurrency rows and the province load rows (PostgreSQL only: skipped without it)."""
    try:
        from ntm_field.server.admin import open_store  # noqa: F401 (the server extra is needed)
    except ImportError:
        progress("load figures skipped: install the 'server' extra")
        return []
    sizes = QUICK if quick else FULL
    probe = _postgres_database()
    if probe is None:
        progress("load figures skipped: no PostgreSQL")
        return []
    probe[1]()
    # --quick is a smoke run (CI): the ingest rows at 2 workers only
    processes = (2,) if quick else (1, 2)
    return [*ingest_rows(sizes["ingest"], progress, processes=processes),
            *province_rows(sizes, workers=2, progress=progress)]  # fmt: skip


def ingest_rows(households: int, progress: Callable[[str], None], *, processes: tuple[int, ...] = (1, 2)) -> list[Measure]:
    """Households/s of 1, 8 and 64 concurrent devices with each number of server `processes`, each run on a
    fresh database."""
    runs: dict[tuple[int, int], IngestResult] = {}
    for workers in processes:
        for devices in (1, 8, 64):
            progress(f"ingest of {households:,} households by {devices} device{'s at once' if devices > 1 else ''}, {workers_shown(workers)}, PostgreSQL…")
            database = _postgres_database()
            try:
                runs[workers, devices] = ingest(database[0], devices=devices, workers=workers, households=households)
            finally:
                database[1]()
            result = runs[workers, devices]
            progress(f"  {result.rate:,.0f} households/s, p50 {result.p(50):.0f} ms, p99 {result.p(99):.0f} ms, "
                     f"{result.pushes.busy} answers 503")  # fmt: skip
    shown = {w: workers_shown(w) for w in processes}
    name = "PostgreSQL ingest, batches of 50, limits raised"
    measures = []
    for workers in processes:
        one, eight, many = runs[workers, 1], runs[workers, 8], runs[workers, 64]
        single = runs.get((1, 1)) if workers > 1 else None
        measures += [
            Measure(f"{name}: 1 device, {shown[workers]}", "households/s", one.rate, single and single.rate,
                    "1 device, 1 worker" if single else "", "—", None),
            Measure(f"{name}: 8 devices at once, {shown[workers]}", "households/s", eight.rate, one.rate,
                    "1 device, same run", "≥ 1.5×", eight.rate >= 1.5 * one.rate),
            Measure(f"{name}: 64 devices at once, {shown[workers]}", "households/s", many.rate, eight.rate,
                    "8 devices, same run", "≥ 1×", many.rate >= eight.rate),
        ]  # fmt: skip
    if {1, 2} <= set(processes):
        measures.append(Measure(f"{name}: 8 devices, {shown[2]}", "households/s", runs[2, 8].rate, runs[1, 8].rate,
                                f"8 devices, {shown[1]}", "≥ 1×", runs[2, 8].rate >= runs[1, 8].rate))  # fmt: skip
    worst = max(runs, key=lambda key: runs[key].p(99))
    p99 = runs[worst].p(99)
    measures.append(Measure(f"{name}: push p99, worst of the {len(runs)} runs ({worst[1]} devices, {workers_shown(worst[0])})",
                            "ms", p99, None, "", "≤ 2,000 ms", p99 <= 2000))  # fmt: skip
    return measures


def province_rows(sizes: dict, *, workers: int, progress: Callable[[str], None], url: str | None = None,
                  env: dict[str, str] | None = None) -> list[Measure]:  # fmt: skip
    """The province load scenario as bench rows (a fresh PostgreSQL database unless `url` is given)."""
    database = None if url else _postgres_database()
    try:
        result = province_load(url or database[0], devices=sizes["devices"], workers=workers, cycles=sizes["cycles"],
                               window=sizes["window"], env=env, progress=progress)  # fmt: skip
    finally:
        if database is not None:
            database[1]()
    return result.measures()


# ----- ingest concurrency ---------------------------------------------------------------------


@dataclass
class IngestResult:
    rate: float  # households/s
    pushes: Tally

    def p(self, percent: float) -> float:
        return self.pushes.p(percent)


def ingest(url: str, *, devices: int, workers: int, households: int) -> IngestResult:
    """`households` pushed by `devices` phones at once (own token, own hamlet, batches of 50, gzip)."""
    from ntm_field.server.admin import open_store

    hamlets = [hamlet_code("25216", n) for n in range(1, devices + 1)]
    store = open_store(url)
    store.load_units((ASSETS / "binhphuoc-2024.csv").read_text(encoding="utf-8"))
    store.load_units("code,name,level,parent_code,expected_households\n"
                     + "".join(f"{h},Khu phố {h[-3:]},hamlet,25216,\n" for h in hamlets))  # fmt: skip
    store.close()
    codes = enrol_codes(url, [("surveyor", [h], 1) for h in hamlets])
    generated = list(generate(households + devices, seed=21))
    warm = [(generated[households + d], hamlets[d]) for d in range(devices)]
    per_device = [[] for _ in range(devices)]
    for n, household in enumerate(generated[:households]):
        per_device[n // 50 % devices].append(replace(household, hamlet_code=hamlets[n // 50 % devices]))
    bodies = [[_push_body([_new_change(h) for h in mine[i : i + 50]]) for i in range(0, len(mine), 50)]
              for mine in per_device]  # fmt: skip
    warm_bodies = [_push_body([_new_change(replace(h, hamlet_code=hamlet))]) for h, hamlet in warm]
    server = Server(url, workers=workers, env=RAISED)
    try:
        with runner() as loop:
            return loop.run(_ingest(server.base, codes, warm_bodies, bodies, households))
    finally:
        server.stop()


async def _ingest(base: str, codes: list[str], warm: list[bytes], bodies: list[list[bytes]], households: int) -> IngestResult:
    client = Client(base)
    try:
        tokens = await enrol(client, codes)

        rng = random.Random(21)

        sessions = {token: client.session() for token in tokens}

        async def push(kind: str, token: str, body: bytes) -> None:
            # a 503 (admission) is waited out as the engine does: the rate counts the waits
            reply = await client.retrying(kind, "POST", "/api/v1/sync/push", rng=rng, token=token, content=body,
                                          via=sessions[token], headers=dict(GZIP_JSON))  # fmt: skip
            if reply is None or reply.status_code != 200:
                raise RuntimeError(f"push answered {None if reply is None else reply.status_code}")

        await asyncio.gather(*(push("warm-up", token, body) for token, body in zip(tokens, warm)))

        async def device(token: str, mine: list[bytes]) -> None:
            for body in mine:
                await push("push", token, body)

        start = time.perf_counter()
        await asyncio.gather(*(device(token, mine) for token, mine in zip(tokens, bodies)))
        elapsed = time.perf_counter() - start
    finally:
        await client.close()
    return IngestResult(rate=households / elapsed, pushes=client.tally("push"))


GZIP_JSON = {"Content-Type": "application/json", "Content-Encoding": "gzip"}


def _new_change(household) -> str:
    return _change(str(uuid.uuid4()), household.id, None, json.dumps(household.to_document(), ensure_ascii=False))


def _change(change_id: str, household_id: str, base_rev: int | None, document: str) -> str:
    base = "null" if base_rev is None else str(base_rev)
    return f'{{"change_id":"{change_id}","id":"{household_id}","base_rev":{base},"deleted":false,"data":{document}}}'


def _push_body(changes: list[str]) -> bytes:
    text = f'{{"batch_id":"{uuid.uuid4().hex}","changes":[{",".join(changes)}]}}'
    return gzip.compress(text.encode(), compresslevel=6, mtime=0)


# ----- province load --------------------------------------------------------------------------


@dataclass
class Phone:
    """One simulated phone: its token and hamlet, its outbox (frozen changes), its cursor, what it knows."""

    token: str
    hamlet: str
    rng: random.Random
    fresh: list[tuple[str, str]]  # (household id, document JSON) not yet surveyed
    pending: list[tuple[str, str, str, str]] = field(default_factory=list)  # (change id, household id, change, document)
    mine: dict[str, tuple[int, str]] = field(default_factory=dict)  # household id → (rev, document JSON)
    cursor: str | None = None
    seen: dict[str, int] = field(default_factory=dict)  # household id → highest rev pulled
    edits: int = 0


@dataclass
class LoadResult:
    """What a province load run measured, and what it needs for its invariants."""

    devices: int
    workers: str
    cycles: int
    window: float
    burst: float  # s, from the first planned cycle to the last phone's end
    tallies: dict[str, Tally]
    wire: int  # requests the client's transport sent (counted by its hook, apart from the tallies)
    stored: dict[str, int]  # household id → highest rev the server answered for it
    rejected: Counter  # error codes of rejected changes
    phones: list[Phone]
    pending: int  # changes still waiting on the phones at the end
    server_cpu: float
    postgres_cpu: float | None
    client_cpu: float
    peak_rss: dict[int, tuple[str, float]]  # pid → (role, MB)
    waits: Counter  # pg_stat_activity samples of this database: (state, wait_event_type:wait_event)
    export: tuple[int | None, int, float]  # status, bytes, seconds

    def requests(self, *kinds: str) -> Tally:
        total = Tally()
        for kind in kinds or tuple(self.tallies):
            tally = self.tallies.get(kind, Tally())
            total.sent += tally.sent
            total.ok += tally.ok
            total.busy += tally.busy
            total.errors += tally.errors
            total.past += tally.past
            total.latencies += tally.latencies
            total.problems += tally.problems
        return total

    def measures(self) -> list[Measure]:
        burst = self.requests("push", "pull", "coverage", "progress", "export")
        timed = self.requests("push", "pull", "coverage", "progress")  # the export is a browser's: its own row
        push, pull = self.tallies.get("push", Tally()), self.tallies.get("pull", Tally())
        cover, idle = self.tallies.get("coverage", Tally()), self.tallies.get("coverage idle", Tally())
        prog, prog_idle = self.tallies.get("progress", Tally()), self.tallies.get("progress idle", Tally())
        name = f"province load ({self.devices:,} phones × {self.cycles} cycles in {self.window:.0f} s, {self.workers})"
        status, size, seconds = self.export
        rows = [
            Measure(f"{name}: requests/s over the burst ({self.burst:.0f} s)", "requests/s", burst.sent / self.burst,
                    None, "", "—", None),
            Measure(f"{name}: push p50", "ms", push.p(50), None, "", "—", None),
            Measure(f"{name}: push p99", "ms", push.p(99), None, "", "≤ 3,000 ms", push.p(99) <= 3000),
            Measure(f"{name}: pull p50", "ms", pull.p(50), None, "", "—", None),
            Measure(f"{name}: pull p99", "ms", pull.p(99), None, "", "—", None),
            # counts as "so many of all": a row's value is never 0 (the table's ratios divide by it)
            Measure(f"{name}: requests without error, of all sent ({burst.busy:,} answered 503 and sent again "
                    f"after Retry-After; errors: {_problems(burst.problems)})", "requests", burst.sent - burst.errors,
                    burst.sent, "requests sent", "all: 0 errors", burst.errors == 0),
            Measure(f"{name}: pushes, pulls and dashboard reads answered within the phone's 30 s, of all sent",
                    "requests", timed.sent - timed.past, timed.sent, "requests sent", "all: 0 past 30 s",
                    timed.past == 0),
            Measure(f"{name}: dashboard coverage read p99 during the burst", "ms", cover.p(99), idle.p(99),
                    "idle, same server", "≤ 300 ms", cover.p(99) <= 300),
            Measure(f"{name}: dashboard progress read p99 during the burst", "ms", prog.p(99), prog_idle.p(99),
                    "idle, same server", "—", None),
            Measure(f"{name}: province XLSX during the burst (answer {status}, {size / 1e6:.1f} MB)", "s", seconds,
                    None, "", "—", None),
            Measure(f"{name}: server CPU (all processes)", "s", self.server_cpu, None, "", "—", None),
            Measure(f"{name}: bench client CPU (same machine)", "s", self.client_cpu, None, "", "—", None),
        ]  # fmt: skip
        if self.postgres_cpu is not None:
            rows.insert(-1, Measure(f"{name}: PostgreSQL CPU (backends of this database)", "s", self.postgres_cpu,
                                    None, "", "—", None))  # fmt: skip
        for pid, (role, peak) in sorted(self.peak_rss.items()):
            rows.append(Measure(f"{name}: server peak RSS, {role} (pid {pid})", "MB", peak, None, "", "—", None))
        return rows


def _problems(problems: Counter) -> str:
    return ", ".join(f"{kind} {count}" for kind, count in problems.most_common(4)) or "none"


def province_load(url: str, *, devices: int, workers: int = 2, cycles: int = 3, window: float = 180.0,
                  seed: int = 14, settle: bool = False, env: dict[str, str] | None = None,
                  progress: Callable[[str], None] = lambda _: None) -> LoadResult:  # fmt: skip
    """Run the province load scenario against a real server on `url` (migrated here; SQLite works too).
    `settle`: after the burst, every phone pulls once more (unmeasured) so that what it holds can be
    compared with the server's. `env`: NTM_* variables for the server (e.g. its admission slots)."""
    from ntm_field.server.admin import open_store

    store = open_store(url)
    store.load_units((ASSETS / "binhphuoc-2024.csv").read_text(encoding="utf-8"))
    tree = store.tree("2024")
    communes = sorted(code for code, unit in tree.units.items() if str(unit.level) == "commune")
    every = [hamlet_code(c, n) for n in range(1, 9) for c in communes]  # 888: n-th hamlets of every commune first
    hamlets = every[: max(1, min(len(every), round(devices / 2.25)))]
    store.load_units("code,name,level,parent_code,expected_households\n"
                     + "".join(f"{h},Ấp {h[-2:]},hamlet,{h[:5]},250\n" for h in hamlets))  # fmt: skip
    store.close()
    homes = [hamlets[n % len(hamlets)] for n in range(devices)]
    uses = Counter(homes)
    made = enrol_codes(url, [("surveyor", [h], uses[h]) for h in hamlets] + [("officer", [PROVINCE], 1)])
    code_of = dict(zip(hamlets, made))
    codes = [code_of[home] for home in homes] + made[-1:]  # a hamlet's phones share its code (uses = phones)
    rng = random.Random(seed)
    sizes = [[rng.randint(1, 20) for _ in range(cycles)] for _ in range(devices)]
    pool = generate(sum(map(sum, sizes)), seed=seed)
    progress(f"province load: {devices:,} phones in {len(hamlets):,} hamlets, {cycles} cycles each in {window:.0f} s, "
             f"{workers_shown(workers)}…")  # fmt: skip
    phones_fresh = [
        [(h.id, json.dumps(replace(h, hamlet_code=homes[d]).to_document(), ensure_ascii=False))
         for h in (next(pool) for _ in range(sum(sizes[d])))]
        for d in range(devices)
    ]  # fmt: skip
    server = Server(url, workers=workers, env={"NTM_ENROLMENTS_PER_MINUTE": RAISED["NTM_ENROLMENTS_PER_MINUTE"]} | (env or {}))
    try:
        with runner() as loop:
            result = loop.run(_province(server, url, codes, homes, phones_fresh, sizes, cycles=cycles,
                                          window=window, seed=seed, settle=settle, progress=progress))  # fmt: skip
    finally:
        server.stop()
    engine = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    return replace(result, workers=f"{engine}, {workers_shown(workers)}")


async def _province(server: Server, url: str, codes: list[str], homes: list[str], fresh: list[list[tuple[str, str]]],
                    sizes: list[list[int]], *, cycles: int, window: float, seed: int, settle: bool,
                    progress: Callable[[str], None]) -> LoadResult:  # fmt: skip
    client = Client(server.base)
    started = time.perf_counter()
    tokens = await enrol(client, codes)
    progress(f"  {len(tokens) - 1:,} phones and one officer enrolled over HTTP in {time.perf_counter() - started:.1f} s")
    officer = tokens.pop()
    phones = [Phone(token, home, random.Random(seed * 100_003 + n), list(mine))
              for n, (token, home, mine) in enumerate(zip(tokens, homes, fresh))]  # fmt: skip
    stored: dict[str, int] = {}
    rejected: Counter = Counter()

    # Idle figures of the dashboard first (the phones already fetched their units: the app does it once).
    await asyncio.gather(*(_units(client, phone) for phone in phones))
    for _ in range(30):
        await client.call("coverage idle", "GET", "/api/v1/coverage", token=officer, params={"unit": PROVINCE})
        await client.call("progress idle", "GET", "/api/v1/progress", token=officer, params={"unit": PROVINCE})

    monitor = Monitor(server, url)
    await monitor.start()
    client_cpu = own_cpu()
    load_before = os.getloadavg()[0]
    stop = asyncio.Event()
    t0 = time.perf_counter() + 0.5
    period = window / cycles
    dashboard = asyncio.create_task(_dashboard(client, officer, stop))
    lags: list[float] = []
    lag = asyncio.create_task(loop_lag(lags, stop))
    exporter = asyncio.create_task(_export(client, officer, t0 + window / 3))
    await asyncio.gather(*(_phone(client, phone, sizes[n], t0, phone.rng.uniform(0, period), period, stored, rejected)
                           for n, phone in enumerate(phones)))  # fmt: skip
    burst = time.perf_counter() - t0
    progress(f"  burst over in {burst:.0f} s; load average of this machine {os.getloadavg()[0]:.1f} "
             f"(at its start {load_before:.1f}): other work on it shares the 2 cores")  # fmt: skip
    stop.set()
    await dashboard
    await lag
    progress(f"  the bench client's event loop ran late by p99 {percentile(lags, 99):.0f} ms, max {max(lags, default=0):.0f} ms "
             "(a late loop reads answers late: latencies include it)")  # fmt: skip
    export = await exporter
    client_cpu = own_cpu() - client_cpu
    server_cpu, postgres_cpu, waits = await monitor.finish()
    if waits:
        seen = sum(waits.values())
        progress("  PostgreSQL backends of this database, sampled each second: "
                 + ", ".join(f"{state} {wait} {n / seen:.0%}" for (state, wait), n in waits.most_common(6)))  # fmt: skip
    peak_rss = monitor.peaks | server.peak_rss()
    tallies = {kind: replace(tally, problems=Counter(tally.problems), latencies=list(tally.latencies))
               for kind, tally in client.tallies.items()}  # fmt: skip
    for kind, tally in tallies.items():
        if tally.problems or tally.busy:
            progress(f"  {kind}: {tally.sent:,} sent, {tally.busy:,} answered 503, {_problems(tally.problems)}")
    wire = client.wire
    if settle:
        for phone in phones:
            await _cycle(client, phone, [], stored, rejected, kind="settle")
    await client.close()
    return LoadResult(devices=len(phones), workers="", cycles=cycles, window=window, burst=burst, tallies=tallies,
                      wire=wire, stored=stored, rejected=rejected, phones=phones,
                      pending=sum(len(p.pending) for p in phones), server_cpu=server_cpu, postgres_cpu=postgres_cpu,
                      client_cpu=client_cpu, peak_rss=peak_rss, waits=waits, export=export)  # fmt: skip


async def _units(client: Client, phone: Phone) -> None:
    """The app's first sync reads its units from the coverage endpoint (once per enrolment)."""
    session = client.session()
    try:
        await client.retrying("units", "GET", "/api/v1/coverage", rng=phone.rng, token=phone.token, via=session,
                              params={"unit": phone.hamlet})  # fmt: skip
    finally:
        await client.close(session)


async def _phone(client: Client, phone: Phone, sizes: list[int], t0: float, phase: float, period: float,
                 stored: dict[str, int], rejected: Counter) -> None:  # fmt: skip
    for n, size in enumerate(sizes):
        await asyncio.sleep(max(0.0, t0 + phase + n * period - time.perf_counter()))
        await _cycle(client, phone, _changes(phone, size), stored, rejected)


def _changes(phone: Phone, size: int) -> list[tuple[str, str, str, str]]:
    """`size` new changes: about a fifth of them edits of the phone's own stored households (not pending)."""
    changes = []
    waiting = {household for _, household, _, _ in phone.pending}
    editable = [h for h in phone.mine if h not in waiting]
    for _ in range(size):
        if editable and phone.rng.random() < 0.2:
            household = editable.pop(phone.rng.randrange(len(editable)))
            rev, document = phone.mine[household]
            phone.edits += 1
            data = json.loads(document)
            data["note"] = f"Ghé lại lần {phone.edits}"
            data["updated_at"] = f"2024-04-12T{10 + phone.edits % 12:02d}:00:00+07:00"
            document = json.dumps(data, ensure_ascii=False)
        elif phone.fresh:
            household, document = phone.fresh.pop()
            rev = None
        else:
            continue
        change_id = str(uuid.uuid4())
        changes.append((change_id, household, _change(change_id, household, rev, document), document))
    return changes


async def _cycle(client: Client, phone: Phone, new: list[tuple[str, str, str, str]], stored: dict[str, int], rejected: Counter,
                 *, kind: str = "") -> None:  # fmt: skip
    """One sync cycle as SyncEngine.run, on a connection of its own (the app opens a Transport per cycle)."""
    phone.pending += new
    session = client.session()
    try:
        await _push_and_pull(client, session, phone, stored, rejected, kind=kind)
    finally:
        await client.close(session)


async def _push_and_pull(client: Client, session: httpx.AsyncClient, phone: Phone, stored: dict[str, int],
                         rejected: Counter, *, kind: str) -> None:  # fmt: skip
    """Push the outbox in batches of 50, then pull until has_more is false."""
    while phone.pending:
        batch = phone.pending[:50]
        reply = await client.retrying(kind or "push", "POST", "/api/v1/sync/push", rng=phone.rng, token=phone.token, via=session,
                                      content=_push_body([text for _, _, text, _ in batch]), headers=dict(GZIP_JSON))  # fmt: skip
        if reply is None or reply.status_code != 200:
            return  # the cycle gives up; the changes stay pending for the next one
        for (_, household, _, document), result in zip(batch, reply.json()["results"], strict=True):
            if result["status"] == "rejected":
                rejected[result["error"]["code"]] += 1
            else:
                stored[household] = max(result["rev"], stored.get(household, 0))
                phone.mine[household] = (result["rev"], document)
        del phone.pending[: len(batch)]
    while True:
        params = {"limit": 500, "include": "surveyor"} | ({"cursor": phone.cursor} if phone.cursor else {})
        reply = await client.retrying(kind or "pull", "GET", "/api/v1/sync/pull", rng=phone.rng, token=phone.token,
                                      via=session, params=params)  # fmt: skip
        if reply is None or reply.status_code != 200:
            return
        page = reply.json()
        for change in page["changes"]:
            phone.seen[change["id"]] = max(change["rev"], phone.seen.get(change["id"], 0))
        previous, phone.cursor = phone.cursor, page["cursor"]
        if not page["has_more"] or page["cursor"] == previous:
            return


async def _dashboard(client: Client, officer: str, stop: asyncio.Event) -> None:
    """An officer's dashboard on the province: coverage, progress, a quarter of a second, again."""
    session = client.session()
    while not stop.is_set():
        await client.call("coverage", "GET", "/api/v1/coverage", token=officer, via=session, params={"unit": PROVINCE})
        await client.call("progress", "GET", "/api/v1/progress", token=officer, via=session, params={"unit": PROVINCE})
        try:
            await asyncio.wait_for(stop.wait(), 0.25)
        except TimeoutError:
            pass


async def _export(client: Client, officer: str, at: float) -> tuple[int | None, int, float]:
    """One officer downloads the province XLSX (a browser waits minutes, not the phone's 30 s)."""
    await asyncio.sleep(max(0.0, at - time.perf_counter()))
    start = time.perf_counter()
    reply = await client.call("export", "GET", "/api/v1/export", token=officer, via=client.session(),
                              timeout=httpx.Timeout(600.0),
                              params={"unit": PROVINCE, "format": "xlsx"})  # fmt: skip
    seconds = time.perf_counter() - start
    return (None, 0, seconds) if reply is None else (reply.status_code, len(reply.content), seconds)


# ----- python -m ntm_field.bench.load ---------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ntm_field.bench.load", description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=FULL["devices"], help="simulated phones (default 2,000)")
    parser.add_argument("--workers", type=int, default=2, help="server processes (default 2)")
    parser.add_argument("--cycles", type=int, default=FULL["cycles"], help="sync cycles per phone (default 3)")
    parser.add_argument("--window", type=float, default=FULL["window"], help="seconds the cycles spread over (default 180)")
    parser.add_argument("--ingest", type=int, default=0, metavar="N",
                        help="also the ingest concurrency rows with N households a run (default: not run)")  # fmt: skip
    parser.add_argument("--db", help="a database URL to use (default: a fresh PostgreSQL database, dropped after)")
    parser.add_argument("--env", action="append", default=[], metavar="NTM_NAME=VALUE",
                        help="a setting for the province load's server, e.g. NTM_SYNC_SLOTS=8 (repeatable)")  # fmt: skip
    args = parser.parse_args(argv)

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    sizes = {"devices": args.devices, "cycles": args.cycles, "window": args.window}
    measures = ingest_rows(args.ingest, progress) if args.ingest else []
    env = dict(item.split("=", 1) for item in args.env)
    measures += province_rows(sizes, workers=args.workers, progress=progress, url=args.db, env=env)
    print(format_table(measures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["LoadResult", "Tally", "ingest", "ingest_rows", "province_load", "province_rows", "run"]
