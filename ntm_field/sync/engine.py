"""One sync cycle of a device: push the outbox in batches, pull what changed, record every answer.

Ordering decisions come from the server only (revisions, cursors) and from the
outbox's own sequence; the device clock orders nothing. Each batch's answers
and each pulled page are committed in one transaction before the next request,
and a change's body is frozen before it is first sent, so a cycle cut anywhere
(a lost reply, a killed app) resumes without losing or doubling anything.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ntm_field.domain.device import Enrolment
from ntm_field.domain.outbox import ChangeResult, OutboxChange, ResultStatus
from ntm_field.domain.units import Level, Unit
from ntm_field.store import LocalStore
from ntm_field.sync.errors import (
    AuthFailed,
    BadReply,
    Cancelled,
    Refused,
    ServerBusy,
    SyncError,
    Transient,
)
from ntm_field.sync.transport import Transport

T = TypeVar("T")
TransportFactory = Callable[[str, "str | None"], Transport]

MAX_UNIT_REQUESTS = 300  # a province scope has ~1,000 hamlets under ~120 communes and districts


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a running cycle stands (for a progress bar)."""

    phase: str  # "push", "pull", or "wait": the server said it is busy (429, 503) and when to come back
    sent: int = 0
    total: int = 0
    pages: int = 0
    wait: float = 0.0  # seconds until the same request is sent again ("wait")


@dataclass(slots=True)
class SyncReport:
    """What one cycle did; `problem` is the failure that ended it early (None: it completed)."""

    pushed: int = 0
    pulled: int = 0
    rejected: int = 0
    conflicts: int = 0
    pending: int = 0
    problem: SyncError | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def counts(self) -> dict[str, int]:
        """The summary of `ntm-field sync --json` (fixed by the contract)."""
        return {
            "pushed": self.pushed,
            "pulled": self.pulled,
            "rejected": self.rejected,
            "conflicts": self.conflicts,
            "pending": self.pending,
        }


@dataclass
class Policy:
    """How hard and how big: batch sizes, retries and their backoff (seconds)."""

    batch_size: int = 50
    min_batch: int = 10
    max_batch: int = 200
    page_size: int = 500
    attempts: int = 6  # per request, before the cycle gives up until next time
    backoff_base: float = 1.0
    backoff_cap: float = 60.0
    slow_request: float = 4.0  # a batch taking longer than this shrinks the next one
    # A busy server's Retry-After (429, 503 `overloaded`) is waited out up to this long; a longer one ends
    # the cycle (what is queued stays queued) and the next cycle asks again.
    max_wait: float = 120.0
    rng: random.Random = field(default_factory=random.Random)

    def backoff(self, attempt: int, retry_after: float | None) -> float:
        """Exponential backoff with jitter (half fixed, half random), never shorter than Retry-After."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2**attempt)
        delay = ceiling / 2 + self.rng.uniform(0, ceiling / 2)
        return max(delay, retry_after or 0.0)


class SyncEngine:
    """Runs sync cycles of one device store against the server it is enrolled with."""

    def __init__(
        self,
        store: LocalStore,
        *,
        connect: TransportFactory = Transport,
        policy: Policy | None = None,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
    ):
        self.store = store
        self._connect = connect
        self.policy = policy or Policy()
        self._new_id = new_id
        self.batch_size = self.policy.batch_size

    def run(
        self,
        *,
        progress: Callable[[Progress], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> SyncReport:
        """One cycle: push, pull, and push again what the pull made ready. Never raises a SyncError:
        the report says what was done and, in `problem`, why it stopped early."""
        report = SyncReport()
        cancel = cancel or threading.Event()
        notify = progress or (lambda _: None)
        enrolment = self.store.enrolment()
        if enrolment is None:
            report.problem = AuthFailed("not_enrolled")
            return report
        transport = self._connect(enrolment.server, enrolment.token)
        try:
            if not any(u.level is Level.HAMLET for u in self.store.units().values()):
                self.store.replace_units(self._retrying(lambda: fetch_units(transport, enrolment), cancel, notify))
            self._push(transport, report, notify, cancel)
            self._pull(transport, report, notify, cancel)
            if self.store.outgoing(1):
                self._push(transport, report, notify, cancel)
        except AuthFailed as error:
            if error.revoked:
                self.store.wipe()  # the server says this device must not keep its data
            report.problem = error
        except SyncError as error:
            report.problem = error
        finally:
            transport.close()
        report.pending = self.store.pending_count()
        return report

    # ----- push ----------------------------------------------------------------------------

    def _push(self, transport: Transport, report: SyncReport, notify, cancel: threading.Event) -> None:
        total = self.store.pending_count()
        settled = 0
        notify(Progress("push", 0, total))
        while True:
            self._check(cancel)
            batch = self.store.outgoing(self.batch_size)
            if not batch:
                return
            # a refused attempt (503: nothing applied) is retried with the same changes, the same change_ids
            resume = Progress("push", settled, max(total, settled))
            results = self._retrying(lambda: self._send(transport, batch), cancel, notify, resume)
            self.store.record_results(results)
            for result in results:
                if result.status is ResultStatus.REJECTED:
                    report.rejected += 1
                else:
                    report.pushed += 1
                    report.conflicts += result.status is ResultStatus.CONFLICT
            settled += len(results)
            notify(Progress("push", settled, max(total, settled)))

    def _send(self, transport: Transport, batch: list[OutboxChange]) -> list[ChangeResult]:
        self.store.mark_sent(batch)
        started = time.monotonic()
        try:
            reply = transport.push(self._new_id(), [change.to_wire() for change in batch])
        except Transient:
            self.batch_size = max(self.policy.min_batch, self.batch_size // 2)
            raise
        except Refused as error:
            if error.status == 413 and len(batch) > self.policy.min_batch:
                self.batch_size = max(self.policy.min_batch, len(batch) // 2)
                raise _TooLarge() from None
            raise
        elapsed = time.monotonic() - started
        if elapsed > self.policy.slow_request:
            self.batch_size = max(self.policy.min_batch, self.batch_size // 2)
        elif len(batch) == self.batch_size:
            self.batch_size = min(self.policy.max_batch, self.batch_size * 2)
        return _results(batch, reply)

    # ----- pull ----------------------------------------------------------------------------

    def _pull(self, transport: Transport, report: SyncReport, notify, cancel: threading.Event) -> None:
        pages = 0
        notify(Progress("pull", pages=0))
        while True:
            self._check(cancel)
            cursor = self.store.cursor()
            page = self._retrying(lambda: transport.pull(cursor, self.policy.page_size), cancel, notify,
                                  Progress("pull", pages=pages))  # fmt: skip
            changes, next_cursor, has_more = _page(page)
            report.pulled += self.store.apply_pulled(changes, next_cursor)
            pages += 1
            notify(Progress("pull", pages=pages))
            if not has_more or next_cursor == cursor:
                return

    # ----- retries -------------------------------------------------------------------------

    def _retrying(self, call: Callable[[], T], cancel: threading.Event, notify: Callable[[Progress], None],
                  resume: Progress | None = None) -> T:  # fmt: skip
        """`call` until it answers, waiting between attempts: backoff, never shorter than a busy server's
        Retry-After, which is said through `notify` ("wait") before and `resume` after."""
        attempt = 0
        while True:
            self._check(cancel)
            try:
                return call()
            except _TooLarge:
                continue  # a smaller batch right away: the size, not the network, was the problem
            except Transient as error:
                attempt += 1
                if attempt >= self.policy.attempts or (error.retry_after or 0.0) > self.policy.max_wait:
                    raise
                delay = self.policy.backoff(attempt - 1, error.retry_after)
                if isinstance(error, ServerBusy):
                    notify(Progress("wait", wait=delay))
                if cancel.wait(delay):
                    raise Cancelled("cancelled") from None
                if isinstance(error, ServerBusy) and resume is not None:
                    notify(resume)

    @staticmethod
    def _check(cancel: threading.Event) -> None:
        if cancel.is_set():
            raise Cancelled("cancelled")


class _TooLarge(Exception):
    """413 for a batch that can still be split: retry at once with half."""


def _results(batch: list[OutboxChange], reply: dict[str, Any]) -> list[ChangeResult]:
    """The reply's results, checked against the batch (one per change, in order)."""
    results = reply.get("results")
    if not isinstance(results, list) or len(results) != len(batch):
        raise BadReply("the server's results do not match the batch")
    parsed = []
    for change, result in zip(batch, results, strict=True):
        if not isinstance(result, dict) or result.get("change_id") != change.change_id:
            raise BadReply("the server's results do not match the batch")
        try:
            status = ResultStatus(result.get("status"))
        except ValueError:
            raise BadReply("unknown result status") from None
        error = result.get("error") if isinstance(result.get("error"), dict) else {}
        rev = result.get("rev")
        if status.stored and type(rev) is not int:
            raise BadReply("a stored change without its revision")
        parsed.append(
            ChangeResult(
                change_id=change.change_id,
                status=status,
                rev=rev if status.stored else None,
                error_code=error.get("code"),
                error_field=error.get("field"),
                error_message=error.get("message"),
            )
        )
    return parsed


def _page(page: dict[str, Any]) -> tuple[list[dict[str, Any]], str, bool]:
    changes, cursor, has_more = page.get("changes"), page.get("cursor"), page.get("has_more")
    if not isinstance(changes, list) or not isinstance(cursor, str) or not isinstance(has_more, bool):
        raise BadReply("not a pull page")
    for change in changes:
        if (
            not isinstance(change, dict)
            or not isinstance(change.get("id"), str)
            or type(change.get("rev")) is not int
            or not isinstance(change.get("deleted"), bool)
            or not (change["deleted"] or isinstance(change.get("data"), dict))
        ):
            raise BadReply("not a pull page")
    return changes, cursor, has_more


def fetch_units(transport: Transport, enrolment: Enrolment) -> list[Unit]:
    """The units of the device's scope down to its hamlets (names, levels, expected households),
    read from the coverage endpoint, which every role may read for its scope."""
    units: dict[str, Unit] = {}
    queue: list[tuple[str, str | None]] = [(code, None) for code in enrolment.scope]
    requests_made = 0
    while queue and requests_made < MAX_UNIT_REQUESTS:
        code, parent = queue.pop(0)
        report = transport.coverage(code)
        requests_made += 1
        unit = _unit(report, parent)
        units[unit.code] = unit
        for child in report.get("children") or []:
            child_unit = _unit(child, unit.code)
            units[child_unit.code] = child_unit
            if child_unit.level is not Level.HAMLET:
                queue.append((child_unit.code, unit.code))
    return list(units.values())


def _unit(report: dict[str, Any], parent: str | None) -> Unit:
    try:
        unit = report["unit"]
        return Unit(
            code=unit["code"],
            name=unit["name"],
            level=Level(unit["level"]),
            parent_code=parent,
            expected_households=(report.get("households") or {}).get("expected"),
        )
    except (KeyError, TypeError, ValueError):
        raise BadReply("not a coverage report") from None
