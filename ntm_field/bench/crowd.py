"""Many HTTP clients at once and the server processes they load, for the load bench (bench/load.py): a
server process with its workers, CPU and memory from /proc, PostgreSQL's backends sampled, and requests
tallied by kind as a phone's Transport and SyncEngine would send them (timeouts, retries, Retry-After)."""

from __future__ import annotations

import asyncio
import math
import os
import random
import resource
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx

from ntm_field.bench import memory
from ntm_field.sync.engine import Policy
from ntm_field.sync.transport import CONNECT_TIMEOUT, READ_TIMEOUT

PHONE_TIMEOUT = httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT)  # the app's Transport's
PAST = READ_TIMEOUT * 1000  # ms: a request slower than the phone's read timeout
_POLICY = Policy()  # the sync engine's retries, as the phones run them
ATTEMPTS, BACKOFF_BASE, BACKOFF_CAP, MAX_WAIT = _POLICY.attempts, _POLICY.backoff_base, _POLICY.backoff_cap, _POLICY.max_wait


# ----- a server process -----------------------------------------------------------------------


def workers_shown(workers: int) -> str:
    return f"{workers} worker{'s' if workers > 1 else ''}"


class Server:
    """`python -m ntm_field server` on a free port, in its own process group, with its worker processes."""

    def __init__(self, url: str, *, workers: int, env: dict[str, str]):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        command = [sys.executable, "-m", "ntm_field", "server", "--db", url, "--port", str(port)]
        if workers > 1:
            command += ["--workers", str(workers)]
        environment = {k: v for k, v in os.environ.items() if k != "DISPLAY"} | env
        # stderr to a file, not a pipe nobody reads while the bench runs (a full pipe would stall the server)
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed by stop())
        self.process = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL, stderr=self._stderr,
                                        start_new_session=True)  # fmt: skip
        self.base = f"http://127.0.0.1:{port}"
        self.workers = workers
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the bench server exited: {self.errors()[-1000:]}")
            try:
                with urllib.request.urlopen(f"{self.base}/api/v1/health", timeout=1):
                    if len(self.pids()) >= self.workers + (self.workers > 1):
                        return
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("the bench server did not start")

    def pids(self) -> list[int]:
        """The server's process and all its descendants (uvicorn's worker processes)."""
        parents: dict[int, int] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    parents[int(entry.name)] = int(_stat_fields(int(entry.name))[1])
                except (OSError, IndexError, ValueError):
                    continue
        found, frontier = [self.process.pid], [self.process.pid]
        while frontier:
            children = [pid for pid, parent in parents.items() if parent in frontier]
            found += children
            frontier = children
        return found

    def cpu(self) -> dict[int, float]:
        return {pid: cpu for pid in self.pids() if (cpu := cpu_seconds(pid)) is not None}

    def peak_rss(self) -> dict[int, tuple[str, float]]:
        """VmHWM of each server process, MB, with its role (supervisor, worker, or a helper process)."""
        peaks = {}
        for pid in self.pids():
            try:
                command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                peaks[pid] = (self._role(pid, command), memory(pid)[1])
            except (OSError, KeyError):
                continue
        return peaks

    def _role(self, pid: int, command: str) -> str:
        if "resource_tracker" in command:
            return "multiprocessing's resource tracker"
        if "export_xlsx" in command:
            return "an XLSX export's child process"
        if pid == self.process.pid:
            return "supervisor" if self.workers > 1 else "the server"
        return "worker"

    def errors(self) -> str:
        """What the server wrote on stderr so far."""
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait()
        self._stderr.close()


def _stat_fields(pid: int) -> list[str]:
    """/proc/PID/stat after the command name (which may hold spaces): state, ppid, …"""
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a live process (None: it is gone)."""
    try:
        fields = _stat_fields(pid)
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ----- requests, counted ----------------------------------------------------------------------


@dataclass
class Tally:
    """Requests of one kind: sent = ok + busy (503) + errors; latencies of the ok answers (ms)."""

    sent: int = 0
    ok: int = 0
    busy: int = 0
    errors: int = 0
    past: int = 0  # answered after, or cut at, the phone's 30 s
    latencies: list[float] = field(default_factory=list)
    problems: Counter = field(default_factory=Counter)

    def p(self, percent: float) -> float:
        return percentile(self.latencies, percent)


def percentile(values: list[float], percent: float) -> float:
    """The nearest-rank percentile (a value that occurred); NaN of nothing."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(percent / 100 * len(ordered)) - 1))]


class Client:
    """The bench's HTTP side: a session of one connection per simulated phone (as the app's Transport:
    `pool_maxsize=1`; one shared pool of thousands of connections costs the client a scan of them all per
    request), a shared one for enrolments; every request tallied by kind, and counted once more by the
    sessions' request hook, apart from the tallies."""

    def __init__(self, base: str):
        self.wire = 0
        self.tallies: dict[str, Tally] = {}
        self._base = base
        self._tls = ssl.create_default_context()  # one for all sessions (httpx would load one per client)
        self._sessions: list[httpx.AsyncClient] = []
        self.http = self.session(connections=64)

    def session(self, *, connections: int = 1) -> httpx.AsyncClient:
        async def count(_request: httpx.Request) -> None:
            self.wire += 1

        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        session = httpx.AsyncClient(base_url=self._base, limits=limits, timeout=PHONE_TIMEOUT, trust_env=False,
                                    verify=self._tls, event_hooks={"request": [count]})  # fmt: skip
        self._sessions.append(session)
        return session

    def tally(self, kind: str) -> Tally:
        return self.tallies.setdefault(kind, Tally())

    async def call(self, kind: str, method: str, path: str, *, token: str | None = None, via: httpx.AsyncClient | None = None,
                   timeout: httpx.Timeout = PHONE_TIMEOUT, **options) -> httpx.Response | None:  # fmt: skip
        """One request; None when it got no answer (timeout, connection lost)."""
        tally = self.tally(kind)
        headers = options.pop("headers", {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        tally.sent += 1
        start = time.perf_counter()
        try:
            reply = await (via or self.http).request(method, path, headers=headers, timeout=timeout, **options)
        except httpx.TimeoutException:
            tally.errors += 1
            tally.past += 1
            tally.problems["timeout"] += 1
            return None
        except httpx.HTTPError as error:
            tally.errors += 1
            tally.problems[type(error).__name__] += 1
            return None
        elapsed = (time.perf_counter() - start) * 1000
        tally.past += elapsed > PAST
        if 200 <= reply.status_code < 300:
            tally.ok += 1
            tally.latencies.append(elapsed)
        elif reply.status_code == 503:
            tally.busy += 1
        else:
            tally.errors += 1
            tally.problems[f"http_{reply.status_code}"] += 1
        return reply

    async def retrying(self, kind: str, method: str, path: str, *, rng: random.Random, **options) -> httpx.Response | None:
        """As the sync engine: transient answers retried up to 6 attempts, backoff with jitter ≥ Retry-After."""
        for attempt in range(ATTEMPTS):
            reply = await self.call(kind, method, path, **options)
            if reply is not None and reply.status_code not in (408, 429) and reply.status_code < 500:
                return reply
            if attempt == ATTEMPTS - 1:
                return None
            retry_after = _seconds(reply.headers.get("Retry-After")) if reply is not None else 0.0
            if retry_after > MAX_WAIT:
                return None  # the engine ends the cycle; what is queued stays queued
            ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt)
            await asyncio.sleep(max(ceiling / 2 + rng.uniform(0, ceiling / 2), retry_after))
        return None

    async def close(self, session: httpx.AsyncClient | None = None) -> None:
        """Close one session, or every session still open."""
        for open_session in [session] if session is not None else list(self._sessions):
            await open_session.aclose()
            self._sessions.remove(open_session)


def _seconds(value: str | None) -> float:
    try:
        return max(0.0, float(value or 0))
    except ValueError:
        return 0.0


async def enrol(client: Client, codes: list[str], *, parallel: int = 32) -> list[str]:
    """Tokens for `codes`, enrolled over HTTP (`parallel` at a time), in order."""
    gate = asyncio.Semaphore(parallel)

    async def one(n: int, code: str) -> str:
        async with gate:
            reply = await client.call("enrol", "POST", "/api/v1/enrol", json={"code": code, "device_name": f"bench {n}"})
        if reply is None or reply.status_code != 201:
            raise RuntimeError(f"enrolment answered {None if reply is None else reply.status_code}")
        return reply.json()["token"]

    return list(await asyncio.gather(*(one(n, code) for n, code in enumerate(codes))))


def enrol_codes(url: str, grants: list[tuple[str, list[str], int]]) -> list[str]:
    """Enrolment codes made in process as `ntm-field admin enrol-code` does: (role, scope, uses) each."""
    from ntm_field.server.admin import open_store

    store = open_store(url)
    try:
        return [store.create_enrol_code(role=role, scope=scope, uses=uses, expires_in=timedelta(days=1),
                                        created_by="bench").code for role, scope, uses in grants]  # fmt: skip
    finally:
        store.close()


def runner():
    """An asyncio runner on uvloop when it is there (the client must not be the bottleneck)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.Runner()
    return asyncio.Runner(loop_factory=uvloop.new_event_loop)


async def loop_lag(lags: list[float], stop: asyncio.Event) -> None:
    """How late the client's own event loop wakes up for a 100 ms sleep (ms): the client's share of the
    latencies when the machine is busy."""
    while not stop.is_set():
        start = time.perf_counter()
        await asyncio.sleep(0.1)
        lags.append((time.perf_counter() - start - 0.1) * 1000)


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Monitor:
    """Each second: CPU of the server's processes and of this database's PostgreSQL backends, and what
    those backends are doing (pg_stat_activity); one thread with its own connection."""

    def __init__(self, server: Server, url: str):
        self._server, self._url = server, url
        self._pool = ThreadPoolExecutor(max_workers=1)
        self._first_server: dict[int, float] = {}
        self._last_server: dict[int, float] = {}
        self._first_pg: dict[int, float] = {}
        self._last_pg: dict[int, float] = {}
        self.waits: Counter = Counter()
        self.peaks: dict[int, tuple[str, float]] = {}  # pid → (role, VmHWM MB) of every server process seen
        self._backend = None
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        if self._url.startswith("postgresql"):
            from ntm_field.server.db import open_backend

            self._backend = await loop.run_in_executor(self._pool, open_backend, self._url)
        await loop.run_in_executor(self._pool, self._sample)
        self._first_server, self._first_pg = dict(self._last_server), dict(self._last_pg)
        self._task = asyncio.create_task(self._loop())

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(1.0)
            await loop.run_in_executor(self._pool, self._sample)

    def _sample(self) -> None:
        self._last_server.update(self._server.cpu())
        self.peaks.update(self._server.peak_rss())  # a short-lived process (an export's child) is seen alive
        if self._backend is None:
            return
        with self._backend.read() as tx:
            rows = tx.all("SELECT pid, state, wait_event_type, wait_event FROM pg_stat_activity "
                          "WHERE datname = current_database() AND pid <> pg_backend_pid()")  # fmt: skip
        for pid, state, wait_type, wait in rows:
            self.waits[(state or "?", f"{wait_type}:{wait}" if wait_type else "cpu")] += 1
            cpu = cpu_seconds(pid)
            if cpu is not None:
                self._first_pg.setdefault(pid, 0.0 if self._task is not None else cpu)
                self._last_pg[pid] = cpu

    async def finish(self) -> tuple[float, float | None, Counter]:
        self._task.cancel()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._pool, self._sample)
        if self._backend is not None:
            await loop.run_in_executor(self._pool, self._backend.close)
        self._pool.shutdown()
        server = sum(cpu - self._first_server.get(pid, 0.0) for pid, cpu in self._last_server.items())
        postgres = sum(cpu - self._first_pg.get(pid, 0.0) for pid, cpu in self._last_pg.items())
        return server, (postgres if self._backend is not None else None), self.waits


__all__ = ["Client", "Monitor", "Server", "Tally", "cpu_seconds", "enrol", "enrol_codes", "loop_lag", "own_cpu",
           "percentile", "runner", "workers_shown"]  # fmt: skip
