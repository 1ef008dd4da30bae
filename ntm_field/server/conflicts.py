"""Conflicts: listing the open ones of a unit, and a leader's resolution as a new revision."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from ntm_field.domain.merge import parse_member_path
from ntm_field.domain.records import Household
from ntm_field.domain.validation import Problem, validate_document
from ntm_field.server import clocks, errors, policy
from ntm_field.server.changes import store_revision
from ntm_field.server.coverage import scoped_unit
from ntm_field.server.policy import Action
from ntm_field.server.store import Device, ServerStore, UnitTree

_MEMBER_ID_FIELD = re.compile(r"members\[(\d+)\]\.id")


def list_conflicts(store: ServerStore, hamlet_codes: list[str], *, device_names: bool = False) -> list[dict]:
    """The open conflicts of the hamlets, oldest first. With `device_names` (the `include=device`
    extension), each competing value also carries `device_name`, the name its device enrolled with
    (server-owned; empty when unknown): a leader reads who sent each value. Without it a value has
    exactly the contract's four fields."""
    if not hamlet_codes:
        return []
    marks = ", ".join("?" * len(hamlet_codes))
    with store.backend.read() as tx:
        rows = tx.all(
            f"SELECT id, household_id, hamlet_code, field, competing, status FROM conflicts "
            f"WHERE status = 'open' AND hamlet_code IN ({marks}) ORDER BY created_rev, id",
            hamlet_codes,
        )
        conflicts = [
            {"id": r[0], "household_id": r[1], "hamlet_code": r[2], "field": r[3], "values": json.loads(r[4]), "status": r[5]}
            for r in rows
        ]
        if device_names and conflicts:
            ids = sorted({v.get("device_id") for c in conflicts for v in c["values"]} - {None})
            names = dict(tx.all(f"SELECT id, name FROM devices WHERE id IN ({', '.join('?' * len(ids))})", ids)) if ids else {}
            for conflict in conflicts:
                for value in conflict["values"]:
                    value["device_name"] = names.get(value.get("device_id")) or ""
    return conflicts


def open_conflicts(store: ServerStore, device: Device, *, unit: str | None, device_names: bool = False) -> list[dict]:
    """What `GET /api/v1/conflicts?unit=…` answers: the open conflicts of a unit the policy lets the device
    read (without `unit`, the first unit of its scope)."""
    structure = "2024" if unit is None else None
    _, _, hamlets = scoped_unit(store, device, unit=unit, structure=structure, action=Action.LIST_CONFLICTS)
    return list_conflicts(store, hamlets, device_names=device_names)


def resolve(store: ServerStore, device: Device, conflict_id: str, value: Any, *, hamlets: UnitTree, today) -> int:
    """Apply `value` at the conflict's field as a new revision; returns that revision.

    The access policy decides on the household's hamlet and, when the value moves the household (a
    `hamlet_code` conflict), on the hamlet it moves to: a write there too (403 `forbidden`, 404
    `unknown_unit`, field `value`). Whatever is refused changes nothing: the conflict stays open."""
    policy.require(device, Action.RESOLVE_CONFLICT)
    with store.backend.transaction() as tx:
        row = tx.one("SELECT household_id, field, status FROM conflicts WHERE id = ?", [conflict_id])
        if row is None:
            raise errors.ApiError("no such conflict", status=404, code="not_found", field="conflict_id")
        household_id, field, status = row
        clocks.lock_keys(tx, store.dialect, [f"household:{household_id}"])  # as a push of it would (clocks.py)
        current = tx.one("SELECT hamlet_code, rev, deleted, document FROM households WHERE id = ?", [household_id])
        if current is None:
            raise errors.NotOpen("the conflict's household is not stored")
        policy.require_hamlet(device, Action.RESOLVE_CONFLICT, current[0], hamlets, field=None)
        status = tx.one("SELECT status FROM conflicts WHERE id = ?", [conflict_id])[0]  # as of the lock
        if status != "open":
            raise errors.NotOpen("the conflict is not open")
        stored = _resolved(None if current[2] else json.loads(current[3]), field, value, today)
        if stored is not None:
            policy.require_hamlet(device, Action.RESOLVE_CONFLICT, stored.hamlet_code, hamlets, field="value")
        hamlet_code = current[0] if stored is None else stored.hamlet_code
        clocks.lock_hamlets(tx, {current[0], hamlet_code})
        rev = clocks.next_rev(tx, store.dialect)
        now = store.clock().isoformat()
        store_revision(
            tx, household_id=household_id, rev=rev, previous=current, stored=stored, deleted=stored is None,
            fallback_hamlet=current[0], status="resolved", change_id=None, device_id=device.id, now=now,
        )  # fmt: skip
        clocks.advance(tx, {hamlet_code: rev})
        tx.execute("UPDATE conflicts SET status = 'resolved', resolved_rev = ? WHERE id = ?", [rev, conflict_id])
        store._audit(tx, device.id, "conflict.resolve", conflict_id, {"household": household_id, "rev": rev})
    return rev


def _resolved(document: dict | None, field: str, value: Any, today) -> Household | None:
    """The household with `value` at `field` (None: deleted), from its current document (None when deleted);
    422 `invalid` (field `value` or the document's path) for a value that cannot stand."""
    if field == "deleted":
        if not isinstance(value, bool):
            raise errors.Invalid("value must be true or false", field="value")
        if value:
            return None
        if document is None:
            raise errors.Invalid("the household was deleted since: only true resolves this conflict now", field="value")
        return Household.from_document(document)
    if document is None:
        raise errors.Invalid("the household was deleted", field="value")
    changed = _apply(document, field, value)
    stored_ids = {m.get("id") for m in document.get("members", []) if isinstance(m, dict)}
    path = parse_member_path(field)
    if path is not None:
        stored_ids.add(path[0])
    problems = [p for p in validate_document(changed, today=today) if not _stored_member_id(p, changed, stored_ids)]
    if problems:
        raise errors.Invalid(problems[0].message("en"), field=problems[0].field)
    return Household.from_document(changed)


def _stored_member_id(problem: Problem, document: dict, stored_ids: set) -> bool:
    """Whether `problem` is only a member id stored before ids were limited to A–Z a–z 0–9 _ - (v1.1):
    such a household stays resolvable."""
    where = _MEMBER_ID_FIELD.fullmatch(problem.field)
    return problem.code == "bad_member_id" and where is not None and document["members"][int(where[1])].get("id") in stored_ids


def _apply(document: dict, field: str, value: Any) -> dict:
    document = copy.deepcopy(document)
    path = parse_member_path(field)
    if path is None:
        document[field] = value
        return document
    member_id, member_field = path
    members = document["members"]
    index = next((i for i, m in enumerate(members) if m.get("id") == member_id), None)
    if member_field is None:  # a whole member: removed (null) or kept as given
        if value is None:
            if index is not None:
                members.pop(index)
        elif index is None:
            members.append(value)
        else:
            members[index] = value
    elif index is None:
        raise errors.Invalid("the member is no longer in the household", field="value")
    else:
        members[index][member_field] = value
    return document
