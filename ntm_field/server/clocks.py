"""Revision numbers, one clock per hamlet, and the pull cursor (docs/server.md, "Revisions").

A writer of households, inside its transaction and in this order:

1. `lock_keys`: on PostgreSQL, transaction-level advisory locks on its households' ids and its change ids,
   taken in one global order (two writers of one household take turns; no two writers wait on each other
   in a cycle). SQLite's writers take turns anyway (BEGIN IMMEDIATE): nothing to do there.
2. `lock_hamlets`: the clock rows of every hamlet it writes or counts in, in code order, held until commit:
   writers of one hamlet take turns, writers of different hamlets never wait for each other.
3. `next_rev` / `next_revs` for its revisions, after those locks: PostgreSQL's sequence `revision_seq`
   (no lock), SQLite's `sync_clock` row.
4. `advance` each hamlet's clock to the last revision written there, before commit.

Because a hamlet's writers take turns and take their numbers while holding its clock, the revisions of a
hamlet commit in increasing order, and every revision at or below a hamlet's committed clock has committed.
A pull therefore reads the clocks of its hamlets first, then the households up to them: whatever it has seen
of a hamlet, it never later finds an unseen lower revision there. Its cursor is a vector: the revision seen
in each hamlet (`Cursor`).
"""

from __future__ import annotations

import base64
import hashlib
import re
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ntm_field.server.db import Tx

MAX_REV = 2**63 - 1  # revisions are BIGINT in both engines
MAX_CURSOR = 8192  # characters of a cursor as sent (a commune leader's is ~300)
_HAMLET = re.compile(r"[0-9A-Za-z_.-]{1,40}")


def lock_keys(tx: Tx, dialect: str, keys: Iterable[str]) -> None:
    """PostgreSQL: advisory locks on `keys` (e.g. "household:<id>") until the transaction ends, in the
    order of their 64-bit hashes, whoever takes them."""
    if dialect != "postgresql":
        return
    hashed = sorted({_key_hash(key) for key in keys})
    if hashed:
        tx.one(
            "SELECT count(pg_advisory_xact_lock(k)) FROM (SELECT unnest(?::bigint[]) AS k ORDER BY 1) AS keys",
            [hashed],
        )


def lock_hamlets(tx: Tx, hamlet_codes: Iterable[str]) -> None:
    """Hold the clock rows of these hamlets until commit (created at 0 for a hamlet's first revision)."""
    for code in sorted(set(hamlet_codes)):
        tx.execute(
            "INSERT INTO hamlet_clocks (hamlet_code, rev) VALUES (?, 0) "
            "ON CONFLICT (hamlet_code) DO UPDATE SET rev = hamlet_clocks.rev",
            [code],
        )


def next_rev(tx: Tx, dialect: str) -> int:
    """The next revision number (unique over the whole database, increasing in time)."""
    if dialect == "postgresql":
        return tx.one("SELECT nextval('revision_seq')")[0]
    return tx.one("UPDATE sync_clock SET seq = seq + 1 WHERE id = 1 RETURNING seq")[0]


def next_revs(tx: Tx, dialect: str, count: int) -> list[int]:
    """`count` revision numbers at once, increasing."""
    if dialect == "postgresql":
        return sorted(row[0] for row in tx.all("SELECT nextval('revision_seq') FROM generate_series(1, ?)", [count]))
    last = tx.one("UPDATE sync_clock SET seq = seq + ? WHERE id = 1 RETURNING seq", [count])[0]
    return list(range(last - count + 1, last + 1))


def advance(tx: Tx, hamlet_revs: Mapping[str, int]) -> None:
    """Move each hamlet's clock up to the last revision this transaction wrote there."""
    for code, rev in sorted(hamlet_revs.items()):
        tx.execute("UPDATE hamlet_clocks SET rev = ? WHERE hamlet_code = ? AND rev < ?", [rev, code, rev])


def committed(tx: Tx, hamlet_codes: list[str]) -> dict[str, int]:
    """The committed clock of each hamlet that has one (hamlets never written have none)."""
    found: dict[str, int] = {}
    for start in range(0, len(hamlet_codes), 500):
        part = hamlet_codes[start : start + 500]
        found.update(tx.all(f"SELECT hamlet_code, rev FROM hamlet_clocks WHERE hamlet_code IN ({', '.join('?' * len(part))})", part))
    return found


@dataclass(frozen=True)
class Cursor:
    """What a device has seen: revisions up to `seen[h]` of hamlet h, and up to `floor` of any hamlet not
    listed (a cursor of version 1, from the single clock, is a floor alone)."""

    floor: int = 0
    seen: Mapping[str, int] = field(default_factory=dict)

    def of(self, hamlet_code: str) -> int:
        return max(self.floor, self.seen.get(hamlet_code, 0))

    def encode(self) -> str:
        """Compact text: the lowest hamlet becomes the floor and only hamlets above it are listed. Raising the
        floor is safe: the hamlets listed are all the device's hamlets, and a hamlet added to the units later
        gets revisions numbered after every revision counted here."""
        floor = max(self.floor, min(self.seen.values())) if self.seen else self.floor
        listed = ";".join(f"{code}={rev}" for code, rev in sorted(self.seen.items()) if rev > floor)
        text = f"v2:{floor}" + (f";{listed}" if listed else "")
        return base64.urlsafe_b64encode(zlib.compress(text.encode(), 9)).decode().rstrip("=")


def decode_cursor(text: str | None) -> Cursor:
    """A cursor this server gave (version 1 or 2); ValueError for anything else."""
    if not text:
        return Cursor()
    if len(text) > MAX_CURSOR:
        raise ValueError("cursor")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        if raw.startswith(b"v1:"):
            return Cursor(floor=_rev(raw[3:].decode()))
        inflater = zlib.decompressobj()
        plain = inflater.decompress(raw, 4 * MAX_CURSOR)
        if inflater.unconsumed_tail or not inflater.eof or not plain.startswith(b"v2:"):
            raise ValueError
        floor_text, *entries = plain[3:].decode().split(";")
        seen = {}
        for entry in entries:
            code, _, rev = entry.partition("=")
            if not _HAMLET.fullmatch(code) or code in seen:
                raise ValueError
            seen[code] = _rev(rev)
        return Cursor(floor=_rev(floor_text), seen=seen)
    except (ValueError, UnicodeDecodeError, zlib.error, base64.binascii.Error):
        raise ValueError("cursor") from None


def _rev(text: str) -> int:
    if not text.isascii() or not text.isdigit() or len(text) > 19 or int(text) > MAX_REV:
        raise ValueError("rev")
    return int(text)


def _key_hash(key: str) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)
