"""The device's local store: households, their members and the outbox, in one SQLite file.

Every public method is one unit of work on its own connection (safe from any
thread); every write is one transaction that has committed when the method
returns (WAL, synchronous=FULL), so a save the UI confirms survives a kill.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from ntm_field.domain.codes import Check
from ntm_field.domain.device import Enrolment
from ntm_field.domain.indicators import Figure, Tally
from ntm_field.domain.outbox import ChangeResult, ChangeState, OutboxChange, RejectedChange
from ntm_field.domain.records import Household
from ntm_field.domain.text import fold
from ntm_field.domain.units import Level, Unit, parse_units_csv
from ntm_field.domain.validation import Problem, ValidationError, validate_document
from ntm_field.private_files import private_database, private_folder
from ntm_field.store import drafts as draft_rows
from ntm_field.store import sync_state
from ntm_field.store.checkpoint import Checkpointer
from ntm_field.store.drafts import DraftSummary
from ntm_field.store.integrity import ensure_intact, moved_aside
from ntm_field.store.migrations import MIGRATIONS
from ntm_field.store.rows import house_sort_key, write_household

Clock = Callable[[], datetime]
IdFactory = Callable[[], str]

# How long a unit of work waits for another connection's lock, in seconds.
BUSY_TIMEOUT = 30

# The WAL file is cut back to this size when it starts over.
WAL_SIZE_LIMIT = 16 * 1024 * 1024

# Trigram FTS needs at least three characters a term; shorter terms are filtered by LIKE.
TRIGRAM = 3


class StoreBusyError(Exception):
    """Another connection held the store too long for the operation to finish; nothing was lost."""


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
    has_draft: bool = False  # unsaved changes are kept as a draft (opened at /draft/ID)
    in_conflict: bool = False  # the server answered `conflict` to this device's last change (see BROWSE_STATE)


@dataclass(frozen=True, slots=True)
class SurveyorProgress:
    """One team member's surveyed households in the hamlets a device holds."""

    surveyor: str  # the device name the server gave; "" for this device's own saves
    surveyed: int
    fully_covered: int
    today: int
    last_day: str


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
        # The folder and files hold the bearer token and people's names: the user's alone, whatever the umask.
        private_folder(path.parent)
        private_database(path)
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
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT)
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
        """Validate and store a household with an outbox entry, in one transaction that also deletes
        its draft.

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
        self._check_scope(db, household)
        now = self._clock().isoformat()
        known = db.execute("SELECT rev, base_document FROM households WHERE id = ?", [household.id]).fetchone()
        rev, base_document = known if known else (None, None)
        document = write_household(
            db, household, rev=rev, base_document=base_document, sync_state=ChangeState.PENDING, now=now
        )
        change_id = self._new_id()
        base_rev = sync_state.queue_edit(db, household.id, document, change_id=change_id, now=now)
        draft_rows.discard_draft(db, household.id)  # saved: the draft it came from is done
        return SavedHousehold(household=household, change_id=change_id, base_rev=base_rev)

    @staticmethod
    def _check_scope(db: Database, household: Household) -> None:
        """An enrolled device records households of the hamlets it holds only."""
        if sync_state.get_meta(db, sync_state.ENROLMENT) is None:
            return
        known = db.execute(
            "SELECT 1 FROM units WHERE code = ? AND level = ?", [household.hamlet_code, str(Level.HAMLET)]
        ).fetchone()
        if known is None:
            raise ValidationError([Problem("hamlet_code", "out_of_scope")])

    def record_results(self, results: Iterable[ChangeResult]) -> None:
        """Record the server's answers for pushed changes, all in one transaction."""
        with self._transaction() as db:
            sync_state.record_results(db, results, now=self._clock().isoformat())

    # ----- drafts -----------------------------------------------------------------------

    def save_draft(self, household_id: str, hamlet_code: str, head_name: str, house_no: str, payload: dict) -> None:
        """Keep an open form as the household's draft (replacing its previous one), committed when this returns.

        The payload is stored as given (JSON); a draft never enters the outbox, so it is never synced.
        """
        with self._transaction() as db:
            draft_rows.save_draft(db, household_id, hamlet_code=hamlet_code, head_name=head_name, house_no=house_no,
                                  payload=payload, now=self._clock().isoformat())  # fmt: skip

    def draft(self, household_id: str) -> dict | None:
        """The payload of the household's draft, or None."""
        with self._connect() as db:
            return draft_rows.draft(db, household_id)

    def drafts(self) -> list[DraftSummary]:
        """Every draft on the device, newest first."""
        with self._connect() as db:
            return draft_rows.drafts(db)

    def discard_draft(self, household_id: str) -> None:
        """Forget the household's draft (the saved household, if any, is untouched)."""
        with self._transaction() as db:
            draft_rows.discard_draft(db, household_id)

    # ----- sync -------------------------------------------------------------------------

    def enrolment(self) -> Enrolment | None:
        """The device's enrolment (server, token, role, scope), or None before enrolling."""
        with self._connect() as db:
            return sync_state.enrolment(db)

    def enrol(self, granted: Enrolment, units: Iterable[Unit]) -> None:
        """Store an enrolment and the units of its scope, in one transaction.

        Raises EnrolmentError (nothing changed) when another server's or scope's
        households hold unsynced edits.
        """
        with self._transaction() as db:
            dropped = sync_state.enrol(db, granted)
            _replace_units(db, units)
        if dropped:
            self._scrub()

    def check_enrol(self, server: str) -> None:
        """Raise EnrolmentError if enrolling with `server` would lose unsynced edits of another server."""
        with self._connect() as db:
            sync_state.check_enrol(db, server)

    def replace_units(self, units: Iterable[Unit]) -> None:
        """Replace the units the device holds (its scope's, as the server names them)."""
        with self._transaction() as db:
            _replace_units(db, units)

    def wipe(self) -> None:
        """Erase every household, draft, change, unit and setting (the device was revoked, or signed out),
        leaving none of it in any file of the store's folder."""
        with self._transaction() as db:
            sync_state.wipe(db)
        self._scrub()

    def _scrub(self) -> None:
        """Clear deleted data from the files: deleting rows only frees pages (zeroed by secure_delete), and
        the WAL keeps every page written since the last checkpoint. The file is rebuilt (VACUUM), the WAL
        checkpointed and cut to zero bytes, and copies of a damaged store kept for support are deleted."""
        self._checkpointer.stop()  # one checkpoint at a time: ours fails busy while another runs (it restarts later)
        with self._connect() as db:
            db.execute("VACUUM")
            deadline = time.monotonic() + BUSY_TIMEOUT
            # Waiting for readers and writers uses the busy timeout, but a checkpoint another connection
            # is running (another process's) answers busy at once: try again until the timeout.
            while db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]:
                if time.monotonic() > deadline:
                    raise StoreBusyError("the wiped data could not be cleared from the write-ahead log; try again")
                time.sleep(0.05)
        for copy in moved_aside(self.path):
            copy.unlink(missing_ok=True)

    def cursor(self) -> str | None:
        """Where the next pull starts (None: from the beginning)."""
        with self._connect() as db:
            return sync_state.get_meta(db, sync_state.CURSOR)

    def outgoing(self, limit: int) -> list[OutboxChange]:
        """Up to `limit` changes ready to push, oldest first, each with the base it goes on."""
        with self._connect() as db:
            return sync_state.outgoing(db, limit)

    def mark_sent(self, changes: Iterable[OutboxChange]) -> None:
        """Record, before sending, that these changes leave with exactly this body."""
        with self._transaction() as db:
            sync_state.mark_sent(db, changes, now=self._clock().isoformat())

    def apply_pulled(self, changes: Iterable[dict[str, Any]], cursor: str) -> int:
        """Apply a pulled page and store its cursor in one transaction; returns revisions newly applied."""
        with self._transaction() as db:
            return sync_state.apply_pulled(db, changes, cursor=cursor, now=self._clock().isoformat())

    def pending_count(self) -> int:
        """Edits not yet acknowledged by the server."""
        with self._connect() as db:
            return db.execute("SELECT count(*) FROM outbox WHERE state = ?", [ChangeState.PENDING]).fetchone()[0]

    def load_units(self, csv_text: str) -> list[Unit]:
        """Load a units CSV (all rows or none) against the units already held."""
        with self._transaction() as db:
            units = parse_units_csv(csv_text, known=_units(db))
            db["units"].upsert_all((_unit_row(u) for u in units), pk="code")
        return units

    # ----- reads --------------------------------------------------------------------

    def get(self, household_id: str) -> Household | None:
        """The household as last saved or pulled, or None."""
        with self._connect() as db:
            row = db.execute("SELECT document FROM households WHERE id = ?", [household_id]).fetchone()
        return None if row is None else Household.from_document(json.loads(row[0]))

    def list_households(self, hamlet_code: str) -> list[HouseholdSummary]:
        """The households of a hamlet, by house number (natural order) and name, with their four-check summary."""
        with self._connect() as db:
            rows = db.query(
                f"SELECT {SUMMARY_COLUMNS} FROM households WHERE hamlet_code = ? ORDER BY house_sort, head_name",
                [hamlet_code],
            )
            return [_summary(row) for row in rows]

    def same_house_no(self, hamlet_code: str, house_no: str, *, other_than: str) -> HouseholdSummary | None:
        """Another household of the hamlet with this house number, as the list sorts it (case and diacritics
        ignored), or None: one lookup in the list's (hamlet_code, house_sort) index."""
        with self._connect() as db:
            rows = db.query(
                f"SELECT {SUMMARY_COLUMNS} FROM households WHERE hamlet_code = ? AND house_sort = ? AND id != ? LIMIT 1",
                [hamlet_code, house_sort_key(house_no), other_than],
            )
            return next((_summary(row) for row in rows), None)

    def browse(
        self, hamlet_codes: Iterable[str], *, only: str = "all", state: str = "all", limit: int = 200
    ) -> list[HouseholdSummary]:
        """The first `limit` households of the hamlets by hamlet, house number (natural order) and name,
        keeping `only` those not visited, with a follow-up, surveyed but not fully covered, or refused by
        the server (`BROWSE`), and of one `state` (`BROWSE_STATE`: with a draft, saved and not sent, sent,
        needs fix, in conflict): filtered and cut in SQL, so a 50,000-household store lists as fast as a hamlet."""
        where = f"({BROWSE[only]}) AND ({BROWSE_STATE[state]})"
        return self._summaries_of(hamlet_codes, where, "hamlet_code, house_sort, head_name", limit)

    def follow_ups(self, hamlet_codes: Iterable[str], *, limit: int = 200) -> list[HouseholdSummary]:
        """Households of the hamlets with a follow-up visit, soonest first (by the follow-up index)."""
        return self._summaries_of(hamlet_codes, BROWSE["follow_up"], "follow_up_due, label_code", limit)

    def _summaries_of(self, hamlet_codes: Iterable[str], where: str, order: str, limit: int) -> list[HouseholdSummary]:
        codes = list(hamlet_codes)
        if not codes:
            return []
        with self._connect() as db:
            rows = db.query(
                f"SELECT {SUMMARY_COLUMNS} FROM households WHERE hamlet_code IN ({', '.join('?' * len(codes))}) "
                f"AND {where} ORDER BY {order} LIMIT ?",
                [*codes, limit],
            )
            return [_summary(row) for row in rows]

    def households(self, hamlet_code: str) -> list[Household]:
        """Every household of a hamlet as the device holds it (for figures computed with the domain)."""
        with self._connect() as db:
            rows = db.execute("SELECT document FROM households WHERE hamlet_code = ? ORDER BY id", [hamlet_code])
            return [Household.from_document(json.loads(row[0])) for row in rows]

    def hamlet_figures(self, hamlet_code: str) -> tuple[dict[str, int], Tally]:
        """Households per visit status and the hamlet's tally: sums of the per-household tallies the
        domain computed when each household was written (what the server's counters hold too)."""
        sums = [f"sum({c})" for c in FIGURE_COLUMNS]
        with self._connect() as db:
            visits = dict(db.execute(
                "SELECT visit_status, count(*) FROM households WHERE hamlet_code = ? GROUP BY visit_status", [hamlet_code]
            ).fetchall())  # fmt: skip
            row = db.execute(
                f"SELECT {', '.join(sums)} FROM households WHERE hamlet_code = ? AND visit_status = 'surveyed'", [hamlet_code]
            ).fetchone()
        total = dict(zip(FIGURE_COLUMNS, (value or 0 for value in row), strict=True))
        figures = {
            check.value: Figure(covered=total[f"{check.value}_covered"], eligible=total[f"{check.value}_eligible"],
                                unknown=total[f"{check.value}_unknown"],
                                level1=total["vneid_level1"] if check is Check.VNEID else 0)
            for check in Check
        }  # fmt: skip
        tally = Tally(households=sum(visits.values()), surveyed=visits.get("surveyed", 0),
                      fully_covered=total["fully_covered"], **figures)  # fmt: skip
        return visits, tally

    def surveyor_progress(self, hamlet_codes: Iterable[str], *, today: str) -> list[SurveyorProgress]:
        """Surveyed households per team member (who stored the latest revision; "" = this device),
        most first: total, fully covered, surveyed on `today` (ISO date) and the last survey day."""
        codes = list(hamlet_codes)
        if not codes:
            return []
        marks = ", ".join("?" * len(codes))
        with self._connect() as db:
            rows = db.execute(
                f"SELECT surveyor, count(*), sum(fully_covered), sum(surveyed_on = ?), max(surveyed_on) "
                f"FROM households WHERE visit_status = 'surveyed' AND hamlet_code IN ({marks}) "
                f"GROUP BY surveyor ORDER BY count(*) DESC, surveyor",
                [today, *codes],
            ).fetchall()
        return [SurveyorProgress(name, total, fully or 0, on_day or 0, last) for name, total, fully, on_day, last in rows]

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


BROWSE = {
    "all": "1",
    "not_visited": "visit_status != 'surveyed'",
    "follow_up": "follow_up_due IS NOT NULL",
    "not_covered": "visit_status = 'surveyed' AND fully_covered = 0",
    "needs_fix": f"sync_state = '{ChangeState.REJECTED}'",
}
# The device learns of a conflict only from the server's answer to its own change (`conflict_rev`); it holds
# until a newer revision of the household is pulled (the leader's resolution, or any later edit) or the
# household is edited again here. A conflict between two other devices is not known here.
# Rare states are found through an index (drafts' key, conflict_rev, sync_state); the common one (sent) walks
# the list's ordered index: `+sync_state` keeps SQLite from sorting every sent household of 50,000.
IN_CONFLICT = f"(conflict_rev IS NOT NULL AND +sync_state = '{ChangeState.SYNCED}' AND coalesce(rev, 0) <= conflict_rev)"
HAS_DRAFT = "(id IN (SELECT household_id FROM drafts))"
BROWSE_STATE = {
    "all": "1",
    "draft": HAS_DRAFT,
    "pending": f"sync_state = '{ChangeState.PENDING}'",
    "synced": f"+sync_state = '{ChangeState.SYNCED}' AND NOT {IN_CONFLICT}",
    "rejected": f"sync_state = '{ChangeState.REJECTED}'",
    # the few households with a conflict_rev, through its index, then sorted
    "conflict": f"id IN (SELECT id FROM households WHERE conflict_rev > 0) AND {IN_CONFLICT}",
}
FIGURE_COLUMNS = (
    *(f"{check.value}_{part}" for check in Check for part in ("covered", "eligible", "unknown")),
    "vneid_level1", "fully_covered",
)  # fmt: skip
SUMMARY_COLUMNS = ", ".join(
    [
        "id", "hamlet_code", "label_code", "house_no", "head_name", "visit_status", "members_count",
        *(f"{check.value}_{part}" for check in Check for part in ("covered", "eligible")),
        "fully_covered", "sync_state", "follow_up_due", f"{HAS_DRAFT} AS has_draft", f"{IN_CONFLICT} AS in_conflict",
    ]
)  # fmt: skip


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
        "ORDER BY hamlet_code, house_sort, head_name"
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
        has_draft=bool(row["has_draft"]),
        in_conflict=bool(row["in_conflict"]),
    )


def _replace_units(db: Database, units: Iterable[Unit]) -> None:
    db.execute("DELETE FROM units")
    db["units"].insert_all((_unit_row(u) for u in units), pk="code", replace=True)


def _unit_row(unit: Unit) -> dict[str, Any]:
    return {
        "code": unit.code,
        "name": unit.name,
        "level": str(unit.level),
        "parent_code": unit.parent_code,
        "expected_households": unit.expected_households,
    }


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
