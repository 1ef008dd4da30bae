"""Sync figures: bytes on the wire per household, and households/s over emulated rural links.

Everything goes through the product's own path: a device store, the sync
engine and its requests transport, a real `ntm-field server` process, with the
link proxy (`bench/link.py`) in between to count bytes and to emulate a link.
The baselines are measured in the same run and compress as we do, so that a
ratio says what it claims:

- format: our gzip JSON push of one household per request beside an ODK
  Collect-style XML multipart submission of the same household, gzipped too;
- batching: our pushes of 50 households per request beside that same gzipped
  ODK submission, one household per request as ODK Collect sends them;
- links: the same engine sending one household per request on the same
  kept-alive connection, through the same emulated link (delay, jitter, loss,
  and the TCP + TLS set-up round trips of each new connection).
"""

from __future__ import annotations

import gzip
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from xml.sax.saxutils import escape

from ntm_field.bench import Measure
from ntm_field.bench.households import generate
from ntm_field.bench.link import RURAL_4G, WEAK_3G, LinkProfile, LinkProxy
from ntm_field.device import device_clock, new_id
from ntm_field.domain.records import Household
from ntm_field.store import LocalStore
from ntm_field.sync.engine import Policy, Progress, SyncEngine
from ntm_field.sync.enrol import enrol_device
from ntm_field.sync.transport import Transport

ASSETS = Path(__file__).resolve().parents[2] / "assets" / "units"
FULL = {"households": 2000, "single": 500, "single_4g": 100, "single_3g": 40}
QUICK = {"households": 200, "single": 50, "single_4g": 15, "single_3g": 6}
BATCH = 50


def run(*, quick: bool, progress: Callable[[str], None]) -> list[Measure]:
    try:
        from ntm_field.server.admin import open_store
    except ImportError:
        progress("sync figures skipped: install the 'server' extra")
        return []
    from ntm_field.bench.server import _start_server

    sizes = QUICK if quick else FULL
    with tempfile.TemporaryDirectory(prefix="ntm-bench-sync-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'server.db'}"
        store = open_store(url)
        store.load_units((ASSETS / "binhphuoc-2024.csv").read_text(encoding="utf-8"))
        store.load_units("code,name,level,parent_code,expected_households\n"
                         + "".join(f"25216-{n:02d},Khu phố {n},hamlet,25216,\n" for n in range(1, 11)))  # fmt: skip
        server, base = _start_server(url)
        bench = _Bench(Path(tmp), base, store)
        try:
            progress(f"wire bytes of {sizes['households']:,} households in batches of {BATCH}…")
            measures = [*bench.wire_bytes(sizes["households"], sizes["single"])]
            for name, profile, single in (("rural 4G", RURAL_4G, sizes["single_4g"]), ("weak 3G", WEAK_3G, sizes["single_3g"])):
                progress(f"push over emulated {name} ({describe(profile)})…")
                measures.append(bench.link_rate(name, profile, sizes["households"], single))
        finally:
            server.terminate()
            server.wait(timeout=30)
            store.close()
    return measures


class _Bench:
    def __init__(self, tmp: Path, base: str, server_store):
        self.tmp, self.base, self.server_store = tmp, base, server_store
        self.devices = 0

    def device(self, households: list[Household]) -> LocalStore:
        """A new enrolled device holding `households` as pending changes."""
        self.devices += 1
        store = LocalStore.open(self.tmp / f"device-{self.devices}" / "ntm-field.db", clock=device_clock, new_id=new_id)
        code = self.server_store.create_enrol_code(
            role="surveyor", scope=["25216"], uses=1, expires_in=timedelta(hours=1), created_by="bench"
        )
        enrol_device(store, code.code, server=self.base, device_name="bench", clock=device_clock)
        store.save_many(households)
        return store

    def households(self, count: int) -> list[Household]:
        return list(generate(count, seed=1000 + self.devices, hamlets=10, commune="25216"))

    def push(self, store: LocalStore, proxy: LinkProxy, batch: int) -> tuple[float, int, int]:
        """Seconds, bytes up and bytes down of the push phase of one sync cycle through `proxy`."""
        marks: dict[str, float | int] = {}

        def on_progress(step: Progress) -> None:
            if step.phase == "pull" and "end" not in marks:
                marks.update(end=time.perf_counter(), up=proxy.bytes_up, down=proxy.bytes_down)

        policy = Policy(batch_size=batch, min_batch=batch, max_batch=batch)
        engine = SyncEngine(store, connect=lambda _, token: Transport(proxy.url, token), policy=policy)
        proxy.reset_counters()
        start = time.perf_counter()
        report = engine.run(progress=on_progress)
        if not report.ok or report.pending:
            raise RuntimeError(f"the benchmark sync did not complete: {report.counts()} {report.problem!r}")
        return marks["end"] - start, int(marks["up"]), int(marks["down"])

    def _proxy(self, profile: LinkProfile = LinkProfile()) -> LinkProxy:
        host, port = self.base.removeprefix("http://").split(":")
        return LinkProxy(host, int(port), profile=profile)

    def wire_bytes(self, count: int, single: int) -> list[Measure]:
        """Bytes up per household, one per request (format) and 50 per request (batching), beside ODK gzipped."""
        rows = []
        for batch, households in ((1, self.households(single)), (BATCH, self.households(count))):
            store = self.device(households)
            with self._proxy() as proxy:
                _, up, down = self.push(store, proxy, batch)
            store.close()
            odk = sum(len(odk_submission(h, self.base, compress=True)) for h in households) / len(households)
            rows.append((up / len(households), down / len(households), odk))
        (single_up, _, single_odk), (batch_up, batch_down, batch_odk) = rows
        odk_name = "ODK XML multipart, gzip, one per request"
        return [
            Measure("wire bytes up per household, format: one per request (gzip JSON push, HTTP included)", "B",
                    single_up, single_odk, odk_name, "—", None),
            Measure(f"wire bytes up per household, batching: {BATCH} per request (gzip JSON push, HTTP included)", "B",
                    batch_up, batch_odk, odk_name, "≤ 220 B", batch_up <= 220),
            Measure(f"wire bytes down per household, batches of {BATCH} (push answers)", "B",
                    batch_down, None, "", "—", None),
        ]  # fmt: skip

    def link_rate(self, name: str, profile: LinkProfile, count: int, single: int) -> Measure:
        with self._proxy(profile) as proxy:
            store = self.device(self.households(count))
            seconds, _, _ = self.push(store, proxy, BATCH)
            store.close()
            rate = count / seconds
            store = self.device(self.households(single))
            seconds, _, _ = self.push(store, proxy, 1)
            store.close()
            baseline = single / seconds
        target, met = ("≥ 150/s, ≥ 20×", rate >= 150 and rate / baseline >= 20) if name == "rural 4G" else ("≥ 50/s", rate >= 50)
        return Measure(f"sync push over emulated {name} ({describe(profile)}), batches of {BATCH}", "households/s",
                       rate, baseline, "one request per household, same link, kept-alive connection", target, met)  # fmt: skip


def describe(profile: LinkProfile) -> str:
    """A link in a few words: "150 ms ±30, 1 Mbit/s up, 1 % loss, TCP+TLS set-up"."""
    parts = [f"{profile.rtt * 1000:.0f} ms" + (f" ±{profile.jitter * 1000:.0f}" if profile.jitter else "")]
    if profile.up_bps:
        up = profile.up_bps / 1e6
        parts.append(f"{up:g} Mbit/s up" if up >= 1 else f"{profile.up_bps / 1000:g} kbit/s up")
    if profile.loss:
        parts.append(f"{profile.loss * 100:g} % loss")
    if profile.setup_rtts:
        parts.append({1: "TCP set-up", 2: "TCP+TLS set-up"}.get(profile.setup_rtts, f"{profile.setup_rtts} RTT set-up"))
    return ", ".join(parts)


def odk_submission(household: Household, base: str, *, compress: bool = False) -> bytes:
    """The bytes of an ODK Collect-style submission of one household: an OpenRosa POST of a
    multipart form with the XML instance (its HEAD pre-flight and Digest challenge are left
    out, which favours the baseline). Collect sends the body uncompressed; `compress` gzips it
    as our push is gzipped, with the same level, so that a comparison is of formats alone."""
    boundary = uuid.uuid4().hex
    xml = odk_instance(household).encode()
    body = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="xml_submission_file"; filename="submission.xml"\r\n'
        "Content-Type: text/xml; charset=utf-8\r\n\r\n"
    ).encode() + xml + f"\r\n--{boundary}--\r\n".encode()
    if compress:
        body = gzip.compress(body, compresslevel=6, mtime=0)
    host = base.removeprefix("http://")
    head = (
        "POST /v1/key/x/projects/1/submission?deviceID=collect%3Aab12cd34ef56 HTTP/1.1\r\n"
        f"Host: {host}\r\n"
        "User-Agent: org.odk.collect.android/v2024.3.2 okhttp/4.12.0\r\n"
        "X-OpenRosa-Version: 1.0\r\n"
        "X-OpenRosa-Accept-Content-Length: 10485760\r\n"
        "Date: Fri, 12 Apr 2024 02:31:00 GMT\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        + ("Content-Encoding: gzip\r\n" if compress else "")
        + f"Content-Length: {len(body)}\r\n"
        "Accept-Encoding: gzip\r\n"
        "Connection: Keep-Alive\r\n\r\n"
    ).encode()
    return head + body


def odk_instance(household: Household) -> str:
    """The household as an XForm instance (one repeat group per member)."""

    def el(name: str, value: object) -> str:
        text = "" if value is None else escape(str(value))
        return f"<{name}>{text}</{name}>" if text else f"<{name}/>"

    doc = household.to_document()
    members = "".join(
        "<member>"
        + el("member_id", m["id"]) + el("full_name", m["full_name"]) + el("birth_year", m["birth_year"])
        + el("presence", m["presence"]) + el("cccd", m["cccd"]) + el("vneid", m["vneid"])
        + el("smartphone", m["smartphone"]) + el("sim", m["sim"])
        + el("reasons", " ".join(f"{k}:{v}" for k, v in m["reasons"].items()))
        + el("assisted", " ".join(m["assisted"])) + el("member_note", m["note"])
        + "</member>"
        for m in doc["members"]
    )  # fmt: skip
    follow_up = doc["follow_up"] or {}
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<data xmlns:jr="http://openrosa.org/javarosa" xmlns:orx="http://openrosa.org/xforms" '
        'id="ntm_4phu_household" version="2024040101">'
        + el("hamlet_code", doc["hamlet_code"]) + el("house_no", doc["house_no"]) + el("address", doc["address"])
        + el("head_name", doc["head_name"]) + el("visit_status", doc["visit_status"])
        + el("surveyed_on", doc["surveyed_on"])
        + "<consent>" + el("given", "yes" if doc["consent"]["given"] else "no")
        + el("notice_version", doc["consent"]["notice_version"]) + "</consent>"
        + "<follow_up>" + el("due", follow_up.get("due")) + el("note", follow_up.get("note")) + "</follow_up>"
        + el("note", doc["note"]) + members
        + "<meta>" + el("instanceID", f"uuid:{doc['id']}") + el("timeStart", doc.get("updated_at"))
        + "</meta></data>"
    )  # fmt: skip
