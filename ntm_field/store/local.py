"""The device's local store: households, their members and the outbox, in one SQLite file.

Every public method is one unit of work on its own connection (safe from any
thread); every write is one transaction that has committed when the method
returns (WAL, synchronous=FULL), so a save the UI confirms survives a kill.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from ntm_field.domain.codes import Check
from ntm_field.domain.indicators import tally_household
from ntm_field.domain.outbox import (
    ChangeResult,
    ChangeState,
    OutboxChange,
    RejectedChange,
    ResultStatus,
)
from ntm_field.domain.records import Household
from ntm_field.domain.text import fold
from ntm_field.domain.units import Level, Unit, parse_units_csv
from ntm_field.domain.validation import ValidationError, validate_document
from ntm_field.store.checkpoint import Checkpointer
from ntm_field.store.integrity import ensure_intact
from ntm_field.store.migrations import MIGRATIONS

Clock = Callable[[], datetime]
IdFactory = Callable[[], str]

# The WAL file is cut back to this size when it starts over.
WAL_SIZE_LIMIT = 16 * 1024 * 1024

# Trigram FTS needs at least three characters a term; shorter terms are filtered by LIKE.
TRIGRAM = 3


@dataclass(frozen=True, slots=True)
class SavedHousehold:
    """What a save committed: the household as stored and its outbox change id."""

    household: Household
    change_id: str
    base_rev: int | None


@dataclass(frozen=True, slots=True)
class HouseholdSummary:
    """A row of the household list: who, where, and the four checks at a glance."""

    id: str
    hamlet_code: str
    label_code: str
    house_no: str
    head_name: str
    visit_status: str
    members: int
    covered: dict[Check, tuple[int, int]]  # check → (covered, eligible)
    fully_covered: bool
    sync_state: str
    follow_up_due: str | None


class LocalStore:
    """The households of a device, its outbox and the units of its scope."""

    def __init__(self, path: Path, *, clock: Clock, new_id: IdFactory):
        self.path = Path(path)
        self._clock = clock
        self._new_id = new_id
        # One connection per thread, reused by that thread's units of work: closing the
        # last connection of a WAL file checkpoints it (≈15 ms here), far too slow per save.
        self._local = threading.local()
        self._checkpointer = Checkpointer(self.path)

    @classmethod
    def open(cls, path: Path | str, *, clock: Clock, new_id: IdFactory) -> LocalStore:
        """Open (creating and migrating when new) the store at `path`.

        A damaged file is moved aside and `StoreCorruptError` raised: the
        original bytes are kept for recovery and never overwritten.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        ensure_intact(path, clock=clock)
        store = cls(path, clock=clock, new_id=new_id)
        with store._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            MIGRATIONS.apply(db)
        return store

    @contextmanager
    def _connect(self) -> Iterator[Database]:
        """The calling thread's connection, for one unit of work."""
        db = getattr(self._local, "db", None)
        if db is None:
            conn = sqlite3.connect(self.path, timeout=30)
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA wal_autocheckpoint=0")  # see store/checkpoint.py
            conn.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
            db = self._local.db = Database(conn)
        yield db

    @contextmanager
    def _transaction(self) -> Iterator[Database]:
        """One write transaction, committed (fsync'd) when the block ends.

        IMMEDIATE takes the write lock up front: a deferred transaction that
        reads first cannot wait for a writer in another thread and fails busy.
        """
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.rollback()
                raise
            db.commit()
            self._checkpointer.after_commit()

    def close(self) -> None:
        """Stop background checkpoints; close the calling thread's connection (others close with their threads)."""
        self._checkpointer.stop()
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    # ----- writes -------------------------------------------------------------------

    def save(self, household: Household) -> SavedHousehold:
        """Validate and store a household with an outbox entry, in one transaction.

        The household is stamped with the device time (`updated_at`). Raises
        `ValidationError` (nothing stored) when it breaks the contract.
        """
        stamped = replace(household, updated_at=self._clock())
        problems = validate_document(stamped.to_document(), today=self._clock().date())
        if problems:
            raise ValidationError(problems)
        with self._transaction() as db:
            return self._write(db, stamped)

    def save_document(self, document: Any) -> SavedHousehold:
        """Save a household given as a wire document (e.g. built by a form)."""
        problems = validate_document(document, today=self._clock().date())
        if problems:
            raise ValidationError(problems)
        return self.save(Household.from_document(document))

    def save_many(self, households: Iterable[Household]) -> int:
        """Save many households in one transaction (all or none); returns the count."""
        today = self._clock().date()
        count = 0
        with self._transaction() as db:
            for household in households:
                stamped = replace(household, updated_at=self._clock())
                problems = validate_document(stamped.to_document(), today=today)
                if problems:
                    raise ValidationError(problems)
                self._write(db, stamped)
                count += 1
        return count

    def _write(self, db: Database, household: Household) -> SavedHousehold:
        now = self._clock().isoformat()
        document = household.to_document()
        known = db.execute("SELECT rev FROM households WHERE id = ?", [household.id]).fetchone()
        base_rev = known[0] if known else None
        row = _household_row(household, document, base_rev, now)
        # Plain SQL on the hot path: sqlite-utils' upsert/insert introspect the schema on every call.
        db.execute(UPSERT_HOUSEHOLD, row)
        db.execute("DELETE FROM members WHERE household_id = ?", [household.id])
        db.conn.executemany(
            INSERT_MEMBER,
            [_member_row(household.id, position, m.to_document()) for position, m in enumerate(household.members)],
        )
        # A new edit replaces the fix the server asked for: the old rejection is settled.
        db.execute(
            "UPDATE outbox SET state = ? WHERE household_id = ? AND state = ?",
            [ChangeState.SUPERSEDED, household.id, ChangeState.REJECTED],
        )
        change_id = self._new_id()
        db.execute(
            "INSERT INTO outbox (change_id, household_id, base_rev, deleted, document, created_at, state) "
            "VALUES (?, ?, ?, 0, ?, ?, ?)",
            [change_id, household.id, base_rev, row["document"], now, ChangeState.PENDING],
        )
        return SavedHousehold(household=household, change_id=change_id, base_rev=base_rev)

    def record_results(self, results: Iterable[ChangeResult]) -> None:
        """Record the server's answers for pushed changes, all in one transaction."""
        now = self._clock().isoformat()
        with self._transaction() as db:
            for result in results:
                row = db.execute(
                    "SELECT household_id FROM outbox WHERE change_id = ? AND state = ?",
                    [result.change_id, ChangeState.PENDING],
                ).fetchone()
                if row is None:
                    continue  # already settled (a retried reply): recording it again changes nothing
                household_id = row[0]
                if result.status.stored:
                    db.execute(
                        "UPDATE outbox SET state = ?, result_status = ?, rev = ?, settled_at = ? WHERE change_id = ?",
                        [ChangeState.SYNCED, result.status, result.rev, now, result.change_id],
                    )
                    db.execute(
                        "UPDATE households SET rev = max(coalesce(rev, 0), ?) WHERE id = ?",
                        [result.rev, household_id],
                    )
                else:
                    db.execute(
                        """UPDATE outbox SET state = ?, result_status = ?, error_code = ?, error_field = ?,
                           error_message = ?, settled_at = ? WHERE change_id = ?""",
                        [
                            ChangeState.REJECTED,
                            ResultStatus.REJECTED,
                            result.error_code or "invalid",
                            result.error_field,
                            result.error_message or "",
                            now,
                            result.change_id,
                        ],
                    )
                _refresh_sync_state(db, household_id)

    def load_units(self, csv_text: str) -> list[Unit]:
        """Load a units CSV (all rows or none) against the units already held."""
        with self._transaction() as db:
            units = parse_units_csv(csv_text, known=_units(db))
            db["units"].upsert_all(
                (
                    {
                        "code": u.code,
                        "name": u.name,
                        "level": str(u.level),
                        "parent_code": u.parent_code,
                        "expected_households": u.expected_households,
                    }
                    for u in units
                ),
                pk="code",
            )
        return units

    # ----- reads --------------------------------------------------------------------

    def get(self, household_id: str) -> Household | None:
        """The household as last saved or pulled, or None."""
        with self._connect() as db:
            row = db.execute("SELECT document FROM households WHERE id = ?", [household_id]).fetchone()
        return None if row is None else Household.from_document(json.loads(row[0]))

    def list_households(self, hamlet_code: str) -> list[HouseholdSummary]:
        """The households of a hamlet, by house number, with their four-check summary."""
        with self._connect() as db:
            rows = db.query(
                f"SELECT {SUMMARY_COLUMNS} FROM households WHERE hamlet_code = ? ORDER BY house_no, head_name",
                [hamlet_code],
            )
            return [_summary(row) for row in rows]

    def search(self, text: str, *, hamlet_codes: Iterable[str] | None = None, limit: int = 50) -> list[HouseholdSummary]:
        """Households whose names, house number or label code contain every word of `text`.

        Diacritics and case are ignored and `đ` matches `d`: `nguyen van duc`
        and `DUC` both find `Nguyễn Văn Đức`. Households holding the words in the
        order typed (a full name) come first; each group by hamlet and house number.
        """
        terms = fold(text).split()
        if not terms:
            return []
        codes = None if hamlet_codes is None else list(hamlet_codes)
        phrase = " ".join(terms)
        with self._connect() as db:
            in_order = _matching_rowids(db, [phrase], codes, limit, exclude=()) if len(terms) > 1 else []
            scattered = _matching_rowids(db, terms, codes, limit - len(in_order), exclude=in_order)
            return _summaries(db, in_order) + _summaries(db, scattered)

    def pending_changes(self, limit: int | None = None) -> list[OutboxChange]:
        """Changes waiting for the server, oldest first."""
        sql = "SELECT * FROM outbox WHERE state = ? ORDER BY seq"
        params: list[Any] = [ChangeState.PENDING]
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        with self._connect() as db:
            return [
                OutboxChange(
                    seq=row["seq"],
                    change_id=row["change_id"],
                    household_id=row["household_id"],
                    base_rev=row["base_rev"],
                    deleted=bool(row["deleted"]),
                    document=json.loads(row["document"]) if row["document"] else None,
                    created_at=datetime.fromisoformat(row["created_at"]),
                )
                for row in db.query(sql, params)
            ]

    def needs_fix(self) -> list[RejectedChange]:
        """Changes the server refused, with its reason, until the household is edited."""
        with self._connect() as db:
            return [
                RejectedChange(
                    change_id=row["change_id"],
                    household_id=row["household_id"],
                    error_code=row["error_code"],
                    error_field=row["error_field"],
                    error_message=row["error_message"],
                    settled_at=datetime.fromisoformat(row["settled_at"]),
                )
                for row in db.query("SELECT * FROM outbox WHERE state = ? ORDER BY seq", [ChangeState.REJECTED])
            ]

    def units(self) -> dict[str, Unit]:
        """The administrative units the device holds, by code."""
        with self._connect() as db:
            return _units(db)

    def counts(self) -> dict[str, int]:
        """Row counts: households, members, and outbox entries by state."""
        with self._connect() as db:
            counts = {
                "households": db.execute("SELECT count(*) FROM households").fetchone()[0],
                "members": db.execute("SELECT count(*) FROM members").fetchone()[0],
            }
            for state in ChangeState:
                counts[f"outbox_{state}"] = db.execute(
                    "SELECT count(*) FROM outbox WHERE state = ?", [state]
                ).fetchone()[0]
        return counts


SUMMARY_COLUMNS = ", ".join(
    [
        "id", "hamlet_code", "label_code", "house_no", "head_name", "visit_status", "members_count",
        *(f"{check.value}_{part}" for check in Check for part in ("covered", "eligible")),
        "fully_covered", "sync_state", "follow_up_due",
    ]
)  # fmt: skip


HOUSEHOLD_COLUMNS = (
    "id", "hamlet_code", "house_no", "head_name", "visit_status", "surveyed_on", "follow_up_due",
    "label_code", "document", "rev", "sync_state", "updated_at", "saved_at", "search_text",
    "members_count", *(f"{c.value}_{part}" for c in Check for part in ("covered", "eligible")),
    "fully_covered",
)  # fmt: skip
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


def _household_row(household: Household, document: dict, rev: int | None, now: str) -> dict[str, Any]:
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
        "document": json.dumps(document, ensure_ascii=False, separators=(",", ":")),
        "rev": rev,
        "sync_state": ChangeState.PENDING,
        "updated_at": household.updated_at.isoformat() if household.updated_at else None,
        "saved_at": now,
        "search_text": fold(" | ".join(s for s in searchable if s)),
        "members_count": len(household.members),
        "fully_covered": int(tally.fully_covered > 0),
    }
    for check in Check:
        figure = tally.figure(check)
        row[f"{check.value}_covered"] = figure.covered
        row[f"{check.value}_eligible"] = figure.eligible
    return row


def _member_row(household_id: str, position: int, member: dict[str, Any]) -> dict[str, Any]:
    return {
        "household_id": household_id,
        "position": position,
        **{k: v for k, v in member.items() if k not in ("id", "reasons", "assisted")},
        "member_id": member["id"],
        "reasons": json.dumps(member["reasons"], ensure_ascii=False),
        "assisted": json.dumps(member["assisted"], ensure_ascii=False),
    }


def _refresh_sync_state(db: Database, household_id: str) -> None:
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


def _matching_rowids(
    db: Database, terms: list[str], hamlet_codes: list[str] | None, limit: int, *, exclude: list[int] | tuple
) -> list[int]:
    """Rowids of up to `limit` households whose search text holds every term (storage order).

    No ORDER BY here: sorting thousands of matches of a common name is what made
    search slow; the caller orders the few rows it keeps.
    """
    if limit <= 0:
        return []
    long_terms = [t for t in terms if len(t) >= TRIGRAM]
    where, params = [], []
    if long_terms:
        source = "households_fts JOIN households ON households.rowid = households_fts.rowid"
        where.append("households_fts MATCH ?")
        params.append(" ".join('"' + t.replace('"', '""') + '"' for t in long_terms))
    else:
        source = "households"
    for term in terms:
        if len(term) < TRIGRAM:
            where.append("households.search_text LIKE ? ESCAPE '\\'")
            params.append("%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
    if hamlet_codes is not None:
        where.append(f"households.hamlet_code IN ({','.join('?' * len(hamlet_codes))})")
        params.extend(hamlet_codes)
    if exclude:
        where.append(f"households.rowid NOT IN ({','.join('?' * len(exclude))})")
        params.extend(exclude)
    sql = f"SELECT households.rowid FROM {source} WHERE {' AND '.join(where)} LIMIT ?"
    return [row[0] for row in db.execute(sql, [*params, limit])]


def _summaries(db: Database, rowids: list[int]) -> list[HouseholdSummary]:
    if not rowids:
        return []
    sql = (
        f"SELECT {SUMMARY_COLUMNS} FROM households WHERE rowid IN ({','.join('?' * len(rowids))}) "
        "ORDER BY hamlet_code, house_no, head_name"
    )
    return [_summary(row) for row in db.query(sql, rowids)]


def _summary(row: dict[str, Any]) -> HouseholdSummary:
    return HouseholdSummary(
        id=row["id"],
        hamlet_code=row["hamlet_code"],
        label_code=row["label_code"],
        house_no=row["house_no"] or "",
        head_name=row["head_name"],
        visit_status=row["visit_status"],
        members=row["members_count"],
        covered={c: (row[f"{c.value}_covered"], row[f"{c.value}_eligible"]) for c in Check},
        fully_covered=bool(row["fully_covered"]),
        sync_state=row["sync_state"],
        follow_up_due=row["follow_up_due"],
    )


def _units(db: Database) -> dict[str, Unit]:
    return {
        row["code"]: Unit(
            code=row["code"],
            name=row["name"],
            level=Level(row["level"]),
            parent_code=row["parent_code"],
            expected_households=row["expected_households"],
        )
        for row in db.query("SELECT * FROM units")
    }
