"""Named schema migrations of the device's local store (the only place tables change)."""

from __future__ import annotations

import json

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from ntm_field.domain.records import Household
from ntm_field.store.rows import QUALITY_COLUMNS, house_sort_key, quality_counts

MIGRATIONS = Migrations("ntm_field.local_store")

CHECK_COLUMNS = ("cccd", "vneid", "smartphone", "sim")


@MIGRATIONS()
def m0001_households_members_outbox(db: Database) -> None:
    """Households (with their four-check summary), members, the outbox, units."""
    summary = {f"{check}_{part}": int for check in CHECK_COLUMNS for part in ("covered", "eligible")}
    db["households"].create(
        {
            "id": str,
            "hamlet_code": str,
            "house_no": str,
            "head_name": str,
            "visit_status": str,
            "surveyed_on": str,
            "follow_up_due": str,
            "label_code": str,
            "document": str,
            "rev": int,
            "sync_state": str,
            "updated_at": str,
            "saved_at": str,
            "search_text": str,
            "members_count": int,
            **summary,
            "fully_covered": int,
        },
        pk="id",
        not_null={"hamlet_code", "head_name", "visit_status", "document", "sync_state", "search_text"},
    )
    db["households"].create_index(["hamlet_code", "house_no"])
    db["households"].create_index(["sync_state"])
    db["households"].create_index(["follow_up_due"])
    # Trigram FTS over folded names, house number and label code: substring search
    # without scanning every row; triggers keep it in step with the households table.
    db["households"].enable_fts(["search_text"], fts_version="FTS5", tokenize="trigram", create_triggers=True)

    db["members"].create(
        {
            "household_id": str,
            "member_id": str,
            "position": int,
            "full_name": str,
            "birth_year": int,
            "presence": str,
            "cccd": str,
            "vneid": str,
            "smartphone": str,
            "sim": str,
            "reasons": str,
            "assisted": str,
            "note": str,
        },
        pk=("household_id", "member_id"),
        foreign_keys=[("household_id", "households", "id")],
        not_null={"full_name", "birth_year", "presence"},
    )

    db.execute(
        """
        CREATE TABLE outbox (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            change_id TEXT NOT NULL UNIQUE,
            household_id TEXT NOT NULL,
            base_rev INTEGER,
            deleted INTEGER NOT NULL DEFAULT 0,
            document TEXT,
            created_at TEXT NOT NULL,
            state TEXT NOT NULL,
            result_status TEXT,
            rev INTEGER,
            error_code TEXT,
            error_field TEXT,
            error_message TEXT,
            settled_at TEXT
        )
        """
    )
    db["outbox"].create_index(["state", "seq"])
    db["outbox"].create_index(["household_id"])

    db["units"].create(
        {"code": str, "name": str, "level": str, "parent_code": str, "expected_households": int},
        pk="code",
        not_null={"name", "level"},
    )


@MIGRATIONS()
def m0002_sync_state(db: Database) -> None:
    """What syncing needs: the device's settings (enrolment, cursor), the server's copy of each
    household (the base local edits are rebased on), and which changes are on their way."""
    db["meta"].create({"key": str, "value": str}, pk="key", not_null={"value"})
    db["households"].add_column("base_document", str)
    # sent_at: the change left the device at least once (its reply may have been lost);
    # after_change: an edit made while an earlier change of the household was on its way
    # waits for that change's answer, then is based on the revision it produced.
    db["outbox"].add_column("sent_at", str)
    db["outbox"].add_column("after_change", str)


@MIGRATIONS()
def m0003_surveyor(db: Database) -> None:
    """Who stored each household's revision (the server's `surveyor` on a pull; empty for this
    device's own saves): a leader's phone counts progress per team member from it, offline."""
    db["households"].add_column("surveyor", str, not_null_default="")


@MIGRATIONS()
def m0004_quality_counts(db: Database) -> None:
    """The rest of each household's tally (unknown values per check, VNeID level 1), so figures per
    hamlet are sums over rows, not a parse of every document; filled in for the rows already here."""
    for column in QUALITY_COLUMNS:
        db["households"].add_column(column, int, not_null_default=0)
    rows = list(db.execute("SELECT id, document FROM households"))
    for household_id, document in rows:
        counts = quality_counts(Household.from_document(json.loads(document)))
        db.execute(
            f"UPDATE households SET {', '.join(f'{c} = ?' for c in QUALITY_COLUMNS)} WHERE id = ?",
            [*(counts[c] for c in QUALITY_COLUMNS), household_id],
        )


@MIGRATIONS()
def m0005_drafts(db: Database) -> None:
    """Open forms kept as drafts (ODK Collect's "incomplete" forms): one per household, on the device only.

    The payload is the form's whole state as the form model gives it, opaque to the store; the other
    columns are what home and the household list show without reading it."""
    db.execute(
        """
        CREATE TABLE drafts (
            household_id TEXT PRIMARY KEY,
            hamlet_code TEXT NOT NULL,
            head_name TEXT NOT NULL DEFAULT '',
            house_no TEXT NOT NULL DEFAULT '',
            payload TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )
        """
    )
    db["drafts"].create_index(["updated_at"])


@MIGRATIONS()
def m0006_house_sort_and_conflicts(db: Database) -> None:
    """A natural sort key of each house number (3 before 24, 12A after 12) with an index the household list
    reads in order, and the revision at which the server answered `conflict` to this device's change."""
    db["households"].add_column("house_sort", str, not_null_default="")
    db["households"].add_column("conflict_rev", int)
    rows = list(db.execute("SELECT id, house_no FROM households"))
    db.conn.executemany("UPDATE households SET house_sort = ? WHERE id = ?", [(house_sort_key(no), i) for i, no in rows])
    db["households"].create_index(["hamlet_code", "house_sort", "head_name"])
    db["households"].create_index(["conflict_rev"])
