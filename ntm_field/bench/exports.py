"""Province exports from a real server process (issue 14, item 4): CSV and XLSX time, peak RSS of the server
and of the child process that builds an XLSX, and a health + coverage probe every 200 ms during the XLSX
build against the same probe at idle.

The province (≈ 900 hamlets of Bình Phước, 1M members; quick: 20k) is written into an SQLite database
through the push code in process (`changes.push_batch`, batches of 500, one transaction each) rather than
over HTTP: the same rows, counters and revisions, minutes faster at 1M members. The exports are then
downloaded over HTTP from `python -m ntm_field server` as a browser would (gzip accepted). Baselines from
the same run: the export time beside a bare read of the same documents through a cursor; the probe
during the build beside the probe at idle.
"""

from __future__ import annotations

import gzip
import http.client
import io
import random
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from pathlib import Path

from ntm_field.bench import Measure, memory
from ntm_field.bench.households import generate
from ntm_field.bench.server import ASSETS, _start_server
from ntm_field.domain.units import hamlet_code

FULL = {"members": 1_000_000, "idle_probes": 50}
QUICK = {"members": 20_000, "idle_probes": 25}
PROBE_EVERY = 0.2  # seconds
TARGET_MB, TARGET_PROBE_MS = 300, 300


def run(*, quick: bool, progress: Callable[[str], None]) -> list[Measure]:
    try:
        from ntm_field.server.admin import open_store
    except ImportError:
        progress("export figures skipped: install the 'server' extra")
        return []
    sizes = QUICK if quick else FULL
    with tempfile.TemporaryDirectory(prefix="ntm-bench-exports-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'province.db'}"
        progress(f"exports: a province of {sizes['members']:,} members written through the push code (SQLite)…")
        members, token = _province(url, sizes["members"], open_store)
        raw_ms = _raw_read_ms(url)
        server, base = _start_server(url)
        try:
            return _measure(base, server.pid, token, members, raw_ms, sizes, progress)
        finally:
            server.terminate()
            server.wait(timeout=30)


def _province(url: str, count: int, open_store) -> tuple[int, str]:
    """Write households over ≈ 900 hamlets until `count` members; returns (members, an admin token)."""
    from ntm_field.server import changes, policy

    store = open_store(url)
    store.load_units((ASSETS / "binhphuoc-2024.csv").read_text(encoding="utf-8"))
    tree = store.tree("2024")
    communes = sorted(c for c, u in tree.units.items() if str(u.level) == "commune")
    hamlets = [hamlet_code(c, n) for c in communes for n in range(1, 9)]
    store.load_units("code,name,level,parent_code,expected_households\n"
                     + "".join(f"{h},Ấp {h[-2:]},hamlet,{h[:5]},320\n" for h in hamlets))  # fmt: skip
    tree = store.tree("2024")
    rng, members, batch = random.Random(14), 0, []

    def push() -> None:
        changes.push_batch(store, policy.COMMAND_LINE, batch, hamlets=tree, today=date(2024, 4, 12))
        batch.clear()

    for household in generate(count, seed=53):  # more households than needed: stop at the member count
        if members >= count:
            break
        household = replace(household, hamlet_code=rng.choice(hamlets))
        members += len(household.members)
        batch.append({"change_id": str(uuid.uuid4()), "id": household.id, "base_rev": None, "deleted": False,
                      "data": household.to_document()})  # fmt: skip
        if len(batch) == 500:
            push()
    if batch:
        push()
    _, token = store.create_admin_token("bench")
    store.close()
    return members, token


def _raw_read_ms(url: str) -> float:
    """The baseline: every current document of the province read through one plain cursor, nothing made."""
    import sqlite3

    start = time.perf_counter()
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        for _ in conn.execute("SELECT document FROM households WHERE deleted = 0"):
            pass
    return (time.perf_counter() - start) * 1000


def _measure(base: str, pid: int, token: str, members: int, raw_ms: float, sizes: dict,
             progress: Callable[[str], None]) -> list[Measure]:  # fmt: skip
    host = base.removeprefix("http://")
    headers = {"Authorization": f"Bearer {token}"}
    label = f"{members // 1000}k" if members < 1_000_000 else f"{members / 1e6:.1f}M"
    progress(f"  idle probe: {sizes['idle_probes']} × (health + coverage) every {PROBE_EVERY * 1000:.0f} ms…")
    idle = _Probe(host, headers)
    idle.run_for(count=sizes["idle_probes"])
    idle_p99 = _p99(idle.times)

    progress("  CSV export of the province's members…")
    csv_ms, csv_peak, csv_child, csv_bytes, csv_probe = _download(host, headers, pid, "format=csv&kind=members")
    progress(f"    {csv_bytes / 1e6:.1f} MB gzip in {csv_ms / 1000:.1f} s, server peak {csv_peak:.0f} MB")

    progress("  XLSX export of the province, probing health + coverage meanwhile…")
    xlsx_ms, xlsx_peak, child_peak, xlsx_bytes, probe = _download(host, headers, pid, "format=xlsx", keep=True)
    progress(f"    {len(xlsx_bytes) / 1e6:.1f} MB in {xlsx_ms / 1000:.1f} s, server peak {xlsx_peak:.0f} MB, "
             f"child peak {child_peak:.0f} MB, {len(probe)} probes")  # fmt: skip
    rows, equal = _check_workbook(xlsx_bytes, host, headers)
    progress(f"    the workbook opens: {rows:,} member rows; coverage sheet equal to /coverage: {equal}")
    probe_p99 = _p99(probe)
    return [
        Measure(f"province CSV export (members), {label} members", "ms", csv_ms, raw_ms,
                "bare read of the documents", "—", None),
        Measure("server peak RSS during the CSV export", "MB", csv_peak, None, "", f"≤ {TARGET_MB} MB",
                csv_peak <= TARGET_MB and csv_child <= TARGET_MB),
        Measure(f"province XLSX export (both sheets), {label} members", "ms", xlsx_ms, raw_ms,
                "bare read of the documents", "—", None),
        Measure("server peak RSS during the XLSX export", "MB", xlsx_peak, None, "", f"≤ {TARGET_MB} MB",
                xlsx_peak <= TARGET_MB),
        Measure("XLSX builder (child process) peak RSS", "MB", child_peak, None, "", f"≤ {TARGET_MB} MB",
                child_peak <= TARGET_MB),
        Measure("health + coverage probe p99 during the XLSX build", "ms", probe_p99, idle_p99,
                "same probe at idle", f"≤ {TARGET_PROBE_MS} ms", probe_p99 <= TARGET_PROBE_MS),
        Measure("health + coverage probe p99 during the CSV export", "ms", _p99(csv_probe), idle_p99,
                "same probe at idle", "—", None),
        Measure("XLSX member rows (coverage sheet = /coverage)", "rows", rows, members, "members written",
                "= members, figures equal", rows == members and equal),
    ]  # fmt: skip


class _Probe:
    """`GET /api/v1/health` then `GET /api/v1/coverage?unit=70` on one keep-alive connection, every 200 ms:
    what a dashboard or a load balancer asks while an export runs (ms for the pair)."""

    def __init__(self, host: str, headers: dict):
        self.host, self.headers, self.times = host, headers, []
        self.stop = threading.Event()

    def run_for(self, *, count: int | None = None) -> None:
        connection = http.client.HTTPConnection(self.host, timeout=120)
        try:
            while not self.times or (not self.stop.is_set() and (count is None or len(self.times) < count)):
                start = time.perf_counter()
                for path in ("/api/v1/health", "/api/v1/coverage?unit=70"):
                    connection.request("GET", path, headers=self.headers)
                    reply = connection.getresponse()
                    reply.read()
                    if reply.status != 200:
                        raise RuntimeError(f"{path} answered {reply.status}")
                elapsed = time.perf_counter() - start
                self.times.append(elapsed * 1000)
                self.stop.wait(max(0.0, PROBE_EVERY - elapsed))
        finally:
            connection.close()


class _PeakMemory:
    """Peak RSS (VmHWM) of the server process and of every child it starts, sampled every 20 ms. The
    server's own peak is reset first (`/proc/PID/clear_refs`, Linux ≥ 4.0) so it is this export's."""

    def __init__(self, pid: int):
        self.pid, self.server, self.children = pid, 0.0, 0.0
        self.stop = threading.Event()
        try:
            Path(f"/proc/{pid}/clear_refs").write_text("5")
        except OSError:
            pass  # not allowed here: the peak then includes what came before
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self.stop.is_set():
            self._once()
            self.stop.wait(0.02)
        self._once()

    def _once(self) -> None:
        try:
            self.server = max(self.server, memory(self.pid)[1])
        except (OSError, KeyError):
            return
        for child in _children(self.pid):
            try:
                self.children = max(self.children, memory(child)[1])
            except (OSError, KeyError):
                pass  # it just ended


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


def _download(host: str, headers: dict, pid: int, query: str, *, keep: bool = False):
    """(ms, server peak MB, child peak MB, bytes received or the body, probe times) of one export."""
    peak = _PeakMemory(pid)
    probe = _Probe(host, headers)
    prober = threading.Thread(target=probe.run_for, daemon=True)
    peak.thread.start()
    prober.start()
    connection = http.client.HTTPConnection(host, timeout=3600)
    body, received = io.BytesIO(), 0
    start = time.perf_counter()
    try:
        connection.request("GET", f"/api/v1/export?unit=70&{query}", headers={**headers, "Accept-Encoding": "gzip"})
        reply = connection.getresponse()
        if reply.status != 200:
            raise RuntimeError(f"the export answered {reply.status}: {reply.read()[:200]!r}")
        while chunk := reply.read(256 * 1024):
            received += len(chunk)
            if keep:
                body.write(chunk)
        elapsed = (time.perf_counter() - start) * 1000
        encoding = reply.getheader("Content-Encoding")
    finally:
        connection.close()
        probe.stop.set()
        prober.join()
        peak.stop.set()
        peak.thread.join()
    content: bytes | int = received
    if keep:
        content = gzip.decompress(body.getvalue()) if encoding == "gzip" else body.getvalue()
    return elapsed, peak.server, peak.children, content, probe.times


def _check_workbook(content: bytes, host: str, headers: dict) -> tuple[int, bool]:
    """(member rows, whether every coverage row of the province equals `/coverage?unit=70`'s figures)."""
    import json

    from ntm_field.server.export_xlsx import read_back

    connection = http.client.HTTPConnection(host, timeout=120)
    connection.request("GET", "/api/v1/coverage?unit=70", headers=headers)
    api = json.loads(connection.getresponse().read())
    connection.close()
    rows, by_code = read_back(content)
    equal = True
    for report in [api, *api.get("children", [])]:
        row = by_code.get(report["unit"]["code"])
        equal &= row is not None and row["Số hộ đã khảo sát"] == report["households"]["surveyed"]
        equal &= row is not None and row["Hộ đạt đủ 4"] == report["fully_covered_households"]
        for check, label in (("cccd", "CCCD"), ("vneid", "VNeID mức 2"), ("smartphone", "Điện thoại thông minh"),
                             ("sim", "SIM chữ ký số")):  # fmt: skip
            figure = report["indicators"][check]
            equal &= row is not None and (row[f"{label} – đạt"], row[f"{label} – trong diện"], row[f"{label} – tỷ lệ"]) == (
                figure["covered"], figure["eligible"], figure["rate"])  # fmt: skip
    return rows, bool(equal)


def _p99(values: list[float]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


__all__ = ["run"]
