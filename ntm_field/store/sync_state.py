"""The sync side of the local store: which edit goes out next and on what base, the server's answers,
pulled revisions, and the device's settings (enrolment, cursor).

Each household row holds two versions: `document`, what the surveyor sees (the
server's copy plus local edits not yet acknowledged), and `base_document` at
`rev`, the server's copy the device last received. Local edits are rebased on
a newer server copy with the domain's three-way merge, local values winning,
so the server still sees a contradiction (and records a conflict) when pushed.

The outbox holds at most one unsent change per household: a new edit replaces
an unsent one (marked superseded; its document is a subset of the new one).
A change that has been sent keeps its exact body, since a retry must be byte
for byte the same change; an edit made meanwhile waits (`after_change`) for the
answer and is then based on the revision that answer produced.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from ntm_field.domain.device import Enrolment
from ntm_field.domain.merge import merge
from ntm_field.domain.outbox import ChangeResult, ChangeState, OutboxChange, ResultStatus
from ntm_field.domain.records import Household
from ntm_field.domain.validation import validate_document
from ntm_field.store.rows import delete_household, refresh_sync_state, to_json, write_household

ENROLMENT = "enrolment"
CURSOR = "cursor"


class EnrolmentError(Exception):
    """The device cannot be enrolled in this state (e.g. unsynced edits for another server or scope)."""


# ----- settings --------------------------------------------------------------------------


def get_meta(db: Database, key: str) -> str | None:
    row = db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    return None if row is None else row[0]


def set_meta(db: Database, key: str, value: str | None) -> None:
    if value is None:
        db.execute("DELETE FROM meta WHERE key = ?", [key])
    else:
        db.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", [key, value])


def enrolment(db: Database) -> Enrolment | None:
    value = get_meta(db, ENROLMENT)
    return None if value is None else Enrolment.from_json(json.loads(value))


def _unsynced(db: Database) -> int:
    return db.execute(
        "SELECT count(*) FROM outbox WHERE state IN (?, ?)", [ChangeState.PENDING, ChangeState.REJECTED]
    ).fetchone()[0]


def check_enrol(db: Database, server: str) -> None:
    previous = enrolment(db)
    if previous is not None and previous.server != server and _unsynced(db):
        raise EnrolmentError(f"{_unsynced(db)} unsynced changes of another server would be lost")


def enrol(db: Database, granted: Enrolment) -> bool:
    """Store a new enrolment; True when it dropped what the device held. A device enrolled before with
    another server or scope drops what it held (it keeps only its scope), unless unsynced edits would be
    lost: then EnrolmentError, nothing changed. A store never enrolled keeps its households (they are
    pushed with the new token)."""
    previous = enrolment(db)
    dropped = previous is not None and (previous.server, previous.scope) != (granted.server, granted.scope)
    if dropped:
        if _unsynced(db):
            raise EnrolmentError(f"{_unsynced(db)} unsynced changes would be lost")
        wipe(db)
    set_meta(db, ENROLMENT, json.dumps(granted.to_json()))
    return dropped


def wipe(db: Database) -> None:
    """Remove every household, draft, change, unit and setting (a revoked device, or a new enrolment)."""
    db.execute("PRAGMA secure_delete = ON")  # overwrite the freed pages: the data must not linger in the file
    for table in ("members", "households", "drafts", "outbox", "units", "meta"):
        db.execute(f"DELETE FROM {table}")
    # The search index deletes by adding tombstones: its old segments (trigrams of names) stay until emptied.
    db.execute("INSERT INTO households_fts(households_fts) VALUES ('delete-all')")


# ----- outgoing --------------------------------------------------------------------------


def queue_edit(db: Database, household_id: str, document: str, *, change_id: str, now: str) -> int | None:
    """Add the outbox entry of a saved edit; returns the base revision it records (None: decided later)."""
    db.execute(
        "UPDATE outbox SET state = ?, settled_at = ? WHERE household_id = ? AND state = ?",
        [ChangeState.SUPERSEDED, now, household_id, ChangeState.REJECTED],
    )
    pending = db.execute(
        "SELECT change_id, base_rev, sent_at, after_change FROM outbox WHERE household_id = ? AND state = ? ORDER BY seq",
        [household_id, ChangeState.PENDING],
    ).fetchall()
    unsent = [row for row in pending if row[2] is None]
    in_flight = [row for row in pending if row[2] is not None]
    if unsent:
        base_rev, after = unsent[-1][1], unsent[-1][3]
        db.execute(
            f"UPDATE outbox SET state = ?, settled_at = ? WHERE change_id IN ({','.join('?' * len(unsent))})",
            [ChangeState.SUPERSEDED, now, *(row[0] for row in unsent)],
        )
    elif in_flight:
        base_rev, after = None, in_flight[-1][0]
    else:
        known = db.execute("SELECT rev FROM households WHERE id = ?", [household_id]).fetchone()
        base_rev, after = (known[0] if known else None), None
    db.execute(
        "INSERT INTO outbox (change_id, household_id, base_rev, deleted, document, created_at, state, after_change) "
        "VALUES (?, ?, ?, 0, ?, ?, ?, ?)",
        [change_id, household_id, base_rev, document, now, ChangeState.PENDING, after],
    )
    return base_rev


def outgoing(db: Database, limit: int) -> list[OutboxChange]:
    """Up to `limit` pending changes that can be pushed now, oldest first, with the base they go on.

    A change waiting for an earlier change's answer is skipped; so is one waiting
    for the revision that answer produced to be pulled (a merged answer: the
    device needs the merged document to rebase its later edit on it).
    """
    rows = db.execute(
        """SELECT o.seq, o.change_id, o.household_id, o.base_rev, o.deleted, o.document, o.created_at,
                  o.sent_at, p.state, p.result_status, p.rev, p.document, h.rev, h.base_document
           FROM outbox o
           LEFT JOIN outbox p ON p.change_id = o.after_change
           LEFT JOIN households h ON h.id = o.household_id
           WHERE o.state = ? ORDER BY o.seq""",
        [ChangeState.PENDING],
    )
    ready: list[OutboxChange] = []
    for (seq, change_id, household_id, base_rev, deleted, document, created_at, sent_at,
         prev_state, prev_status, prev_rev, prev_document, known_rev, base_document) in rows:  # fmt: skip
        if prev_state is not None and sent_at is None:
            if prev_state != ChangeState.SYNCED:
                continue  # the earlier change is still on its way
            if prev_status == ResultStatus.APPLIED:
                base_rev = prev_rev  # the server holds exactly what was sent: this edit's own base
            elif known_rev is not None and known_rev >= prev_rev and base_document is not None:
                base_rev, document = known_rev, _rebase(prev_document, base_document, document)
            else:
                continue  # merged on the server: wait until the merged revision is pulled
        ready.append(
            OutboxChange(
                seq=seq,
                change_id=change_id,
                household_id=household_id,
                base_rev=base_rev,
                deleted=bool(deleted),
                document=json.loads(document) if document else None,
                created_at=datetime.fromisoformat(created_at),
            )
        )
        if len(ready) >= limit:
            break
    return ready


def mark_sent(db: Database, changes: Iterable[OutboxChange], *, now: str) -> None:
    """Freeze what is about to be sent: a retry must carry the very same change."""
    for change in changes:
        db.execute(
            "UPDATE outbox SET sent_at = coalesce(sent_at, ?), base_rev = ?, document = ?, after_change = NULL "
            "WHERE change_id = ? AND state = ?",
            [now, change.base_rev, None if change.document is None else to_json(change.document),
             change.change_id, ChangeState.PENDING],
        )  # fmt: skip


def record_results(db: Database, results: Iterable[ChangeResult], *, now: str) -> None:
    """Settle pushed changes with the server's answers (a result seen twice changes nothing)."""
    for result in results:
        row = db.execute(
            "SELECT household_id, base_rev, document FROM outbox WHERE change_id = ? AND state = ?",
            [result.change_id, ChangeState.PENDING],
        ).fetchone()
        if row is None:
            continue
        household_id, base_rev, document = row
        if result.status.stored:
            db.execute(
                "UPDATE outbox SET state = ?, result_status = ?, rev = ?, settled_at = ? WHERE change_id = ?",
                [ChangeState.SYNCED, result.status, result.rev, now, result.change_id],
            )
            if result.status is ResultStatus.CONFLICT:
                # The device's one sign of a conflict: it lasts until a newer revision (a leader's
                # resolution, or any later edit) is pulled; see BROWSE_STATE in store/local.py.
                db.execute("UPDATE households SET conflict_rev = ? WHERE id = ?", [result.rev, household_id])
            if result.status is ResultStatus.APPLIED:
                # Stored as sent: that is now the server's copy at this revision.
                db.execute(
                    "UPDATE households SET rev = ?, base_document = ? WHERE id = ? AND (rev IS NULL OR rev < ?)",
                    [result.rev, document, household_id, result.rev],
                )
        else:
            db.execute(
                """UPDATE outbox SET state = ?, result_status = ?, error_code = ?, error_field = ?,
                   error_message = ?, settled_at = ? WHERE change_id = ?""",
                [ChangeState.REJECTED, ResultStatus.REJECTED, result.error_code or "invalid", result.error_field,
                 result.error_message or "", now, result.change_id],
            )  # fmt: skip
            # An edit made while this one was on its way carries the household forward: it replaces
            # the refused change and is judged afresh on the refused change's base.
            later = db.execute(
                "UPDATE outbox SET after_change = NULL, base_rev = ? WHERE after_change = ? AND state = ? RETURNING change_id",
                [base_rev, result.change_id, ChangeState.PENDING],
            ).fetchall()
            if later:
                db.execute("UPDATE outbox SET state = ? WHERE change_id = ?", [ChangeState.SUPERSEDED, result.change_id])
        refresh_sync_state(db, household_id)


# ----- incoming --------------------------------------------------------------------------


def apply_pulled(db: Database, changes: Iterable[dict[str, Any]], *, cursor: str, now: str) -> int:
    """Apply one pulled page and move the cursor past it; returns the revisions newly applied.

    Idempotent by revision: a revision the device already holds is skipped. A
    household with local edits not yet acknowledged keeps them, rebased on the
    pulled revision; the server merges them when they are pushed.
    """
    applied = 0
    for change in changes:
        household_id, rev = change["id"], change["rev"]
        row = db.execute("SELECT rev, document, base_document FROM households WHERE id = ?", [household_id]).fetchone()
        if row is not None and row[0] is not None and row[0] >= rev:
            continue
        local_edits = db.execute(
            "SELECT count(*) FROM outbox WHERE household_id = ? AND state IN (?, ?)",
            [household_id, ChangeState.PENDING, ChangeState.REJECTED],
        ).fetchone()[0]
        pulled = None if change["deleted"] or change["data"] is None else change["data"]
        if pulled is None:
            if local_edits and row is not None:
                db.execute("UPDATE households SET rev = ?, base_document = NULL WHERE id = ?", [rev, household_id])
            else:
                delete_household(db, household_id)
        elif local_edits and row is not None:
            rebased = _rebase_local(db, household_id, rev, pulled, known_rev=row[0], local=json.loads(row[1]),
                                    base=json.loads(row[2]) if row[2] else pulled)  # fmt: skip
            write_household(db, Household.from_document(rebased), rev=rev, base_document=to_json(pulled),
                            sync_state=ChangeState.PENDING, now=now)  # fmt: skip
            refresh_sync_state(db, household_id)
        else:
            write_household(db, Household.from_document(pulled), rev=rev, base_document=to_json(pulled),
                            sync_state=ChangeState.SYNCED, now=now)  # fmt: skip
        if pulled is not None and isinstance(change.get("surveyor"), str):
            db.execute("UPDATE households SET surveyor = ? WHERE id = ?", [change["surveyor"][:80], household_id])
        applied += 1
    set_meta(db, CURSOR, cursor)
    return applied


def _rebase_local(
    db: Database, household_id: str, rev: int, pulled: dict, *, known_rev: int | None, local: dict, base: dict
) -> dict:
    """The local document moved onto the pulled revision, keeping what the server has not seen yet.

    The local edits are counted from the last change that left the device when the
    device does not hold that change's revision yet (in flight, or answered but not
    pulled): that change's own edits reach the server by themselves, and an edit made
    after it (even one undoing it) is measured against it.
    """
    sent = db.execute(
        "SELECT state, rev, document FROM outbox WHERE household_id = ? AND sent_at IS NOT NULL "
        "AND state IN (?, ?) ORDER BY seq DESC LIMIT 1",
        [household_id, ChangeState.PENDING, ChangeState.SYNCED],
    ).fetchone()
    if sent is None or sent[2] is None or (sent[0] == ChangeState.SYNCED and known_rev is not None and sent[1] <= known_rev):
        return _rebase_documents(base, pulled, local)
    sent_document = json.loads(sent[2])
    # The pulled revision holds the sent change already, or will get it on top when it arrives.
    server = pulled if sent[0] == ChangeState.SYNCED and rev >= sent[1] else _rebase_documents(base, pulled, sent_document)
    return _rebase_documents(sent_document, server, local)


def _rebase(base: str | None, server: str, local: str | None) -> str | None:
    """Local edits (from `base` to `local`) replayed on the server's copy; local values win."""
    if local is None:
        return None
    return to_json(_rebase_documents(json.loads(base) if base else json.loads(server), json.loads(server), json.loads(local)))


def _rebase_documents(base: dict, server: dict, local: dict) -> dict:
    merged = merge(Household.from_document(base), Household.from_document(server), Household.from_document(local))
    document = merged.household.to_document()
    # Two valid versions can merge into an invalid one (see the server's merge): keep the local edit whole.
    return local if validate_document(document, today=None) else document


