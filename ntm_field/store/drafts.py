"""Drafts: open household forms kept on the device (ODK Collect's "incomplete" forms).

A draft is the form's whole state, opaque to the store, one per household. It never enters the
outbox, so it is never synced; saving the household deletes it in the save's own transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlite_utils import Database


@dataclass(frozen=True, slots=True)
class DraftSummary:
    """What home and the household list show of a draft, without its payload."""

    household_id: str
    hamlet_code: str
    head_name: str
    house_no: str
    updated_at: datetime
    is_new: bool  # the household is not in the store yet: it was never saved


def save_draft(
    db: Database, household_id: str, *, hamlet_code: str, head_name: str, house_no: str, payload: dict[str, Any], now: str
) -> None:
    if not isinstance(payload, dict):
        raise TypeError("a draft's payload is a dict")
    db.execute(
        "INSERT INTO drafts (household_id, hamlet_code, head_name, house_no, payload, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(household_id) DO UPDATE SET hamlet_code = excluded.hamlet_code, "
        "head_name = excluded.head_name, house_no = excluded.house_no, payload = excluded.payload, "
        "updated_at = excluded.updated_at",
        [household_id, hamlet_code, head_name or "", house_no or "",
         json.dumps(payload, ensure_ascii=False, separators=(",", ":")), now],
    )  # fmt: skip


def draft(db: Database, household_id: str) -> dict[str, Any] | None:
    row = db.execute("SELECT payload FROM drafts WHERE household_id = ?", [household_id]).fetchone()
    return None if row is None else json.loads(row[0])


def drafts(db: Database, hamlet_codes: list[str] | None = None) -> list[DraftSummary]:
    """Every draft (or those of the hamlets), newest first."""
    where, params = "", []
    if hamlet_codes is not None:
        where = f"WHERE d.hamlet_code IN ({', '.join('?' * len(hamlet_codes))})"
        params = list(hamlet_codes)
    rows = db.execute(
        "SELECT d.household_id, d.hamlet_code, d.head_name, d.house_no, d.updated_at, h.id IS NULL "
        f"FROM drafts d LEFT JOIN households h ON h.id = d.household_id {where} "
        "ORDER BY d.updated_at DESC, d.rowid DESC",
        params,
    )
    return [
        DraftSummary(household_id=hid, hamlet_code=hamlet, head_name=head, house_no=house_no,
                     updated_at=datetime.fromisoformat(updated_at), is_new=bool(is_new))
        for hid, hamlet, head, house_no, updated_at, is_new in rows
    ]  # fmt: skip


def discard_draft(db: Database, household_id: str) -> None:
    db.execute("DELETE FROM drafts WHERE household_id = ?", [household_id])
