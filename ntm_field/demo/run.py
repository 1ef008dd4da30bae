"""`ntm-field demo`: the central endpoint with a generated province, two enrolled devices and their
field apps, on this machine only (127.0.0.1), started with one command and stopped with Ctrl-C.

Every process is the product's own command line: the endpoint is `ntm-field server` on an
embedded SQLite file, and each device's app is `ntm-field app --web` on its own store. The
demo process seeds the database before the endpoint starts, enrols the two devices over HTTP
with the product's enrolment, syncs them once, prints the addresses and the officer's token,
then waits. Each child runs in its own process group, so stopping the demo stops everything
they started too.

Every run starts afresh: the data directory is wiped (only when it is empty or holds an
earlier demo) and seeded again, which takes a few seconds.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from ntm_field.demo.province import FOCUS_COMMUNE, generate_province
from ntm_field.demo.seed import SeedError, SeedReport, UnitFiles, enrol, seed_province
from ntm_field.device import device_clock, open_device_store
from ntm_field.server.db import open_backend
from ntm_field.server.store import ServerStore
from ntm_field.sync.enrol import enrol_device
from ntm_field.sync.engine import SyncEngine
from ntm_field.sync.errors import SyncError

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "assets" / "units"
MARKER = "demo.json"
SURVEYOR_SCOPE = f"{FOCUS_COMMUNE}-01"
PROVINCE = "70"
START_TIMEOUT = 60.0


class DemoError(Exception):
    """The demo cannot start (one-line message for the terminal)."""


@dataclass(frozen=True, slots=True)
class Addresses:
    api: str
    surveyor_app: str
    leader_app: str


def run(*, port: int = 8080, data_dir: Path = Path("demo-data"), seed: int = 2024,
        out: Callable[[str], None] = lambda line: print(line, flush=True)) -> int:  # fmt: skip
    """Start everything, print the block of addresses, and wait until Ctrl-C or SIGTERM (exit 0)."""
    started = time.perf_counter()
    ports = (port, port + 1, port + 2)
    for taken in (p for p in ports if not _port_free(p)):
        raise DemoError(f"port {taken} is in use (the demo uses {port}–{port + 2}; choose another with --port)")
    try:
        data_dir = _fresh_dir(data_dir)
    except OSError as error:
        raise DemoError(f"{error.filename or data_dir}: {error.strerror}") from None
    addresses = Addresses(*(f"http://127.0.0.1:{p}" for p in ports))
    children: list[_Child] = []
    stopping = _StopSignal()
    try:
        out(f"ntm-field demo: dữ liệu / data in {data_dir}")
        report, officer_token, codes = _prepare_database(data_dir, seed, addresses.api, out)
        _start(children, ["server", "--db", _db_url(data_dir), "--port", str(port)], data_dir, "server",
               {"NTM_PUBLIC_URL": addresses.api})  # fmt: skip
        _wait_until_up(f"{addresses.api}/api/v1/health", children[-1].process, "central endpoint")
        for role, code in codes.items():
            _enrol_and_sync(data_dir / role, addresses.api, code, role, out)
        for role, (app_port, url) in {"surveyor": (ports[1], addresses.surveyor_app),
                                      "leader": (ports[2], addresses.leader_app)}.items():  # fmt: skip
            _start(children, ["app", "--web", "--port", str(app_port), "--data", str(data_dir / role)], data_dir, role)
            _wait_until_up(f"{url}/", children[-1].process, f"{role} app")
        out(_banner(addresses, officer_token, report, time.perf_counter() - started))
        crashed = _wait_for_a_crash(children)
        raise DemoError(f"the {crashed} stopped unexpectedly; see {data_dir / 'logs' / crashed}.log")
    except _Stopped:
        out("ntm-field demo: đang dừng / stopping…")
        return 0
    except SeedError as error:
        raise DemoError(f"seeding failed: {error}") from None
    except SyncError as error:
        raise DemoError(f"a demo device could not enrol or sync: {type(error).__name__} {error}") from None
    except OSError as error:
        raise DemoError(f"{error.filename or data_dir}: {error.strerror}") from None
    finally:
        stopping.hold()  # a second Ctrl-C must not cut the clean-up short
        _stop(children)
        stopping.restore()


# ----- data ----------------------------------------------------------------------------------


def _fresh_dir(data_dir: Path) -> Path:
    """The data directory, emptied: refused when it holds anything but an earlier demo."""
    data_dir = data_dir.resolve()
    if data_dir.exists():
        if not data_dir.is_dir():
            raise DemoError(f"{data_dir} is not a directory")
        marker = data_dir / MARKER
        if any(data_dir.iterdir()) and not marker.exists():
            raise DemoError(f"{data_dir} is not empty and holds no earlier demo: choose another --data")
        running = _running_demo(marker)
        if running is not None:
            raise DemoError(f"a demo is still running on {data_dir} (process {running}): stop it first")
        shutil.rmtree(data_dir)
    (data_dir / "logs").mkdir(parents=True)
    # marked at once: a demo stopped while seeding leaves a directory the next run may wipe
    _write_marker(data_dir, {})
    return data_dir


def _write_marker(data_dir: Path, facts: dict) -> None:
    text = json.dumps({"pid": os.getpid(), **facts}, indent=2)
    (data_dir / MARKER).write_text(text + "\n", encoding="utf-8")


def _running_demo(marker: Path) -> int | None:
    """The process id of a demo still running on this directory, if any."""
    try:
        pid = int(json.loads(marker.read_text(encoding="utf-8"))["pid"])
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return pid if pid != os.getpid() and b"demo" in cmdline else None


def _db_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'server.db'}"


def _prepare_database(data_dir: Path, seed: int, api: str, out: Callable[[str], None]):
    """Seed the province; create the officer's token and the two devices' codes. Returns
    (seed report, officer token, {role: enrolment code})."""
    store = ServerStore(open_backend(_db_url(data_dir)), clock=lambda: datetime.now(timezone.utc),
                        new_id=lambda: str(uuid.uuid4()))  # fmt: skip
    try:
        store.migrate()
        files = UnitFiles(*(
            (UNITS / name).read_text(encoding="utf-8-sig")
            for name in ("binhphuoc-2024.csv", "dongnai-2025-binhphuoc.csv", "binhphuoc-2025-mapping.csv")
        ))  # fmt: skip
        out(f"ntm-field demo: tạo tỉnh mẫu / generating the demo province (seed {seed})…")
        province = generate_province(files.units_2024, seed=seed, today=store.clock().date())
        report = seed_province(store, province, files, progress=lambda line: out(f"  {line}"))
        out(f"  seeded in {report.seconds:.1f} s: {report.households} households, {report.members} members")
        _, officer_token = enrol(store, "officer", [PROVINCE], "Cán bộ tỉnh (demo)")
        codes = {
            role: store.create_enrol_code(
                role=role, scope=[scope], uses=1, expires_in=timedelta(hours=1), created_by="demo"
            ).code
            for role, scope in (("surveyor", SURVEYOR_SCOPE), ("leader", FOCUS_COMMUNE))
        }
    finally:
        store.close()
    _write_marker(data_dir, {"seed": seed, "api": api, "households": report.households, "members": report.members,
                             "conflicts": report.conflicts, "seed_seconds": round(report.seconds, 2)})  # fmt: skip
    return report, officer_token, codes


def _enrol_and_sync(store_dir: Path, api: str, code: str, role: str, out: Callable[[str], None]) -> None:
    """Enrol a device store over HTTP with the product's enrolment, then run one sync cycle."""
    names = {"surveyor": "Máy tổ viên (demo)", "leader": "Máy tổ trưởng (demo)"}
    store = open_device_store(store_dir)
    try:
        granted = enrol_device(store, code, server=api, device_name=names[role], clock=device_clock)
        sync = SyncEngine(store).run()
    finally:
        store.close()
    if sync.problem is not None:
        raise DemoError(f"the {role} device could not sync: {sync.problem}")
    out(f"  {role} device enrolled for {', '.join(granted.scope)}: {sync.pulled} households pulled")


# ----- processes -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Child:
    name: str
    process: subprocess.Popen


def _start(
    children: list[_Child], args: list[str], data_dir: Path, name: str, extra_env: dict[str, str] | None = None
) -> None:
    """Start `python -m ntm_field ARGS…` in its own process group, logging to logs/NAME.log."""
    # No DISPLAY: Flet then serves without trying to open a window or a browser.
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"} | (extra_env or {})
    log = open(data_dir / "logs" / f"{name}.log", "ab")
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "ntm_field", *args], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    finally:
        log.close()
    children.append(_Child(name, process))


def _wait_until_up(url: str, process: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise DemoError(f"the {what} exited with status {process.returncode} before answering")
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                if reply.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise DemoError(f"the {what} did not answer {url} within {START_TIMEOUT:.0f} s")


def _stop(children: list[_Child]) -> None:
    """SIGTERM each child's process group, then SIGKILL what is still there after 10 s."""
    for child in children:
        _signal_group(child.process, signal.SIGTERM)
    deadline = time.monotonic() + 10
    for process in (child.process for child in children):
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        # the group may hold grandchildren even after the child itself exited
        _signal_group(process, signal.SIGKILL)
        process.wait()


def _signal_group(process: subprocess.Popen, sig: signal.Signals) -> None:
    try:
        os.killpg(process.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _wait_for_a_crash(children: list[_Child]) -> str:
    """Block until a child exits (returns its name); Ctrl-C or SIGTERM interrupt it first."""
    while True:
        for child in children:
            if child.process.poll() is not None:
                return child.name
        time.sleep(0.5)


class _Stopped(BaseException):
    """Ctrl-C or SIGTERM: stop everything and exit 0."""


class _StopSignal:
    """Turns SIGTERM and Ctrl-C into one orderly stop, wherever the demo is."""

    def __init__(self) -> None:
        self._previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
        for sig in self._previous:
            signal.signal(sig, self._raise)

    @staticmethod
    def _raise(*_: object) -> None:
        raise _Stopped

    def hold(self) -> None:
        for sig in self._previous:
            signal.signal(sig, signal.SIG_IGN)

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


# ----- the printed block -------------------------------------------------------------------


def _banner(addresses: Addresses, officer_token: str, report: SeedReport, seconds: float) -> str:
    rows = [
        ("Bảng điều khiển cán bộ / Officer dashboard", f"{addresses.api}/"),
        ("API: tình trạng / health", f"{addresses.api}/api/v1/health"),
        ("API: đặc tả / OpenAPI document", f"{addresses.api}/openapi.json"),
        (f"Ứng dụng tổ viên / Surveyor app ({SURVEYOR_SCOPE})", f"{addresses.surveyor_app}/"),
        (f"Ứng dụng tổ trưởng / Leader app ({FOCUS_COMMUNE})", f"{addresses.leader_app}/"),
        (f"Mã truy cập cán bộ tỉnh / Officer token ({PROVINCE})", officer_token),
    ]
    width = max(len(label) for label, _ in rows) + 2
    lines = [
        "",
        f"== ntm-field demo: sẵn sàng / ready in {seconds:.1f} s ==",
        f"   {report.households} hộ / households, {report.members} thành viên / members, {report.hamlets} "
        f"thôn-ấp / hamlets, {report.conflicts} xung đột / open conflicts",
        *(f"   {label + ':':<{width}}{value}" for label, value in rows),
        "   Dừng / Stop: Ctrl+C",
        "",
    ]
    return "\n".join(lines)
