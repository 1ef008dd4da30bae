"""Conflicts: listing the open ones of a unit, and a leader's resolution as a new revision."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from ntm_field.domain.records import Household
from ntm_field.domain.validation import validate_document
from ntm_field.server import errors
from ntm_field.server.changes import store_revision
from ntm_field.server.store import Device, ServerStore

MEMBER_PATH = re.compile(r"members\[id=(?P<member>[^\]]+)\](?:\.(?P<field>\w+))?")


def list_conflicts(store: ServerStore, hamlet_codes: list[str], *, device_names: bool = False) -> list[dict]:
    """The open conflicts of the hamlets, oldest first. With `device_names` (the `include=device`
    extension), each competing value also carries `device_name`, the name its device enrolled with
    (server-owned; empty when unknown): a leader reads who sent each value. Without it a value has
    exactly the contract's four fields."""
    if not hamlet_codes:
        return []
    marks = ", ".join("?" * len(hamlet_codes))
    with store.backend.transaction() as tx:
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


def resolve(store: ServerStore, device: Device, conflict_id: str, value: Any, *, allowed_hamlets: set[str], today) -> int:
    """Apply `value` at the conflict's field as a new revision; returns that revision."""
    with store.backend.transaction() as tx:
        rev = tx.one("UPDATE sync_clock SET seq = seq + 1 WHERE id = 1 RETURNING seq")[0]
        row = tx.one("SELECT household_id, hamlet_code, field, status FROM conflicts WHERE id = ?", [conflict_id])
        if row is None:
            raise errors.ApiError("no such conflict", status=404, code="not_found", field="conflict_id")
        household_id, hamlet_code, field, status = row
        if device.role != "admin" and hamlet_code not in allowed_hamlets:
            raise errors.Forbidden("the household is outside this token's scope")
        if status != "open":
            raise errors.NotOpen("the conflict is not open")
        current = tx.one("SELECT hamlet_code, rev, deleted, document FROM households WHERE id = ?", [household_id])
        document = json.loads(current[3]) if current[3] else None
        deleted = False
        if field == "deleted":
            if not isinstance(value, bool):
                raise errors.Invalid("value must be true or false", field="value")
            deleted = value
        else:
            document = _apply(document, field, value)
            problems = validate_document(document, today=today)
            if problems:
                raise errors.Invalid(problems[0].message("en"), field=problems[0].field)
        stored = None if deleted else Household.from_document(document)
        now = store.clock().isoformat()
        store_revision(
            tx, household_id=household_id, rev=rev, previous=current, stored=stored, deleted=deleted,
            fallback_hamlet=current[0], status="resolved", change_id=None, device_id=device.id, now=now,
        )  # fmt: skip
        tx.execute("UPDATE conflicts SET status = 'resolved', resolved_rev = ? WHERE id = ?", [rev, conflict_id])
        store._audit(tx, device.id, "conflict.resolve", conflict_id, {"household": household_id, "rev": rev})
    return rev


def _apply(document: dict | None, field: str, value: Any) -> dict:
    if document is None:
        raise errors.Invalid("the household was deleted", field="value")
    document = copy.deepcopy(document)
    match = MEMBER_PATH.fullmatch(field)
    if match is None:
        document[field] = value
        return document
    members = document["members"]
    index = next((i for i, m in enumerate(members) if m.get("id") == match["member"]), None)
    if match["field"] is None:  # a whole member: removed (null) or kept as given
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
        members[index][match["field"]] = value
    return document
