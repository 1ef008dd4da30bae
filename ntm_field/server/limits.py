"""Rate limits of the central endpoint: requests per token, enrolments per client address, and wrong
enrolment codes per address and per code prefix.

A limit allows `limit` hits per key in a window of `window` seconds that opens at the key's first hit;
past it every hit is refused (429 with Retry-After) until the window has closed. The counts live in
`DatabaseCounts` for a deployment (every server process on one database shares them: contract v1.1)
or in `MemoryCounts` (one process: tools and tests).
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ntm_field.server import errors
from ntm_field.server.db import Backend, SqliteBackend
from ntm_field.server.schema import LIMIT_MIGRATIONS, migrate


class RateLimited(errors.ApiError):
    status, code = 429, "rate_limited"

    def __init__(self, retry_after: int):
        super().__init__(f"too many requests: retry in {retry_after} s")
        self.retry_after = retry_after


class Counts(Protocol):
    """Where limiters keep their counts: one bucket per limit and key, times in seconds of the
    limiters' clock."""

    def take(self, bucket: str, *, limit: int, window: float, now: float) -> tuple[bool, float]:
        """Count a hit unless the bucket holds `limit` hits of a window still open at `now` (a closed
        window gives way to one of `window` seconds from `now`): (counted, end of the window)."""

    def give_back(self, bucket: str, until: float) -> None:
        """Uncount one hit of the window ending at `until` (a bucket left empty is dropped)."""

    def sweep(self, now: float) -> None:
        """Drop the buckets whose window has closed."""

    def __len__(self) -> int: ...


class MemoryCounts:
    """Counts in this process only."""

    def __init__(self):
        self._buckets: dict[str, list] = {}  # bucket → [end of window, hits]
        self._lock = threading.Lock()

    def take(self, bucket: str, *, limit: int, window: float, now: float) -> tuple[bool, float]:
        with self._lock:
            held = self._buckets.get(bucket)
            if held is None or held[0] <= now:
                held = self._buckets[bucket] = [now + window, 0]
            if held[1] >= limit:
                return False, held[0]
            held[1] += 1
            return True, held[0]

    def give_back(self, bucket: str, until: float) -> None:
        with self._lock:
            held = self._buckets.get(bucket)
            if held is not None and held[0] == until and held[1] > 0:
                held[1] -= 1
                if held[1] == 0:
                    del self._buckets[bucket]

    def sweep(self, now: float) -> None:
        with self._lock:
            for bucket in [b for b, held in self._buckets.items() if held[0] <= now]:
                del self._buckets[bucket]

    def __len__(self) -> int:
        return len(self._buckets)


# One statement per hit, atomic on both engines (a row lock on PostgreSQL, the write lock on SQLite):
# a closed window restarts at 1; an open one counts unless full, and a full one is left as it is (no
# row comes back). Parameters: bucket, new end, now, now, now, limit.
_TAKE = """
INSERT INTO rate_limits (bucket, until_ms, hits) VALUES (?, ?, 1)
ON CONFLICT (bucket) DO UPDATE SET
    hits = CASE WHEN rate_limits.until_ms <= ? THEN 1 ELSE rate_limits.hits + 1 END,
    until_ms = CASE WHEN rate_limits.until_ms <= ? THEN excluded.until_ms ELSE rate_limits.until_ms END
WHERE rate_limits.until_ms <= ? OR rate_limits.hits < ?
RETURNING until_ms
"""


class DatabaseCounts:
    """Counts in the table `rate_limits`, shared by every process on the database: one row per bucket
    (a token, an address, a code prefix: no row every request writes), one statement per hit.

    Buckets are stored as hashes (no client address or code prefix in clear); times as whole
    milliseconds of the wall clock, so processes on several hosts need synchronised clocks (NTP)."""

    def __init__(self, backend: Backend):
        self.backend = backend

    @classmethod
    def open(cls, backend: Backend) -> DatabaseCounts:
        """The counts of the deployment whose server database is `backend`, migrated: PostgreSQL keeps
        them in that database, SQLite in a file beside it (`server.db` → `server-limits.db`)."""
        if isinstance(backend, SqliteBackend):
            backend = SqliteBackend(backend.path.with_name(f"{backend.path.stem}-limits{backend.path.suffix}"))
        migrate(backend, LIMIT_MIGRATIONS)
        return cls(backend)

    def take(self, bucket: str, *, limit: int, window: float, now: float) -> tuple[bool, float]:
        key, now_ms = _hashed(bucket), _ms(now)
        with self.backend.transaction() as tx:
            row = tx.one(_TAKE, [key, now_ms + _ms(window), now_ms, now_ms, now_ms, limit])
            if row is not None:
                return True, row[0] / 1000
            return False, tx.one("SELECT until_ms FROM rate_limits WHERE bucket = ?", [key])[0] / 1000

    def give_back(self, bucket: str, until: float) -> None:
        key = _hashed(bucket)
        with self.backend.transaction() as tx:
            tx.execute("UPDATE rate_limits SET hits = hits - 1 WHERE bucket = ? AND until_ms = ? AND hits > 0",
                       [key, _ms(until)])  # fmt: skip
            tx.execute("DELETE FROM rate_limits WHERE bucket = ? AND hits = 0", [key])

    def sweep(self, now: float) -> None:
        with self.backend.transaction() as tx:
            tx.execute("DELETE FROM rate_limits WHERE until_ms <= ?", [_ms(now)])

    def __len__(self) -> int:
        with self.backend.transaction() as tx:
            return tx.one("SELECT count(*) FROM rate_limits")[0]

    def close(self) -> None:
        self.backend.close()


def _hashed(bucket: str) -> str:
    return hashlib.sha256(bucket.encode()).hexdigest()[:32]


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


class RateLimiter:
    """At most `limit` hits per key in a window of `window` seconds from the key's first hit; answers
    how long to wait when over. Limiters that share `counts` need distinct names."""

    SWEEP_EVERY = 1024  # hits: buckets whose window has closed are dropped (a client can make many keys)

    def __init__(self, limit: int, *, window: float = 60.0, name: str = "hits", counts: Counts | None = None,
                 clock: Callable[[], float] = time.time):  # fmt: skip
        self.limit, self.window, self.name, self.clock = limit, window, name, clock
        self.counts = counts if counts is not None else MemoryCounts()
        self._since_sweep = 0

    def check(self, key: str) -> float:
        """Count a hit for `key` and return its stamp (for `take_back`); RateLimited when over."""
        now = self.clock()
        counted, until = self.counts.take(f"{self.name}:{key}", limit=self.limit, window=self.window, now=now)
        if not counted:
            raise RateLimited(max(1, math.ceil(until - now)))
        self._since_sweep += 1  # a lost increment between threads only delays a sweep
        if self._since_sweep >= self.SWEEP_EVERY:
            self._since_sweep = 0
            self.counts.sweep(now)
        return until

    def take_back(self, key: str, stamp: float) -> None:
        """Forget a hit counted by `check` (it turned out not to count)."""
        self.counts.give_back(f"{self.name}:{key}", stamp)

    def __len__(self) -> int:
        return len(self.counts)


@dataclass(frozen=True, slots=True)
class Guess:
    address: str
    prefix: str
    stamps: tuple[float, float]


class WrongCodes:
    """Wrong enrolment codes per client address and per code prefix (the first symbols of the code).

    An attempt counts as wrong from the moment it is let through, so guesses sent at once cannot slip
    past the limit together; `right` takes it back when the code was right. Past a limit every attempt
    from that address or with that prefix is refused (429), a right code too, until the window has passed.
    The per-prefix limit holds back a guesser who spreads over many addresses, or who knows the start
    of a code (read over a shoulder, or off a photo of a half-covered QR)."""

    def __init__(self, *, per_address: int, per_prefix: int, window: float, counts: Counts | None = None,
                 clock: Callable[[], float] = time.time):  # fmt: skip
        counts = counts if counts is not None else MemoryCounts()
        self.by_address = RateLimiter(per_address, window=window, name="wrong-code-address", counts=counts, clock=clock)
        self.by_prefix = RateLimiter(per_prefix, window=window, name="wrong-code-prefix", counts=counts, clock=clock)

    def attempt(self, address: str, prefix: str) -> Guess:
        address_stamp = self.by_address.check(address)
        try:
            prefix_stamp = self.by_prefix.check(prefix)
        except RateLimited:
            self.by_address.take_back(address, address_stamp)
            raise
        return Guess(address, prefix, (address_stamp, prefix_stamp))

    def right(self, guess: Guess) -> None:
        self.by_address.take_back(guess.address, guess.stamps[0])
        self.by_prefix.take_back(guess.prefix, guess.stamps[1])
