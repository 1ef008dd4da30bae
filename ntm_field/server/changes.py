"""Push and pull: idempotent, merged, one transaction per change, results committed with the data.

A change is judged in this order: a known `change_id` answers `duplicate` (same
body) or `change_id_reused` (other body) before anything else; then the change
is validated and its hamlet checked against the device's scope; then it is
applied — directly when `base_rev` is the current revision, else merged with
the domain's three-way merge against the revision the client started from.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from datetime import date
from collections.abc import Callable
from typing import Any

from ntm_field.domain.merge import FieldConflict, merge
from ntm_field.domain.records import Household
from ntm_field.domain.validation import Problem, validate_document
from ntm_field.server import errors, policy
from ntm_field.server.store import (
    Device,
    ServerStore,
    UnitTree,
    add_counts,
    apply_counter_deltas,
    household_counts,
)

MAX_CHANGE_ID = 100
MAX_REV = 2**63 - 1  # revisions are BIGINT in both engines


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
    after_commit: Callable[[], None] | None = None,
) -> list[dict]:
    """Apply a push batch: one result per change, in order (a change's faults never fail the batch).

    The batch is one transaction (one fsync) and each change runs in its own
    savepoint: a rejected change is rolled back alone, and every stored change is
    committed together with its result. `after_commit` runs after the commit and
    before the reply is written: the fault-injection tests kill the server there.
    """
    results = []
    counters: dict[str, dict[str, int]] = {}  # the batch's counter deltas by hamlet, written before commit
    with store.backend.transaction() as tx:
        for change in changes:
            tx.execute("SAVEPOINT change")
            deltas: dict[str, dict[str, int]] = {}
            try:
                results.append(_push(tx, store, device, change, hamlets=hamlets, today=today, counters=deltas))
            except Rejection as rejected:
                tx.execute("ROLLBACK TO SAVEPOINT change")
                results.append(_rejected(change, rejected))
            else:
                for hamlet_code, counts in deltas.items():  # only a change that stays counts
                    add_counts(counters, hamlet_code, counts, sign=1)
            tx.execute("RELEASE SAVEPOINT change")
        apply_counter_deltas(tx, counters)
    if after_commit is not None:
        after_commit()
    return results


def push_change(store: ServerStore, device: Device, change: Any, *, hamlets: UnitTree, today: date) -> dict:
    """Apply a single change (a batch of one)."""
    return push_batch(store, device, [change], hamlets=hamlets, today=today)[0]


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


def _push(tx, store: ServerStore, device: Device, change: Any, *, hamlets: UnitTree, today: date,
          counters: dict[str, dict[str, int]]) -> dict:  # fmt: skip
    if not isinstance(change, dict):
        raise Rejection("invalid", None, "a change must be a JSON object")
    change_id = change.get("change_id")
    if not isinstance(change_id, str) or not 1 <= len(change_id) <= MAX_CHANGE_ID or not change_id.isprintable():
        raise Rejection(
            "invalid", "change_id", f"change_id must be a string of 1–{MAX_CHANGE_ID} printable characters"
        )
    body_hash = hashlib.sha256(json.dumps(change, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    # Lock first: orders this change after every earlier commit (see store.py).
    rev = tx.one("UPDATE sync_clock SET seq = seq + 1 WHERE id = 1 RETURNING seq")[0]
    known = tx.one("SELECT body_hash, household_id, status, rev FROM changes WHERE change_id = ?", [change_id])
    if known is not None:
        if known[0] != body_hash:
            raise Rejection("change_id_reused", "change_id", "this change_id was already used for another change")
        return _result(change_id, known[1], "duplicate", known[3])
    incoming, deleted, base_rev = _parse_change(change, today)
    household_id = change["id"]
    current = tx.one("SELECT hamlet_code, rev, deleted, document FROM households WHERE id = ?", [household_id])
    hamlet_code = incoming.hamlet_code if incoming is not None else (current[0] if current else None)
    if hamlet_code is None:
        raise Rejection("invalid", "data", "a deletion of an unknown household needs its data")
    for code in {hamlet_code, current[0] if current else hamlet_code}:
        _check_hamlet(code, device, hamlets)
    now = store.clock().isoformat()

    conflicts: list[FieldConflict] = []
    if current is None or base_rev == current[1]:
        status, stored, stored_deleted = "applied", incoming, deleted
    else:
        if base_rev is not None and base_rev > current[1]:
            raise Rejection("invalid", "base_rev", "base_rev is newer than the household's current revision")
        base = _base_document(tx, household_id, base_rev)
        if base is None:
            raise Rejection("invalid", "base_rev", "base_rev is not a revision of this household")
        current_household = None if current[2] else Household.from_document(json.loads(current[3]))
        status, stored, stored_deleted, conflicts = _merge(base, current_household, incoming, deleted)
        if stored is not None and validate_document(stored.to_document(), today=today):
            # Two valid edits can merge into an invalid household (each side removed a different
            # member of a surveyed household, a birth year from one side and a date from the other):
            # keep the pushed version and let a leader choose the members.
            status, stored = "conflict", incoming
            conflicts = [FieldConflict("members", None, _wire_members(current_household), _wire_members(incoming))]

    store_revision(
        tx, household_id=household_id, rev=rev, previous=current, stored=stored, deleted=stored_deleted,
        fallback_hamlet=hamlet_code, status=status, change_id=change_id, device_id=device.id, now=now,
        counters=counters,
    )  # fmt: skip
    tx.execute(
        "INSERT INTO changes (change_id, body_hash, household_id, status, rev, device_id, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [change_id, body_hash, household_id, status, rev, device.id, now],
    )
    if conflicts:
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
    store._audit(tx, device.id, "household.push", household_id, {"rev": rev, "status": status})
    return _result(change_id, household_id, status, rev)


def store_revision(
    tx, *, household_id: str, rev: int, previous: tuple | None, stored: Household | None, deleted: bool,
    fallback_hamlet: str, status: str, change_id: str | None, device_id: str, now: str,
    counters: dict[str, dict[str, int]] | None = None,
) -> None:
    """Write revision `rev` of a household: current row, history, and the hamlet counters moved
    from the previous revision to this one, in the caller's transaction (or, given `counters`, added
    there for the caller to write once per batch)."""
    hamlet_code = stored.hamlet_code if stored is not None else fallback_hamlet
    document = None if stored is None else json.dumps(stored.to_document(), ensure_ascii=False, separators=(",", ":"))
    tx.execute(
        """INSERT INTO households (id, hamlet_code, rev, deleted, document, device_id, received_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (id) DO UPDATE SET hamlet_code = excluded.hamlet_code, rev = excluded.rev,
             deleted = excluded.deleted, document = excluded.document, device_id = excluded.device_id,
             received_at = excluded.received_at""",
        [household_id, hamlet_code, rev, int(deleted), document, device_id, now],
    )
    tx.execute(
        """INSERT INTO revisions (rev, household_id, change_id, hamlet_code, deleted, document, status, device_id, received_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [rev, household_id, change_id, hamlet_code, int(deleted), document, status, device_id, now],
    )
    deltas: dict[str, dict[str, int]] = {} if counters is None else counters
    if previous is not None and not previous[2]:
        add_counts(deltas, previous[0], household_counts(Household.from_document(json.loads(previous[3]))), sign=-1)
    if stored is not None and not deleted:
        add_counts(deltas, hamlet_code, household_counts(stored), sign=1)
    if counters is None:
        apply_counter_deltas(tx, deltas)


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


def _result(change_id: str, household_id: str, status: str, rev: int) -> dict:
    return {"change_id": change_id, "id": household_id, "status": status, "rev": rev, "error": None}


def _is_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value.lower() and len(value) == 36
    except ValueError:
        return False


# ----- pull ---------------------------------------------------------------------------


def encode_cursor(rev: int) -> str:
    return base64.urlsafe_b64encode(f"v1:{rev}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        version, rev = text.split(":")
        if version != "v1" or not rev.isdigit() or int(rev) > MAX_REV:
            raise ValueError
        return int(rev)
    except (ValueError, UnicodeDecodeError):
        raise ValueError("cursor") from None


def pull(store: ServerStore, hamlet_codes: list[str], *, after: int, limit: int, surveyor: bool = False) -> dict:
    """Households of the given hamlets stored after revision `after`, oldest first.

    With `surveyor` (the `include=surveyor` extension), each change also carries the name of the device
    that stored the revision (server-owned, outside `data`): a leader's phone counts progress per team
    member from it, offline. Without it a change has exactly the contract's four fields."""
    if not hamlet_codes:
        return {"changes": [], "cursor": encode_cursor(after), "has_more": False}
    marks = ", ".join("?" * len(hamlet_codes))
    with store.backend.read() as tx:
        # Read the clock first: every revision up to it has committed (commits are ordered by
        # the clock's row lock), so the cursor may move up to it without skipping anything.
        last = tx.one("SELECT seq FROM sync_clock WHERE id = 1")[0]
        rows = tx.all(
            f"SELECT h.id, h.rev, h.deleted, h.document, d.name FROM households h "
            f"LEFT JOIN devices d ON d.id = h.device_id WHERE h.rev > ? AND h.rev <= ? "
            f"AND h.hamlet_code IN ({marks}) ORDER BY h.rev LIMIT ?",
            [after, last, *hamlet_codes, limit + 1],
        )
    has_more = len(rows) > limit
    rows = rows[:limit]
    changes = [
        {"id": r[0], "rev": r[1], "deleted": bool(r[2]), "data": None if r[3] is None else json.loads(r[3])}
        | ({"surveyor": r[4] or ""} if surveyor else {})
        for r in rows
    ]
    cursor_rev = rows[-1][1] if has_more else max(after, last)
    return {"changes": changes, "cursor": encode_cursor(cursor_rev), "has_more": has_more}
