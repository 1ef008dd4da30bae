"""Rate limits of the central endpoint, kept in the server process: requests per token, enrolments
per address, and wrong enrolment codes per address and per code prefix."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from ntm_field.server import errors


class RateLimited(errors.ApiError):
    status, code = 429, "rate_limited"

    def __init__(self, retry_after: int):
        super().__init__(f"too many requests: retry in {retry_after} s")
        self.retry_after = retry_after


class RateLimiter:
    """At most `limit` hits per key in any sliding window of `window` seconds; answers how long to wait
    when over."""

    SWEEP_EVERY = 1024  # hits: keys whose hits all left the window are dropped (a client can make many keys)

    def __init__(self, limit: int, *, window: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self.limit, self.window, self.clock = limit, window, clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._since_sweep = 0

    def check(self, key: str) -> float:
        """Count a hit for `key` and return its time stamp (for `take_back`); RateLimited when over."""
        now = self.clock()
        with self._lock:
            hits = self._recent(key, now)
            if len(hits) >= self.limit:
                raise RateLimited(self._wait(hits, now))
            hits.append(now)
            self._since_sweep += 1
            if self._since_sweep >= self.SWEEP_EVERY:
                self._sweep(now)
        return now

    def take_back(self, key: str, stamp: float) -> None:
        """Forget a hit counted by `check` (it turned out not to count)."""
        with self._lock:
            hits = self._hits.get(key)
            if hits is not None and stamp in hits:
                hits.remove(stamp)

    def _recent(self, key: str, now: float) -> deque[float]:
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        return hits

    def _wait(self, hits: deque[float], now: float) -> int:
        return max(1, math.ceil(self.window - (now - hits[0])))

    def _sweep(self, now: float) -> None:
        self._since_sweep = 0
        for key in [k for k, hits in self._hits.items() if not hits or hits[-1] <= now - self.window]:
            del self._hits[key]

    def __len__(self) -> int:
        return len(self._hits)


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

    def __init__(self, *, per_address: int, per_prefix: int, window: float, clock: Callable[[], float] = time.monotonic):
        self.by_address = RateLimiter(per_address, window=window, clock=clock)
        self.by_prefix = RateLimiter(per_prefix, window=window, clock=clock)

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
