"""The server store: units, devices and enrolment, households with their history, counters, audit.

Every method is one transaction. Writers of households hold their hamlets' clocks
(clocks.py): a pull that has seen revision N of a hamlet never later finds a committed
revision of it below N (two server processes on one PostgreSQL included), and writers
of different hamlets never wait for each other.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ntm_field.domain import enrol_code
from ntm_field.domain.codes import Check
from ntm_field.domain.indicators import Tally, tally_household
from ntm_field.domain.records import Household
from ntm_field.domain.units import Level, Unit, UnitsFileError, parse_mapping_csv, parse_units_csv
from ntm_field.server import errors
from ntm_field.server.db import Backend, Tx
from ntm_field.server.roles import ADMIN
from ntm_field.server.schema import migrate

Clock = Callable[[], datetime]
IdFactory = Callable[[], str]

STRUCTURES = ("2024", "2025")
VISIT_COUNTERS = ("surveyed", "absent", "refused", "moved", "vacant")


def token_hash(secret: str) -> str:
    """Tokens are 256-bit random strings: a plain SHA-256 is enough to store them."""
    return hashlib.sha256(secret.encode()).hexdigest()


# An enrolment code has 50 bits only: its stored hash must be slow to try every code against (a stolen
# database copy must not give away the codes still open). The salt is fixed because codes are looked up
# by their hash; 10,000 rounds cost ~2 ms per enrolment.
CODE_HASH_SALT = b"ntm-field enrolment code"
CODE_HASH_ROUNDS = 10_000


def code_hash(typed: str) -> str:
    """The stored hash of an enrolment code as typed (any case or grouping). Text that is not a short
    code is hashed as the long codes of earlier versions were (SHA-256 of the text as given)."""
    symbols = enrol_code.normalise(typed)
    if not enrol_code.is_code(symbols):
        return token_hash(typed.strip())
    return hashlib.pbkdf2_hmac("sha256", symbols.encode(), CODE_HASH_SALT, CODE_HASH_ROUNDS).hex()


@dataclass(frozen=True, slots=True)
class Device:
    id: str
    name: str
    role: str
    scope: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class EnrolCode:
    code: str
    role: str
    scope: tuple[str, ...]
    expires: datetime


class UnitTree:
    """The administrative units of one structure, with ancestor lookups for scopes."""

    def __init__(self, units: Iterable[Unit]):
        self.units = {u.code: u for u in units}
        self.children: dict[str, list[str]] = {}
        self._hamlets: dict[str, tuple[str, ...]] = {}
        for unit in self.units.values():
            if unit.parent_code:
                self.children.setdefault(unit.parent_code, []).append(unit.code)

    def ancestors(self, code: str) -> list[str]:
        """The code itself and every unit above it."""
        chain = []
        while code in self.units and code not in chain:
            chain.append(code)
            code = self.units[code].parent_code or ""
        return chain

    def hamlets_under(self, code: str) -> tuple[str, ...]:
        """Every hamlet at or below `code` (remembered: a tree does not change once built)."""
        known = self._hamlets.get(code)
        if known is not None:
            return known
        found, stack = [], [code]
        while stack:
            current = stack.pop()
            unit = self.units.get(current)
            if unit is not None and unit.level is Level.HAMLET:
                found.append(current)
            stack.extend(self.children.get(current, ()))
        self._hamlets[code] = tuple(found)
        return self._hamlets[code]


@dataclass(frozen=True)
class UnitsSnapshot:
    """The unit trees of both structures and the mapping as of one units version; `memo` holds what
    readers derive from them (coverage roll-ups), dropped with the snapshot when the units change."""

    version: int
    trees: dict[str, UnitTree]
    mapping: dict[str, str]
    memo: dict = field(default_factory=dict)


class ServerStore:
    """All persistent state of the central endpoint, behind one interface for both engines."""

    def __init__(self, backend: Backend, *, clock: Clock, new_id: IdFactory):
        self.backend = backend
        self.clock = clock
        self.new_id = new_id
        self._units: UnitsSnapshot | None = None

    @property
    def dialect(self) -> str:
        return self.backend.dialect

    def migrate(self) -> list[str]:
        applied = migrate(self.backend)
        if "0004_hamlet_clocks_and_day_counters" in applied and self._has_households():
            self.recompute(actor="migration")  # the day counters of households stored before them
        return applied

    def close(self) -> None:
        self.backend.close()

    def _has_households(self) -> bool:
        with self.backend.read() as tx:
            return tx.one("SELECT 1 FROM households LIMIT 1") is not None

    # ----- units ---------------------------------------------------------------------

    def load_units(self, csv_text: str, *, structure: str | None = None, actor: str = "cli") -> list[Unit]:
        """Load a units CSV (all rows or none) into a structure (default: 2024 when it has districts)."""
        with self.backend.transaction() as tx:
            trees = {s: self._tree(tx, s) for s in STRUCTURES}
            if structure is None:
                structure = _infer_structure(csv_text, trees)
            units = parse_units_csv(csv_text, known=trees[structure].units)
            for unit in units:
                tx.execute(
                    """INSERT INTO units (structure, code, name, level, parent_code, expected_households)
                       VALUES (?, ?, ?, ?, ?, ?)
                       ON CONFLICT (structure, code) DO UPDATE SET expected_households = excluded.expected_households""",
                    [structure, unit.code, unit.name, str(unit.level), unit.parent_code, unit.expected_households],
                )
            tx.execute("UPDATE units_version SET seq = seq + 1 WHERE id = 1")
            self._audit(tx, actor, "units.load", structure, {"units": len(units)})
        return units

    def load_mapping(self, csv_text: str, *, actor: str = "cli") -> dict[str, str]:
        """Load the old→new commune mapping (2024 → 2025 structure)."""
        with self.backend.transaction() as tx:
            mapping = parse_mapping_csv(
                csv_text, old_units=self._tree(tx, "2024").units, new_units=self._tree(tx, "2025").units
            )
            for old, new in mapping.items():
                tx.execute(
                    "INSERT INTO unit_map (old_code, new_code) VALUES (?, ?) "
                    "ON CONFLICT (old_code) DO UPDATE SET new_code = excluded.new_code",
                    [old, new],
                )
            tx.execute("UPDATE units_version SET seq = seq + 1 WHERE id = 1")
            self._audit(tx, actor, "units.map", None, {"rows": len(mapping)})
        return mapping

    def units_snapshot(self) -> UnitsSnapshot:
        """The unit trees and the mapping, read again only when their version moved (one tiny query
        otherwise): a provincial report needs them on every request."""
        with self.backend.read() as tx:
            version = tx.one("SELECT seq FROM units_version WHERE id = 1")[0]
            cached = self._units
            if cached is not None and cached.version == version:
                return cached
            trees = {s: self._tree(tx, s) for s in STRUCTURES}
            mapping = dict(tx.all("SELECT old_code, new_code FROM unit_map"))
        self._units = UnitsSnapshot(version, trees, mapping)
        return self._units

    def tree(self, structure: str) -> UnitTree:
        return self.units_snapshot().trees[structure]

    def mapping(self) -> dict[str, str]:
        return dict(self.units_snapshot().mapping)

    def _tree(self, tx: Tx, structure: str) -> UnitTree:
        rows = tx.all(
            "SELECT code, name, level, parent_code, expected_households FROM units WHERE structure = ?", [structure]
        )
        return UnitTree(Unit(code, name, Level(level), parent, expected) for code, name, level, parent, expected in rows)

    # ----- devices, tokens, enrolment -------------------------------------------------

    def create_enrol_code(
        self, *, role: str, scope: Iterable[str], uses: int, expires_in: timedelta, created_by: str
    ) -> EnrolCode:
        """A new enrolment code (`K7QM-4XRT-9B`, 50 bits); only its hash is stored."""
        code = enrol_code.new_code(secrets.choice)
        expires = self.clock() + expires_in
        scope = tuple(scope)
        with self.backend.transaction() as tx:
            tx.execute(
                """INSERT INTO enrol_codes (code_hash, role, scope, uses_left, expires_at, created_by, created_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?)""",
                [code_hash(code), role, json.dumps(scope), uses, expires.isoformat(), created_by, self.clock().isoformat()],
            )
            self._audit(tx, created_by, "enrol_code.create", None, {"role": role, "scope": list(scope), "uses": uses})
        return EnrolCode(code=code, role=role, scope=scope, expires=expires)

    def enrol(self, code: str, device_name: str) -> tuple[Device, str]:
        """Exchange an enrolment code (any case or grouping) for a device and its token (returned once,
        stored hashed)."""
        now = self.clock()
        hashed = code_hash(code)
        with self.backend.transaction() as tx:
            # The row lock of the decrement makes two enrolments with a single-use code take turns.
            row = tx.one(
                "UPDATE enrol_codes SET uses_left = uses_left - 1 WHERE code_hash = ? AND uses_left > 0 "
                "RETURNING role, scope, expires_at",
                [hashed],
            )
            if row is None or datetime.fromisoformat(row[2]) <= now:
                raise errors.InvalidCode("the enrolment code is not valid")  # the decrement is rolled back
            token = secrets.token_urlsafe(32)
            device = Device(id=self.new_id(), name=device_name, role=row[0], scope=tuple(json.loads(row[1])))
            tx.execute(
                "INSERT INTO devices (id, name, role, scope, token_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                [device.id, device.name, device.role, json.dumps(device.scope), token_hash(token), now.isoformat()],
            )
            self._audit(tx, device.id, "device.enrol", device.id, {"role": device.role})
        return device, token

    def create_admin_token(self, name: str = "administrator") -> tuple[Device, str]:
        """An admin device (command line only): role admin, scope everything."""
        token = secrets.token_urlsafe(32)
        device = Device(id=self.new_id(), name=name, role=ADMIN, scope=())
        with self.backend.transaction() as tx:
            tx.execute(
                "INSERT INTO devices (id, name, role, scope, token_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                [device.id, name, device.role, "[]", token_hash(token), self.clock().isoformat()],
            )
            self._audit(tx, "cli", "device.admin_token", device.id, None)
        return device, token

    def authenticate(self, token: str) -> Device:
        """The device behind a token, read afresh on every call (a revocation counts at once): 401
        `invalid_token`, `device_revoked` or `token_expired` otherwise."""
        with self.backend.read() as tx:
            row = tx.one(
                "SELECT id, name, role, scope, expires_at, revoked_at FROM devices WHERE token_hash = ?",
                [token_hash(token)],
            )
        if row is None:
            raise errors.InvalidToken("the token is not known")
        if row[5] is not None:
            raise errors.DeviceRevoked("this device was revoked: its local data must be wiped")
        if row[4] is not None and datetime.fromisoformat(row[4]) <= self.clock():
            raise errors.TokenExpired("the token has expired")
        return Device(id=row[0], name=row[1], role=row[2], scope=tuple(json.loads(row[3])))

    def revoke(self, device_id: str, *, actor: str = "cli") -> bool:
        with self.backend.transaction() as tx:
            row = tx.one("SELECT revoked_at FROM devices WHERE id = ?", [device_id])
            if row is None:
                return False
            if row[0] is None:
                tx.execute("UPDATE devices SET revoked_at = ? WHERE id = ?", [self.clock().isoformat(), device_id])
            self._audit(tx, actor, "device.revoke", device_id, None)
        return True

    # ----- counters ------------------------------------------------------------------

    def counters(self, hamlet_codes: Iterable[str]) -> dict[str, tuple[int, ...]]:
        """The counters of the hamlets that have any, as tuples in the order of COUNTER_COLUMNS.

        Codes number the units province by province (a commune's hamlets start with its code), so a unit's
        hamlets lie in a few ranges of the primary key: one range scan per leading two digits reads them
        (2 ms for a province of 843 hamlets, whatever else a national table holds), the rows are kept by code."""
        wanted = set(hamlet_codes)
        ranges: dict[str, list[str]] = {}
        for code in sorted(wanted):
            ranges.setdefault(code[:2], []).append(code)
        rows: list[tuple] = []
        with self.backend.read() as tx:
            for codes in ranges.values():
                rows += tx.all(f"SELECT {COUNTER_SELECT} FROM hamlet_counters WHERE hamlet_code BETWEEN ? AND ?",
                               [codes[0], codes[-1]])  # fmt: skip
        return {row[0]: row[1:] for row in rows if row[0] in wanted}

    def day_counters(self, hamlet_codes: Iterable[str]) -> list[tuple]:
        """(day, *DAY_COLUMNS) summed over the hamlets, one row per survey day that has any, by day."""
        codes = sorted(set(hamlet_codes))
        sums = ", ".join(f"sum({column})" for column in DAY_COLUMNS)
        by_day: dict[str, list[int]] = {}
        with self.backend.read() as tx:
            for start in range(0, len(codes), 500):
                part = codes[start : start + 500]
                for day, *values in tx.all(
                    f"SELECT day, {sums} FROM hamlet_day_counters WHERE hamlet_code IN ({_marks(part)}) "
                    "GROUP BY day HAVING sum(households) <> 0", part
                ):
                    into = by_day.setdefault(day, [0] * len(DAY_COLUMNS))
                    for i, value in enumerate(values):
                        into[i] += int(value)
        return [(day, *by_day[day]) for day in sorted(by_day)]

    def recompute(self, *, actor: str = "cli") -> int:
        """Rebuild every hamlet counter and day counter from the stored households; returns the hamlets
        counted."""
        with self.backend.transaction() as tx:
            if self.dialect == "postgresql":  # wait for writers, and keep them out: a consistent rebuild
                tx.execute("LOCK TABLE hamlet_clocks IN EXCLUSIVE MODE")
            tx.execute("DELETE FROM hamlet_counters")
            tx.execute("DELETE FROM hamlet_day_counters")
            totals: dict[tuple[str, str], dict[str, int]] = {}
            for hamlet_code, document in tx.all("SELECT hamlet_code, document FROM households WHERE deleted = 0"):
                household = Household.from_document(json.loads(document))
                add_counts(totals, (hamlet_code, household.surveyed_on.isoformat()), household_counts(household), sign=1)
            apply_counter_deltas(tx, totals)
            self._audit(tx, actor, "counters.recompute", None, {"hamlets": len({hamlet for hamlet, _ in totals})})
        return len({hamlet for hamlet, _ in totals})

    # ----- audit ---------------------------------------------------------------------

    def audit(self, actor: str, action: str, target: str | None, detail: dict | None) -> None:
        with self.backend.transaction() as tx:
            self._audit(tx, actor, action, target, detail)

    def _audit(self, tx: Tx, actor: str, action: str, target: str | None, detail: dict | None) -> None:
        """Append to the audit log: ids, roles and counts only, never names or documents."""
        tx.execute(
            "INSERT INTO audit (at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)",
            [self.clock().isoformat(), actor, action, target, None if detail is None else json.dumps(detail)],
        )

    def audit_rows(self, tx: Tx, rows: list[tuple[str, str, str | None, dict | None]]) -> None:
        """Append several entries (actor, action, target, detail) in one statement per 200, in order."""
        at = self.clock().isoformat()
        for start in range(0, len(rows), 200):
            part = rows[start : start + 200]
            tx.execute(
                "INSERT INTO audit (at, actor, action, target, detail) VALUES " + ", ".join("(?, ?, ?, ?, ?)" for _ in part),
                [value for actor, action, target, detail in part
                 for value in (at, actor, action, target, None if detail is None else json.dumps(detail))],
            )  # fmt: skip

    def audit_entries(self) -> list[tuple]:
        with self.backend.read() as tx:
            return tx.all("SELECT seq, at, actor, action, target, detail FROM audit ORDER BY seq")


COUNTER_COLUMNS = (
    "households", *VISIT_COUNTERS, "fully_covered",
    *(f"{c}_{part}" for c in ("cccd", "vneid", "smartphone", "sim") for part in ("covered", "eligible", "unknown", "level1")),
)  # fmt: skip
COUNTER_SELECT = ", ".join(("hamlet_code", *COUNTER_COLUMNS))
# What the progress series needs per hamlet and survey day (hamlet_day_counters).
# `households` marks the days that have any household (a day of absent households only is in the series).
DAY_COLUMNS = ("households", "surveyed", *(f"{c.value}_{part}" for c in Check for part in ("covered", "eligible")))
_FIGURE_COLUMNS = tuple(
    (check.value, tuple((part, f"{check.value}_{part}") for part in ("covered", "eligible", "unknown", "level1")))
    for check in Check
)


def household_counts(household: Household) -> dict[str, int]:
    """A household's contribution to its hamlet's counters (the domain's indicator function)."""
    tally: Tally = tally_household(household)
    counts = dict.fromkeys(COUNTER_COLUMNS, 0)
    counts["households"] = tally.households
    counts[str(household.visit_status)] = 1
    counts["fully_covered"] = tally.fully_covered
    for name, columns in _FIGURE_COLUMNS:
        figure = getattr(tally, name)
        for part, column in columns:
            counts[column] = getattr(figure, part)
    return counts


def add_counts(total: dict[tuple[str, str], dict[str, int]], key: tuple[str, str], counts: dict[str, int], *, sign: int) -> None:
    """Add a household's counts (or take them away) in `total`, a batch's deltas by (hamlet, survey day)."""
    deltas = total.setdefault(key, dict.fromkeys(COUNTER_COLUMNS, 0))
    for column, value in counts.items():
        deltas[column] += sign * value


def apply_counter_deltas(tx: Tx, total: dict[tuple[str, str], dict[str, int]]) -> None:
    """Write a batch's counter deltas: one statement per hamlet and one per (hamlet, day), whatever the
    number of changes; rows that would not change are not touched."""
    by_hamlet: dict[str, dict[str, int]] = {}
    for (hamlet_code, day), deltas in sorted(total.items()):
        if any(deltas[column] for column in DAY_COLUMNS):
            _upsert(tx, "hamlet_day_counters", ("hamlet_code", "day"), (hamlet_code, day), deltas, DAY_COLUMNS)
        into = by_hamlet.setdefault(hamlet_code, dict.fromkeys(COUNTER_COLUMNS, 0))
        for column, value in deltas.items():
            into[column] += value
    for hamlet_code, deltas in sorted(by_hamlet.items()):
        if any(deltas.values()):
            _upsert(tx, "hamlet_counters", ("hamlet_code",), (hamlet_code,), deltas, COUNTER_COLUMNS)


def _upsert(tx: Tx, table: str, key_columns: tuple[str, ...], key: tuple[str, ...], deltas: dict[str, int],
            counted: tuple[str, ...]) -> None:  # fmt: skip
    columns = ", ".join((*key_columns, *counted))
    marks = ", ".join("?" * (len(key_columns) + len(counted)))
    added = ", ".join(f"{column} = {table}.{column} + excluded.{column}" for column in counted)
    tx.execute(
        f"INSERT INTO {table} ({columns}) VALUES ({marks}) ON CONFLICT ({', '.join(key_columns)}) DO UPDATE SET {added}",
        [*key, *(deltas[column] for column in counted)],
    )


def _marks(values: list) -> str:
    return ", ".join("?" * len(values))


def _infer_structure(csv_text: str, trees: dict[str, UnitTree]) -> str:
    """2024 for a file with districts (abolished on 1 July 2025); else the structure holding
    most of the parents the file refers to (hamlet files); else 2025 (a new two-level file)."""
    rows = [line.split(",") for line in csv_text.splitlines()[1:] if line.count(",") >= 4]
    if any(row[2] == "district" for row in rows):
        return "2024"
    outside = {row[3] for row in rows} - {row[0] for row in rows} - {""}
    if not outside:
        return "2025" if rows else "2024"
    in_2024 = len(outside & set(trees["2024"].units))
    in_2025 = len(outside & set(trees["2025"].units))
    return "2025" if in_2025 > in_2024 else "2024"


__all__ = ["ServerStore", "Device", "EnrolCode", "UnitTree", "UnitsFileError", "token_hash"]
