"""Bounded admission: at most so many requests of a kind in flight in one server process, each waiting a
bounded time for its turn; one that cannot start in time is answered 503 `overloaded` with `Retry-After`,
before anything of it is read or applied, and well before the phone's own 30 s timeout.

Requests are sorted into lanes by path, each with its own slots, so that a burst of pushes never makes an
officer's coverage read or a health check wait:

| lane | paths | slots (default) |
|---|---|---|
| sync | `/api/v1/sync/*` (pushes and pulls) | `NTM_SYNC_SLOTS` (6) |
| export | `/api/v1/export` | `NTM_EXPORT_SLOTS` (1) |
| read | every other `/api/` path | `NTM_READ_SLOTS` (4) |
| — | `/api/v1/health`, the dashboard, `/openapi.json` | not limited |

The slots of all lanes together stay below the request thread pool (`NTM_THREADS`, checked by Settings):
a request admitted always finds a thread, and a health check always finds one too.
"""

from __future__ import annotations

import asyncio
import math
import random
import weakref
from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ntm_field.server import answers, errors
from ntm_field.server.bodies import MAX_BODY

LANES = ("sync", "export", "read")


class Overloaded(errors.ApiError):
    """Every slot of the request's lane stayed busy for the whole wait: nothing was read or applied."""

    status, code = 503, "overloaded"

    def __init__(self, retry_after: int):
        super().__init__(f"the server is busy: nothing was applied; retry in {retry_after} s")
        self.retry_after = retry_after


def lane_of(path: str) -> str | None:
    """The lane of a request path, or None for paths that are never held back."""
    if path == "/api/v1/health" or not path.startswith("/api/"):
        return None
    if path.startswith("/api/v1/sync/"):
        return "sync"
    if path == "/api/v1/export":
        return "export"
    return "read"


class Admission:
    """ASGI middleware holding each lane to its slots, with a bounded wait for a free one (FIFO)."""

    def __init__(self, app: ASGIApp, *, slots: Mapping[str, int], wait: float, retry_after: int,
                 rng: random.Random | None = None):  # fmt: skip
        self.app = app
        self.slots = dict(slots)
        self.wait = wait
        self.retry_after = retry_after
        self._rng = rng or random.Random()
        # asyncio's semaphores belong to one event loop: one set per loop (a test client runs its own)
        self._lanes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Semaphore]] = (
            weakref.WeakKeyDictionary()
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        lane = lane_of(scope["path"]) if scope["type"] == "http" else None
        if lane is None:
            await self.app(scope, receive, send)
            return
        # The wait starts once the body is in: a phone's timeout runs from the end of its upload, and a
        # slow uplink must not hold a slot that only server work should hold.
        receive = await _buffered(receive, MAX_BODY)
        semaphore = self._semaphores()[lane]
        try:
            async with asyncio.timeout(self.wait):
                await semaphore.acquire()
        except TimeoutError:
            await answers.error_response(Overloaded(self.jittered()))(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            semaphore.release()

    def jittered(self) -> int:
        """Retry-After in whole seconds, spread over ±50 % of the setting: phones refused together
        come back at different moments instead of all at once."""
        low, high = max(1, math.ceil(self.retry_after / 2)), max(1, math.ceil(self.retry_after * 3 / 2))
        return self._rng.randint(low, high)

    def _semaphores(self) -> dict[str, asyncio.Semaphore]:
        loop = asyncio.get_running_loop()
        lanes = self._lanes.get(loop)
        if lanes is None:
            lanes = self._lanes[loop] = {lane: asyncio.Semaphore(self.slots[lane]) for lane in LANES}
        return lanes


async def _buffered(receive: Receive, limit: int) -> Receive:
    """Read the request's body (up to just past `limit`: bodies.py refuses a bigger one) and return a
    `receive` that hands it over again, then goes on with the connection's own."""
    held: list[Message] = []
    size = 0
    while True:
        message = await receive()
        held.append(message)
        if message["type"] != "http.request":
            break  # the client went away: the app learns it from the replay
        size += len(message.get("body", b""))
        if not message.get("more_body", False) or size > limit:
            break

    async def replay() -> Message:
        return held.pop(0) if held else await receive()

    return replay


__all__ = ["Admission", "Overloaded", "LANES", "lane_of"]
