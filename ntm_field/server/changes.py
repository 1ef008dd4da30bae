"""Push and pull: idempotent, merged, one transaction per change, results committed with the data.

A change is judged in this order: a known `change_id` answers `duplicate` (same
body) or `change_id_reused` (other body) before anything else; then the change
is validated and its hamlet checked against the device's scope; then it is
applied — directly when `base_rev` is the current revision, else merged with
the domain's three-way merge against the revision the client started from.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from ntm_field.domain.merge import FieldConflict, merge
from ntm_field.domain.records import Household
from ntm_field.domain.validation import Problem, validate_document
from ntm_field.server import clocks, errors, policy
from ntm_field.server.clocks import Cursor, decode_cursor  # noqa: F401 (decode_cursor: the route's reader)
from ntm_field.server.store import (
    Device,
    ServerStore,
    UnitTree,
    add_counts,
    apply_counter_deltas,
    household_counts,
)

MAX_CHANGE_ID = 100


class Rejection(Exception):
    """This change alone is refused (the batch goes on)."""

    def __init__(self, code: str, field: str | None, message: str):
        super().__init__(message)
        self.code, self.field, self.message = code, field, message


def push_batch(
    store: ServerStore,
    device: Device,
    changes: list[Any],
    *,
    hamlets: UnitTree,
    today: date,
    before_commit: Callable[[], None] | None = None,
    after_commit: Callable[[], None] | None = None,
) -> list[dict]:
    """Apply a push batch: one result per change, in order (a change's faults never fail the batch).

    Everything that needs no stored row — checking, validating, hashing, encoding each change and reading
    the stored documents it builds on — is done before the write transaction opens. The batch is then one
    transaction (one fsync) that holds only its households and its hamlets (clocks.py); a change is refused
    before it writes anything (so the rest of the batch goes on), and every stored change is committed
    together with its result. Statements per batch, not per change, where they can be: the duplicate check,
    the revision numbers, the counters, the audit. `before_commit` runs inside the transaction just before it commits (the
    ordering tests hold transactions open there); `after_commit` runs after the commit and before the reply
    is written: the fault-injection tests kill the server there.
    """
    prepared = [_prepare(change, today) for change in changes]
    ids = sorted({p.household_id for p in prepared if p.household_id is not None})
    documents = _stored_documents(store, ids)  # parsed now; used inside when still current
    results: list[dict | None] = [_rejected(p.change, p.early) if p.early else None for p in prepared]
    counters: dict[tuple[str, str], dict[str, int]] = {}  # the batch's counter deltas, written before commit
    written: dict[str, int] = {}  # hamlet → last revision written there
    with store.backend.transaction() as tx:
        clocks.lock_keys(tx, store.dialect, [f"household:{i}" for i in ids]
                         + [f"change:{p.change_id}" for p in prepared if not p.early])  # fmt: skip
        current = _current_rows(tx, ids, documents)
        wanted = {p.incoming.hamlet_code for p in prepared if p.incoming is not None and _may_write(p.incoming.hamlet_code, device, hamlets)}
        locked = _Locked(tx, store.dialect, wanted | {row.hamlet_code for row in current.values()},
                         sum(1 for p in prepared if not p.early))  # fmt: skip
        known = _known_changes(tx, [p.change_id for p in prepared if not p.early])
        audit: list[tuple] = []
        writes = _Writes(tx)
        for index, item in enumerate(prepared):
            if item.early:
                continue
            deltas: dict[tuple[str, str], dict[str, int]] = {}
            try:  # every refusal comes before the change's first write: nothing to roll back
                result, row = _push(tx, store, device, item, current, locked, known, audit, writes,
                                    hamlets=hamlets, today=today, counters=deltas)  # fmt: skip
            except Rejection as rejected:
                results[index] = _rejected(item.change, rejected)
                continue
            results[index] = result
            if row is not None:  # a new revision: what the next change of this household builds on
                current[item.household_id] = row
                written[row.hamlet_code] = max(written.get(row.hamlet_code, 0), row.rev)
            for key, counts in deltas.items():
                add_counts(counters, key, counts, sign=1)
        writes.flush()
        store.audit_rows(tx, audit)
        apply_counter_deltas(tx, counters)
        clocks.advance(tx, written)
        if before_commit is not None:
            before_commit()
    if after_commit is not None:
        after_commit()
    return results  # type: ignore[return-value]


def push_change(store: ServerStore, device: Device, change: Any, *, hamlets: UnitTree, today: date) -> dict:
    """Apply a single change (a batch of one)."""
    return push_batch(store, device, [change], hamlets=hamlets, today=today)[0]


@dataclass(slots=True)
class _Prepared:
    """A change as judged before the transaction: `early` refuses it before anything stored is read (not an
    object, a bad change_id); `late` after the duplicate check (an invalid change)."""

    change: Any
    early: Rejection | None = None
    late: Rejection | None = None
    change_id: str | None = None
    household_id: str | None = None
    body_hash: str = ""
    incoming: Household | None = None
    deleted: bool = False
    base_rev: int | None = None
    document: str | None = None  # the incoming household as stored (JSON)
    counts: dict[str, int] | None = None  # and its counts


@dataclass(slots=True)
class _Row:
    """A household's stored row, with its document parsed once."""

    hamlet_code: str
    rev: int
    deleted: bool
    household: Household | None  # None when deleted


class _Locked:
    """The hamlet clocks this transaction holds, and revision numbers taken while holding them: those known at
    the start, locked in order, with a number for each change taken at once after them; any other hamlet (a
    merge that keeps a third one) when first needed, with a number taken after its lock (clocks.py: a
    hamlet's numbers are taken while its clock is held)."""

    def __init__(self, tx, dialect: str, codes: set[str], changes: int):
        self.tx, self.dialect, self.codes, self.late = tx, dialect, set(codes), set()
        clocks.lock_hamlets(tx, self.codes)
        # highest first: pop() hands them out in increasing order
        self.numbers = clocks.next_revs(tx, dialect, changes)[::-1] if self.codes and changes else []

    def rev_in(self, code: str) -> int:
        """A revision number for a write in hamlet `code`."""
        if code not in self.codes:
            clocks.lock_hamlets(self.tx, [code])
            self.codes.add(code)
            self.late.add(code)
        if code in self.late or not self.numbers:
            return clocks.next_rev(self.tx, self.dialect)
        return self.numbers.pop()


def _known_changes(tx, change_ids: list[str]) -> dict[str, tuple]:
    """change_id → (body_hash, household_id, status, rev) of the changes already stored."""
    known: dict[str, tuple] = {}
    unique = sorted(set(change_ids))
    for start in range(0, len(unique), 500):
        part = unique[start : start + 500]
        for row in tx.all(f"SELECT change_id, body_hash, household_id, status, rev FROM changes WHERE change_id IN ({_marks(part)})", part):
            known[row[0]] = row[1:]
    return known


class _Writes:
    """The rows a batch writes, sent together: the households (the last row of each), their revisions and
    the changes' results, a statement per 200 rows. Flushed before anything reads them back (a merge reads
    the revisions) and before the counters."""

    HOUSEHOLDS = ("id", "hamlet_code", "rev", "deleted", "document", "device_id", "received_at")
    REVISIONS = ("rev", "household_id", "change_id", "hamlet_code", "deleted", "document", "status", "device_id", "received_at")
    CHANGES = ("change_id", "body_hash", "household_id", "status", "rev", "device_id", "received_at")

    def __init__(self, tx):
        self.tx = tx
        self.households: dict[str, tuple] = {}
        self.revisions: list[tuple] = []
        self.changes: list[tuple] = []

    def flush(self) -> None:
        upsert = ("ON CONFLICT (id) DO UPDATE SET hamlet_code = excluded.hamlet_code, rev = excluded.rev, "
                  "deleted = excluded.deleted, document = excluded.document, device_id = excluded.device_id, "
                  "received_at = excluded.received_at")  # fmt: skip
        self._insert("households", self.HOUSEHOLDS, list(self.households.values()), upsert)
        self._insert("revisions", self.REVISIONS, self.revisions)
        self._insert("changes", self.CHANGES, self.changes)
        self.households, self.revisions, self.changes = {}, [], []

    def _insert(self, table: str, columns: tuple[str, ...], rows: list[tuple], tail: str = "") -> None:
        marks = "(" + ", ".join("?" * len(columns)) + ")"
        for start in range(0, len(rows), 200):
            part = rows[start : start + 200]
            self.tx.execute(f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([marks] * len(part))} {tail}",
                            [value for row in part for value in row])  # fmt: skip


def _prepare(change: Any, today: date) -> _Prepared:
    if not isinstance(change, dict):
        return _Prepared(change, early=Rejection("invalid", None, "a change must be a JSON object"))
    change_id = change.get("change_id")
    if not isinstance(change_id, str) or not 1 <= len(change_id) <= MAX_CHANGE_ID or not change_id.isprintable():
        return _Prepared(change, early=Rejection(
            "invalid", "change_id", f"change_id must be a string of 1–{MAX_CHANGE_ID} printable characters"))  # fmt: skip
    body_hash = hashlib.sha256(json.dumps(change, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    household_id = change.get("id") if isinstance(change.get("id"), str) and _is_uuid(change["id"]) else None
    item = _Prepared(change, change_id=change_id, household_id=household_id, body_hash=body_hash)
    try:
        item.incoming, item.deleted, item.base_rev = _parse_change(change, today)
    except Rejection as rejected:
        item.late = rejected
        return item
    if item.incoming is not None:
        item.document = _encode(item.incoming)
        item.counts = household_counts(item.incoming)
    return item


def _stored_documents(store: ServerStore, ids: list[str]) -> dict[str, tuple[int, Household]]:
    """The stored households of `ids`, parsed, read before the write transaction (by revision: inside it,
    a household still at that revision is not parsed again)."""
    found: dict[str, tuple[int, Household]] = {}
    if not ids:
        return found
    with store.backend.read() as tx:
        rows = tx.all(f"SELECT id, rev, document FROM households WHERE deleted = 0 AND id IN ({_marks(ids)})", ids)
    for household_id, rev, document in rows:
        found[household_id] = (rev, Household.from_document(json.loads(document)))
    return found


def _current_rows(tx, ids: list[str], documents: dict[str, tuple[int, Household]]) -> dict[str, _Row]:
    if not ids:
        return {}
    rows = tx.all(f"SELECT id, hamlet_code, rev, deleted FROM households WHERE id IN ({_marks(ids)})", ids)
    current = {}
    for household_id, hamlet_code, rev, deleted in rows:
        current[household_id] = _row(tx, household_id, hamlet_code, rev, bool(deleted), documents)
    return current


def _row(tx, household_id: str, hamlet_code: str, rev: int, deleted: bool, documents) -> _Row:
    if deleted:
        return _Row(hamlet_code, rev, True, None)
    known = documents.get(household_id)
    if known is not None and known[0] == rev:
        return _Row(hamlet_code, rev, False, known[1])
    (document,) = tx.one("SELECT document FROM households WHERE id = ?", [household_id])  # changed since: rare
    return _Row(hamlet_code, rev, False, Household.from_document(json.loads(document)))


def _rejected(change: Any, rejected: Rejection) -> dict:
    change_id = change.get("change_id") if isinstance(change, dict) else None
    household_id = change.get("id") if isinstance(change, dict) else None
    return {
        "change_id": change_id if isinstance(change_id, str) else None,
        "id": household_id if isinstance(household_id, str) else None,
        "status": "rejected",
        "rev": None,
        "error": {"code": rejected.code, "message": rejected.message, "field": rejected.field},
    }


def _push(tx, store: ServerStore, device: Device, item: _Prepared, current_rows: dict[str, _Row], locked: _Locked,
          known_changes: dict[str, tuple], audit: list[tuple], writes: _Writes, *, hamlets: UnitTree, today: date,
          counters: dict) -> tuple[dict, _Row | None]:  # fmt: skip
    change_id = item.change_id
    known = known_changes.get(change_id)
    if known is not None:
        if known[0] != item.body_hash:
            raise Rejection("change_id_reused", "change_id", "this change_id was already used for another change")
        return _result(change_id, known[1], "duplicate", known[3]), None
    if item.late is not None:
        raise item.late
    incoming, deleted, base_rev = item.incoming, item.deleted, item.base_rev
    household_id = item.household_id
    current = current_rows.get(household_id)
    hamlet_code = incoming.hamlet_code if incoming is not None else (current.hamlet_code if current else None)
    if hamlet_code is None:
        raise Rejection("invalid", "data", "a deletion of an unknown household needs its data")
    for code in {hamlet_code, current.hamlet_code if current else hamlet_code}:
        _check_hamlet(code, device, hamlets)
    now = store.clock().isoformat()

    conflicts: list[FieldConflict] = []
    stored_document, stored_counts = item.document, item.counts
    if current is None or base_rev == current.rev:
        status, stored, stored_deleted = "applied", incoming, deleted
    else:
        if base_rev is not None and base_rev > current.rev:
            raise Rejection("invalid", "base_rev", "base_rev is newer than the household's current revision")
        writes.flush()  # the revisions read below may be this batch's
        base = _base_document(tx, household_id, base_rev)
        if base is None:
            raise Rejection("invalid", "base_rev", "base_rev is not a revision of this household")
        status, stored, stored_deleted, conflicts = _merge(base, current.household, incoming, deleted)
        if stored is not None and validate_document(stored.to_document(), today=today):
            # Two valid edits can merge into an invalid household (each side removed a different
            # member of a surveyed household, a birth year from one side and a date from the other):
            # keep the pushed version and let a leader choose the members.
            status, stored = "conflict", incoming
            conflicts = [FieldConflict("members", None, _wire_members(current.household), _wire_members(incoming))]
        if stored is not incoming:
            stored_document = stored_counts = None
    stored_hamlet = stored.hamlet_code if stored is not None else hamlet_code
    rev = locked.rev_in(stored_hamlet)
    previous = None if current is None else (current.hamlet_code, current.rev, current.deleted, current.household)
    store_revision(
        tx, household_id=household_id, rev=rev, previous=previous, stored=stored, deleted=stored_deleted,
        fallback_hamlet=hamlet_code, status=status, change_id=change_id, device_id=device.id, now=now,
        counters=counters, document=stored_document, counts=stored_counts, writes=writes,
    )  # fmt: skip
    writes.changes.append((change_id, item.body_hash, household_id, status, rev, device.id, now))
    if conflicts:
        writes.flush()
        previous_meta = _current_meta(tx, household_id, rev)
    for conflict in conflicts:
        competing = [
            {"value": conflict.current, "device_id": previous_meta[0], "rev": previous_meta[1], "received_at": previous_meta[2]},
            {"value": conflict.incoming, "device_id": device.id, "rev": rev, "received_at": now},
        ]  # fmt: skip
        tx.execute(
            """INSERT INTO conflicts (id, household_id, hamlet_code, field, competing, status, created_rev, created_at)
               VALUES (?, ?, ?, ?, ?, 'open', ?, ?)""",
            [store.new_id(), household_id, hamlet_code, conflict.field, json.dumps(competing, ensure_ascii=False), rev, now],
        )
    known_changes[change_id] = (item.body_hash, household_id, status, rev)
    audit.append((device.id, "household.push", household_id, {"rev": rev, "status": status}))
    row = _Row(stored_hamlet, rev, stored_deleted or stored is None, None if stored_deleted else stored)
    return _result(change_id, household_id, status, rev), row


def store_revision(
    tx, *, household_id: str, rev: int, previous: tuple | None, stored: Household | None, deleted: bool,
    fallback_hamlet: str, status: str, change_id: str | None, device_id: str, now: str,
    counters: dict | None = None, document: str | None = None, counts: dict[str, int] | None = None,
    writes: _Writes | None = None,
) -> None:
    """Write revision `rev` of a household: current row, history, and the counters (by hamlet, and by hamlet
    and survey day) moved from the previous revision to this one, in the caller's transaction (or, given
    `counters`, added there for the caller to write once per batch).

    `previous` is the stored row (hamlet_code, rev, deleted, household or its JSON document); `document` and
    `counts`, when given, are `stored` already encoded and counted (outside the transaction); given `writes`,
    the rows go there, to be sent with the batch's."""
    hamlet_code = stored.hamlet_code if stored is not None else fallback_hamlet
    if stored is not None and document is None:
        document = _encode(stored)
    if stored is None:
        document = None
    buffer = _Writes(tx) if writes is None else writes
    buffer.households[household_id] = (household_id, hamlet_code, rev, int(deleted), document, device_id, now)
    buffer.revisions.append((rev, household_id, change_id, hamlet_code, int(deleted), document, status, device_id, now))
    if writes is None:
        buffer.flush()
    deltas: dict = {} if counters is None else counters
    if previous is not None and not previous[2]:
        before = previous[3] if isinstance(previous[3], Household) else Household.from_document(json.loads(previous[3]))
        add_counts(deltas, (previous[0], before.surveyed_on.isoformat()), household_counts(before), sign=-1)
    if stored is not None and not deleted:
        add_counts(deltas, (hamlet_code, stored.surveyed_on.isoformat()),
                   counts if counts is not None else household_counts(stored), sign=1)  # fmt: skip
    if counters is None:
        apply_counter_deltas(tx, deltas)


def _encode(household: Household) -> str:
    return json.dumps(household.to_document(), ensure_ascii=False, separators=(",", ":"))


def _marks(values: list) -> str:
    return ", ".join("?" * len(values))


def _merge(base: Household | None, current: Household | None, incoming: Household | None, deleted: bool):
    """(status, household to store, stored deleted?, conflicts) for a concurrent change."""
    if deleted or current is None:
        edited = current if deleted else incoming  # the side that still holds a household
        untouched_base = base is not None and edited is not None and edited.to_document() == base.to_document()
        if deleted and current is None:
            return "merged", None, True, []
        if deleted and untouched_base:
            return "merged", None, True, []  # deleting what nobody changed meanwhile
        # one side deleted, the other edited: the household stays, the leader decides
        conflict = FieldConflict("deleted", False, current is None, deleted)
        return "conflict", edited, False, [conflict]
    result = merge(base if base is not None else current, current, incoming)
    return result.status, result.household, False, list(result.conflicts)


def _wire_members(household: Household | None) -> list | None:
    return None if household is None else [member.to_document() for member in household.members]


def _current_meta(tx, household_id: str, below_rev: int) -> tuple:
    row = tx.one(
        "SELECT device_id, rev, received_at FROM revisions WHERE household_id = ? AND rev < ? ORDER BY rev DESC LIMIT 1",
        [household_id, below_rev],
    )
    return row if row is not None else (None, None, None)


def _base_document(tx, household_id: str, base_rev: int | None) -> Household | None:
    """The household as of `base_rev` (None: as first stored), or None when it is not its revision."""
    if base_rev is None:
        row = tx.one("SELECT deleted, document FROM revisions WHERE household_id = ? ORDER BY rev LIMIT 1", [household_id])
    else:
        row = tx.one("SELECT deleted, document FROM revisions WHERE household_id = ? AND rev = ?", [household_id, base_rev])
    if row is None:
        return None
    return Household.from_document(json.loads(row[1])) if row[1] else None


def _parse_change(change: dict, today: date) -> tuple[Household | None, bool, int | None]:
    allowed = {"change_id", "id", "base_rev", "deleted", "data"}
    for key in change:
        if key not in allowed:
            raise Rejection("invalid", key if isinstance(key, str) and key.isidentifier() else None, "unknown key in the change")
    household_id = change.get("id")
    if not isinstance(household_id, str) or not _is_uuid(household_id):
        raise Rejection("invalid", "id", "id must be the household's UUID")
    base_rev = change.get("base_rev")
    if base_rev is not None and (type(base_rev) is not int or base_rev < 0):
        raise Rejection("invalid", "base_rev", "base_rev must be null or a revision number")
    deleted = change.get("deleted", False)
    if not isinstance(deleted, bool):
        raise Rejection("invalid", "deleted", "deleted must be true or false")
    data = change.get("data")
    if deleted and data is None:
        return None, True, base_rev
    problems: list[Problem] = validate_document(data, today=today)
    if problems:
        first = problems[0]
        field = first.field if first.field == "data" else f"data.{first.field}"
        raise Rejection("invalid", field, first.message("en"))
    if data["id"] != household_id:
        raise Rejection("invalid", "data.id", "data.id differs from the change's id")
    return Household.from_document(data), deleted, base_rev


def _check_hamlet(code: str, device: Device, hamlets: UnitTree) -> None:
    """The policy's answer for a write to hamlet `code`, as this change's rejection."""
    try:
        policy.require_hamlet(device, policy.Action.PUSH, code, hamlets, field="data.hamlet_code")
    except errors.UnknownUnit:
        raise Rejection("unknown_hamlet", "data.hamlet_code", "the hamlet is not known to the server") from None
    except errors.Forbidden:
        raise Rejection("forbidden_hamlet", "data.hamlet_code", "the hamlet is outside this device's scope") from None


def _may_write(code: str, device: Device, hamlets: UnitTree) -> bool:
    try:
        _check_hamlet(code, device, hamlets)
    except Rejection:
        return False
    return True


def _result(change_id: str, household_id: str, status: str, rev: int) -> dict:
    return {"change_id": change_id, "id": household_id, "status": status, "rev": rev, "error": None}


def _is_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value.lower() and len(value) == 36
    except ValueError:
        return False


# ----- pull ---------------------------------------------------------------------------


def pull(store: ServerStore, hamlet_codes: list[str], *, after: Cursor | int, limit: int, surveyor: bool = False) -> dict:
    """Households of the given hamlets stored after the cursor, oldest first (`after`: a cursor, or a
    revision seen in every hamlet).

    With `surveyor` (the `include=surveyor` extension), each change also carries the name of the device
    that stored the revision (server-owned, outside `data`): a leader's phone counts progress per team
    member from it, offline. Without it a change has exactly the contract's four fields."""
    cursor = after if isinstance(after, Cursor) else Cursor(floor=after)
    codes = sorted(set(hamlet_codes))
    if not codes:
        return {"changes": [], "cursor": cursor.encode(), "has_more": False}
    with store.backend.read() as tx:
        # The clocks first: every revision of a hamlet up to its clock has committed (clocks.py), so the
        # cursor may move up to it without skipping anything.
        last = clocks.committed(tx, codes)
        bounds = [(code, cursor.of(code), last[code]) for code in codes if last.get(code, 0) > cursor.of(code)]
        rows = _rows_within(tx, bounds, limit + 1) if bounds else []
    has_more = len(rows) > limit
    rows = rows[:limit]
    changes = [
        {"id": r[0], "rev": r[1], "deleted": bool(r[2]), "data": None if r[3] is None else json.loads(r[3])}
        | ({"surveyor": r[4] or ""} if surveyor else {})
        for r in rows
    ]
    reached = rows[-1][1] if has_more else None  # every row of every hamlet up to here was returned
    seen = {
        code: max(cursor.of(code), last.get(code, 0) if reached is None else min(last.get(code, 0), reached))
        for code in codes
    }
    return {"changes": changes, "cursor": Cursor(cursor.floor, seen).encode(), "has_more": has_more}


def _rows_within(tx, bounds: list[tuple[str, int, int]], limit: int) -> list[tuple]:
    """Households with lo < rev <= hi in their hamlet, for each (hamlet, lo, hi), by revision."""
    values = ", ".join("(?, CAST(? AS BIGINT), CAST(? AS BIGINT))" for _ in bounds)
    params = [value for bound in bounds for value in bound]
    return tx.all(
        f"WITH b (code, lo, hi) AS (VALUES {values}) "
        "SELECT h.id, h.rev, h.deleted, h.document, d.name FROM b "
        "JOIN households h ON h.hamlet_code = b.code AND h.rev > b.lo AND h.rev <= b.hi "
        "LEFT JOIN devices d ON d.id = h.device_id ORDER BY h.rev LIMIT ?",
        [*params, limit],
    )
