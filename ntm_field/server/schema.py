"""Named migrations of the server database, one text for both engines.

`{serial}` becomes each engine's auto-increment key; everything else is SQL
both SQLite and PostgreSQL accept. Migrations run in order, each once, each in
its own transaction with the record of it.
"""

from __future__ import annotations

from datetime import datetime, timezone

from ntm_field.domain.codes import Check

_CHECK_COUNTERS = ",\n".join(
    f"    {check.value}_{part} BIGINT NOT NULL DEFAULT 0"
    for check in Check
    for part in ("covered", "eligible", "unknown", "level1")
)

MIGRATIONS: list[tuple[str, str | dict[str, list[str]]]] = [
    (
        "0001_units_devices_households",
        f"""
CREATE TABLE units (
    structure TEXT NOT NULL,
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    level TEXT NOT NULL,
    parent_code TEXT,
    expected_households BIGINT,
    PRIMARY KEY (structure, code)
);
CREATE TABLE unit_map (
    old_code TEXT PRIMARY KEY,
    new_code TEXT NOT NULL
);
CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    scope TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    expires_at TEXT,
    revoked_at TEXT
);
CREATE TABLE enrol_codes (
    code_hash TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    scope TEXT NOT NULL,
    uses_left BIGINT NOT NULL,
    expires_at TEXT NOT NULL,
    created_by TEXT,
    created_at TEXT NOT NULL
);
CREATE TABLE sync_clock (
    id INTEGER PRIMARY KEY,
    seq BIGINT NOT NULL
);
INSERT INTO sync_clock (id, seq) VALUES (1, 0);
CREATE TABLE households (
    id TEXT PRIMARY KEY,
    hamlet_code TEXT NOT NULL,
    rev BIGINT NOT NULL,
    deleted INTEGER NOT NULL,
    document TEXT,
    device_id TEXT NOT NULL,
    received_at TEXT NOT NULL
);
CREATE INDEX households_rev ON households (rev);
CREATE INDEX households_hamlet_rev ON households (hamlet_code, rev);
CREATE TABLE revisions (
    rev BIGINT PRIMARY KEY,
    household_id TEXT NOT NULL,
    change_id TEXT,
    hamlet_code TEXT NOT NULL,
    deleted INTEGER NOT NULL,
    document TEXT,
    status TEXT NOT NULL,
    device_id TEXT NOT NULL,
    received_at TEXT NOT NULL
);
CREATE INDEX revisions_household ON revisions (household_id, rev);
CREATE TABLE changes (
    change_id TEXT PRIMARY KEY,
    body_hash TEXT NOT NULL,
    household_id TEXT NOT NULL,
    status TEXT NOT NULL,
    rev BIGINT NOT NULL,
    device_id TEXT NOT NULL,
    received_at TEXT NOT NULL
);
CREATE TABLE conflicts (
    id TEXT PRIMARY KEY,
    household_id TEXT NOT NULL,
    hamlet_code TEXT NOT NULL,
    field TEXT NOT NULL,
    competing TEXT NOT NULL,
    status TEXT NOT NULL,
    created_rev BIGINT NOT NULL,
    resolved_rev BIGINT,
    created_at TEXT NOT NULL
);
CREATE INDEX conflicts_household ON conflicts (household_id, status);
CREATE TABLE hamlet_counters (
    hamlet_code TEXT PRIMARY KEY,
    households BIGINT NOT NULL DEFAULT 0,
    surveyed BIGINT NOT NULL DEFAULT 0,
    absent BIGINT NOT NULL DEFAULT 0,
    refused BIGINT NOT NULL DEFAULT 0,
    moved BIGINT NOT NULL DEFAULT 0,
    vacant BIGINT NOT NULL DEFAULT 0,
    fully_covered BIGINT NOT NULL DEFAULT 0,
{_CHECK_COUNTERS}
);
CREATE TABLE audit (
    seq {{serial}},
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT,
    detail TEXT
);
""",
    ),
]

# The audit log is append-only in the database itself, not only by convention.
MIGRATIONS.append(
    (
        "0002_audit_append_only",
        {
            "sqlite": [
                "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit "
                "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
                "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit "
                "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
            ],
            "postgresql": [
                "CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$",
                "CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit "
                "FOR EACH ROW EXECUTE FUNCTION audit_append_only()",
            ],
        },
    )
)

# A version of the units and the mapping: servers cache the unit trees and re-read them only when
# another process (an `admin units` command) has changed them.
MIGRATIONS.append(
    (
        "0003_units_version",
        """
CREATE TABLE units_version (
    id INTEGER PRIMARY KEY,
    seq BIGINT NOT NULL
);
INSERT INTO units_version (id, seq) VALUES (1, 0);
""",
    )
)

# Rate-limit counts (ntm_field/server/limits.py), a migration list of their own: on PostgreSQL they live
# in the server database, UNLOGGED (a crash may forget them; every hit then writes no WAL and flushes
# nothing); on SQLite in a file beside it, so that counting a request never waits for a household write.
LIMIT_MIGRATIONS: list[tuple[str, str | dict[str, list[str]]]] = [
    (
        "limits_0001_rate_limits",
        {
            dialect: [
                f"CREATE {unlogged}TABLE rate_limits (\n"
                "    bucket TEXT PRIMARY KEY,\n"  # a hash of the limit's name and key (a token, an address)
                "    until_ms BIGINT NOT NULL,\n"  # end of the bucket's window, milliseconds since 1970
                "    hits BIGINT NOT NULL\n"
                ")"
            ]
            for dialect, unlogged in (("sqlite", ""), ("postgresql", "UNLOGGED "))
        },
    )
]

SERIAL = {"sqlite": "INTEGER PRIMARY KEY AUTOINCREMENT", "postgresql": "BIGSERIAL PRIMARY KEY"}


def migrate(backend, migrations: list[tuple[str, str | dict[str, list[str]]]] = MIGRATIONS) -> list[str]:
    """Apply pending migrations (the server's, or another list such as LIMIT_MIGRATIONS); returns the
    names applied now."""
    applied_now = []
    with backend.transaction() as tx:
        tx.execute("CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    for name, script in migrations:
        with backend.transaction() as tx:
            if backend.dialect == "postgresql":
                # two server processes starting at once must not both migrate
                tx.execute("LOCK TABLE schema_migrations IN EXCLUSIVE MODE")
            if tx.one("SELECT 1 FROM schema_migrations WHERE name = ?", [name]):
                continue
            if isinstance(script, dict):
                statements = script[backend.dialect]
            else:
                statements = [s for s in script.replace("{serial}", SERIAL[backend.dialect]).split(";") if s.strip()]
            for statement in statements:
                tx.execute(statement)
            tx.execute(
                "INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)",
                [name, datetime.now(timezone.utc).isoformat()],
            )
            applied_now.append(name)
    return applied_now

# Revisions without a global lock (docs/server.md, "Revisions"): each hamlet has its own clock row, the last
# revision committed in it, which writers of that hamlet hold until they commit; revision numbers come from a
# sequence on PostgreSQL (no lock) and from the old `sync_clock` row on SQLite (whose writers take turns anyway).
# The day counters keep the progress series by the households' survey day, in the same transaction.
MIGRATIONS.append(
    (
        "0004_hamlet_clocks_and_day_counters",
        {
            dialect: [
                "CREATE TABLE hamlet_clocks (\n    hamlet_code TEXT PRIMARY KEY,\n    rev BIGINT NOT NULL\n)",
                # every hamlet holding households starts at the old single clock: every stored revision is at or below it
                "INSERT INTO hamlet_clocks (hamlet_code, rev) "
                "SELECT DISTINCT hamlet_code, (SELECT seq FROM sync_clock WHERE id = 1) FROM households",
                "CREATE TABLE hamlet_day_counters (\n"
                "    hamlet_code TEXT NOT NULL,\n"
                "    day TEXT NOT NULL,\n"
                "    households BIGINT NOT NULL DEFAULT 0,\n"
                "    surveyed BIGINT NOT NULL DEFAULT 0,\n"
                + "".join(f"    {check.value}_{part} BIGINT NOT NULL DEFAULT 0,\n" for check in Check for part in ("covered", "eligible"))
                + "    PRIMARY KEY (hamlet_code, day)\n"
                + (") WITHOUT ROWID" if dialect == "sqlite" else ")"),  # SQLite: a hamlet's days lie together
                *extra,
            ]
            for dialect, extra in (
                ("sqlite", []),
                (
                    "postgresql",
                    [
                        "CREATE SEQUENCE revision_seq AS BIGINT",
                        "SELECT setval('revision_seq', greatest(seq, 1), seq > 0) FROM sync_clock WHERE id = 1",
                    ],
                ),
            )
        },
    )
)
