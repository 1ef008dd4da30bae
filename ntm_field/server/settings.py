"""The central endpoint's settings, read once from the environment (`NTM_*`, documented in docs/server.md),
and the test-only hooks kept apart from them."""

from __future__ import annotations

import ipaddress
import os
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8080
DEFAULT_PUBLIC_URL = f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"


class SettingsError(ValueError):
    """An NTM_* variable holds a value the server cannot use (the message names it)."""


def database_url(given: str | None, environ: Mapping[str, str] = os.environ) -> str:
    """--db, else NTM_DATABASE_URL, else an SQLite file in NTM_DATA_DIR (default ./data)."""
    url = given or environ.get("NTM_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{Path(environ.get('NTM_DATA_DIR', 'data')) / 'server.db'}"


def public_url(given: str | None, environ: Mapping[str, str] = os.environ) -> str:
    """The base of the links the command line prints: --url, else NTM_PUBLIC_URL, else the default address."""
    return given or environ.get("NTM_PUBLIC_URL") or DEFAULT_PUBLIC_URL


@dataclass(frozen=True)
class Settings:
    """Typed settings of the central endpoint; `from_env` reads the NTM_* variables."""

    database_url: str
    public_url: str = DEFAULT_PUBLIC_URL  # the base of enrolment links
    requests_per_minute: int = 600  # per token; the contract asks for at least 120
    enrolments_per_minute: int = 30  # per client address
    # Wrong enrolment codes, per client address and per code prefix, in a window from the first: past
    # either limit, that address or prefix is refused until the window has passed (a right code too).
    wrong_codes_per_address: int = 20
    wrong_codes_per_prefix: int = 10
    wrong_code_window: int = 15 * 60  # seconds
    # Peers whose X-Forwarded-For names the client (uvicorn's forwarded_allow_ips): a proxy on this machine.
    trusted_proxies: tuple[str, ...] = ("127.0.0.1", "::1")
    # Capacity of one server process (docs/deploy.md has the arithmetic). Each thread of the request pool
    # holds one PostgreSQL connection: a host opens at most admin.connections_needed(settings).
    workers: int = 1  # processes `ntm-field server` starts (--workers)
    threads: int = 12  # the request thread pool of each process (anyio's default is 40)
    # Requests in flight per process, by lane (admission.py); together below `threads`, so that a
    # health check always finds a thread and reads never wait for one behind pushes.
    sync_slots: int = 6  # /api/v1/sync/* (pushes and pulls)
    read_slots: int = 4  # every other /api/ path (coverage, progress, conflicts, enrolment…)
    export_slots: int = 1  # /api/v1/export
    admission_wait: int = 10  # seconds a request may wait for a slot before 503 (phones time out at 30 s)
    busy_retry_after: int = 10  # the 503's Retry-After, ±50 % at random so that phones come back spread out
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(timezone.utc))
    new_id: Callable[[], str] = field(default=lambda: str(uuid.uuid4()))

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] = os.environ, *, database: str | None = None, public_url: str | None = None
    ) -> Settings:
        """Settings from NTM_DATABASE_URL (or NTM_DATA_DIR), NTM_PUBLIC_URL, the limits'
        NTM_REQUESTS_PER_MINUTE, NTM_ENROLMENTS_PER_MINUTE, NTM_WRONG_CODES_PER_ADDRESS,
        NTM_WRONG_CODES_PER_PREFIX, NTM_WRONG_CODE_WINDOW (seconds), NTM_TRUSTED_PROXIES, and the capacity's
        NTM_WORKERS, NTM_THREADS, NTM_SYNC_SLOTS, NTM_READ_SLOTS, NTM_EXPORT_SLOTS, NTM_ADMISSION_WAIT and
        NTM_BUSY_RETRY_AFTER (seconds); `database` (--db) and `public_url` (the address the server listens
        on) stand in where the environment says nothing."""
        numbers = {
            name: _positive_int(environ, f"NTM_{name.upper()}")
            for name in LIMITS + CAPACITY
            if environ.get(f"NTM_{name.upper()}", "").strip()
        }
        public = environ.get("NTM_PUBLIC_URL") or public_url or cls.public_url
        proxies = _trusted_proxies(environ.get("NTM_TRUSTED_PROXIES", ",".join(cls.trusted_proxies)))
        settings = cls(database_url=database_url(database, environ), public_url=public, trusted_proxies=proxies, **numbers)
        settings.check_capacity()
        return settings

    def check_capacity(self) -> None:
        """Refuse capacity settings that would let pushes take every thread, or wait past a phone's timeout."""
        lanes = self.sync_slots + self.read_slots + self.export_slots
        if lanes >= self.threads:
            raise SettingsError(f"NTM_SYNC_SLOTS + NTM_READ_SLOTS + NTM_EXPORT_SLOTS ({lanes}) must be below "
                                f"NTM_THREADS ({self.threads}): a health check needs a thread of its own")  # fmt: skip
        if self.admission_wait >= PHONE_TIMEOUT:
            raise SettingsError(f"NTM_ADMISSION_WAIT must be under the phones' {PHONE_TIMEOUT} s timeout")

    def with_workers(self, workers: int) -> Settings:
        """These settings for `workers` processes (--workers)."""
        if workers < 1:
            raise SettingsError("--workers must be at least 1")
        return replace(self, workers=workers)


LIMITS = ("requests_per_minute", "enrolments_per_minute", "wrong_codes_per_address", "wrong_codes_per_prefix",
          "wrong_code_window")  # fmt: skip
CAPACITY = ("workers", "threads", "sync_slots", "read_slots", "export_slots", "admission_wait", "busy_retry_after")
PHONE_TIMEOUT = 30  # seconds: the field app's read timeout (ntm_field/sync/transport.py READ_TIMEOUT)
DASHBOARD_THREADS = 4  # threads (and connections) of the dashboard's reads per process (asyncio's executor)


def _positive_int(environ: Mapping[str, str], variable: str) -> int:
    value = environ[variable].strip()
    if not value.isdigit() or int(value) == 0:
        raise SettingsError(f"{variable} must be a positive whole number")
    return int(value)


def _trusted_proxies(text: str) -> tuple[str, ...]:
    """IP addresses and networks, comma-separated (`10.0.0.5, 10.1.0.0/24`; empty: none). uvicorn would take
    a malformed entry for a host name that never matches, and `*` would let any client choose the address
    its limits count against: both are refused."""
    proxies = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        if item == "*":
            raise SettingsError("NTM_TRUSTED_PROXIES: '*' would let any client choose the address its limits "
                                "count against; name the proxy's addresses")  # fmt: skip
        try:
            proxies.append(str(ipaddress.ip_network(item, strict=False) if "/" in item else ipaddress.ip_address(item)))
        except ValueError:
            raise SettingsError(f"NTM_TRUSTED_PROXIES: {item[:60]!r} is not an IP address or network "
                                "(e.g. 10.0.0.5 or 10.1.0.0/24)") from None  # fmt: skip
    return tuple(proxies)


@dataclass(frozen=True)
class Hooks:
    """Test-only hooks: the command line never sets them (tests/server/fault_server.py does)."""

    after_commit: Callable[[], None] | None = None  # after each push batch commits, before the reply
    before_commit: Callable[[], None] | None = None  # inside each push batch's transaction, just before it commits


__all__ = ["Settings", "SettingsError", "Hooks", "CAPACITY", "DASHBOARD_THREADS", "database_url", "public_url"]
