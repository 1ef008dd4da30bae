"""How a household is laid out in the local store's rows (households, members), shared by saves and pulls."""

from __future__ import annotations

import json
import re
from typing import Any

from sqlite_utils import Database

from ntm_field.domain.codes import Check
from ntm_field.domain.indicators import Tally, tally_household
from ntm_field.domain.outbox import ChangeState
from ntm_field.domain.records import Household
from ntm_field.domain.text import fold


def write_household(
    db: Database, household: Household, *, rev: int | None, base_document: str | None, sync_state: str, now: str
) -> str:
    """Upsert the household's row (with its summary and search text) and replace its members; returns its JSON."""
    row = household_row(household, rev=rev, base_document=base_document, sync_state=sync_state, now=now)
    # Plain SQL on the hot path: sqlite-utils' upsert/insert introspect the schema on every call.
    db.execute(UPSERT_HOUSEHOLD, row)
    db.execute("DELETE FROM members WHERE household_id = ?", [household.id])
    db.conn.executemany(
        INSERT_MEMBER,
        [member_row(household.id, position, m.to_document()) for position, m in enumerate(household.members)],
    )
    return row["document"]


def delete_household(db: Database, household_id: str) -> None:
    db.execute("DELETE FROM members WHERE household_id = ?", [household_id])
    db.execute("DELETE FROM households WHERE id = ?", [household_id])


def to_json(document: dict[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


HOUSEHOLD_COLUMNS = (
    "id", "hamlet_code", "house_no", "head_name", "visit_status", "surveyed_on", "follow_up_due",
    "label_code", "document", "base_document", "rev", "sync_state", "updated_at", "saved_at", "search_text",
    "members_count", *(f"{c.value}_{part}" for c in Check for part in ("covered", "eligible")),
    "fully_covered", *(f"{c.value}_unknown" for c in Check), "vneid_level1", "house_sort",
)  # fmt: skip
QUALITY_COLUMNS = (*(f"{c.value}_unknown" for c in Check), "vneid_level1")
UPSERT_HOUSEHOLD = (
    f"INSERT INTO households ({', '.join(HOUSEHOLD_COLUMNS)}) "
    f"VALUES ({', '.join(':' + c for c in HOUSEHOLD_COLUMNS)}) "
    f"ON CONFLICT(id) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in HOUSEHOLD_COLUMNS[1:])}"
)
MEMBER_COLUMNS = (
    "household_id", "member_id", "position", "full_name", "birth_year", "presence",
    "cccd", "vneid", "smartphone", "sim", "reasons", "assisted", "note",
)  # fmt: skip
INSERT_MEMBER = f"INSERT INTO members ({', '.join(MEMBER_COLUMNS)}) VALUES ({', '.join(':' + c for c in MEMBER_COLUMNS)})"


def household_row(
    household: Household, *, rev: int | None, base_document: str | None, sync_state: str, now: str
) -> dict[str, Any]:
    tally = tally_household(household)
    searchable = [household.head_name, *(m.full_name for m in household.members), household.house_no, household.label_code]
    row = {
        "id": household.id,
        "hamlet_code": household.hamlet_code,
        "house_no": household.house_no,
        "head_name": household.head_name,
        "visit_status": str(household.visit_status),
        "surveyed_on": household.surveyed_on.isoformat(),
        "follow_up_due": household.follow_up.due.isoformat() if household.follow_up else None,
        "label_code": household.label_code,
        "document": to_json(household.to_document()),
        "base_document": base_document,
        "rev": rev,
        "sync_state": sync_state,
        "updated_at": household.updated_at.isoformat() if household.updated_at else None,
        "saved_at": now,
        "search_text": fold(" | ".join(s for s in searchable if s)),
        "members_count": len(household.members),
        "fully_covered": int(tally.fully_covered > 0),
        "house_sort": house_sort_key(household.house_no),
    }
    for check in Check:
        figure = tally.figure(check)
        row[f"{check.value}_covered"] = figure.covered
        row[f"{check.value}_eligible"] = figure.eligible
    return row | quality_counts(household, tally)


_DIGITS = re.compile(r"([0-9]+)")
NO_HOUSE_NO = "~"  # after every key that starts with a digit or a letter: households without a number last


def house_sort_key(house_no: str) -> str:
    """A key that sorts house numbers naturally as plain text: 3 before 24, 12 before 12A before 12B, 12/3
    after 12; case and diacritics ignored. Each run of digits is written as its length (two digits) and
    its value without leading zeros, so text comparison of the keys compares the numbers."""
    text = fold(house_no)
    if not text:
        return NO_HOUSE_NO
    parts = _DIGITS.split(text)
    for i in range(1, len(parts), 2):
        digits = parts[i].lstrip("0")
        parts[i] = f"{len(digits):02d}{digits}"
    return "".join(parts)


def quality_counts(household: Household, tally: Tally | None = None) -> dict[str, int]:
    """The household's data-quality counts: eligible members with an unknown value, VNeID level 1."""
    tally = tally or tally_household(household)
    counts = {f"{check.value}_unknown": tally.figure(check).unknown for check in Check}
    counts["vneid_level1"] = tally.vneid.level1
    return counts


def member_row(household_id: str, position: int, member: dict[str, Any]) -> dict[str, Any]:
    return {
        "household_id": household_id,
        "position": position,
        **{k: v for k, v in member.items() if k not in ("id", "reasons", "assisted")},
        "member_id": member["id"],
        "reasons": json.dumps(member["reasons"], ensure_ascii=False),
        "assisted": json.dumps(member["assisted"], ensure_ascii=False),
    }


def refresh_sync_state(db: Database, household_id: str) -> None:
    """A household is pending while any change of it is; else rejected or synced by its latest change."""
    states = {
        row[0]
        for row in db.execute(
            "SELECT state FROM outbox WHERE household_id = ? AND state IN (?, ?)",
            [household_id, ChangeState.PENDING, ChangeState.REJECTED],
        )
    }
    state = (
        ChangeState.PENDING
        if ChangeState.PENDING in states
        else ChangeState.REJECTED
        if ChangeState.REJECTED in states
        else ChangeState.SYNCED
    )
    db.execute("UPDATE households SET sync_state = ? WHERE id = ?", [state, household_id])


