"""What the server's command line does, behind `ntm-field server` and `ntm-field admin …`."""

from __future__ import annotations

import os
import re
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import uvicorn

from ntm_field.domain.units import Level, UnitsFileError
from ntm_field.errors import UserError
from ntm_field.qr import Label, household_labels
from ntm_field.server import errors, policy
from ntm_field.server.app import create_app
from ntm_field.server.db import DatabaseError, DatabaseUrlError, open_backend
from ntm_field.server.enrolment import enrol_link, known_units
from ntm_field.server.limits import DatabaseCounts
from ntm_field.server.reports import ExportFile, export_file, households_of
from ntm_field.server.roles import ROLES
from ntm_field.server.settings import DASHBOARD_THREADS, Settings, SettingsError, database_url, public_url
from ntm_field.server.store import EnrolCode, ServerStore

DURATION = re.compile(r"(\d{1,4})([dhm])")


class AdminError(UserError):
    """An admin command cannot do what was asked (one-line message)."""


def open_store(url: str | None) -> ServerStore:
    """Open (creating and migrating when new) the server database: --db, else NTM_DATABASE_URL, else
    data/server.db. A URL or database it cannot use is an AdminError of one line."""
    with _translated():
        backend = open_backend(database_url(url))
        store = ServerStore(backend, clock=lambda: datetime.now(timezone.utc), new_id=lambda: str(uuid.uuid4()))
        store.migrate()
    return store


@contextmanager
def _opened(db: str | None) -> Iterator[ServerStore]:
    """The store for one command, closed after it; its failures translated to one line."""
    store = open_store(db)
    try:
        with _translated():
            yield store
    finally:
        store.close()


@contextmanager
def _translated() -> Iterator[None]:
    """The server's errors, by type, as AdminError: a bad URL, a database that cannot be opened or read,
    a refusal of the catalogue (`--field: message`), a units file."""
    try:
        yield
    except (DatabaseUrlError, SettingsError) as error:
        raise AdminError(str(error)) from None
    except errors.ApiError as error:
        raise AdminError(f"--{error.field or 'unit'}: {error.message}") from None
    except DatabaseError as error:
        # the engine's first line only: never the URL (it may hold a password)
        raise AdminError(f"database: {_first_line(error)}") from None
    except OSError as error:  # e.g. the SQLite file's folder cannot be made
        where = f"{error.filename}: " if error.filename else ""
        raise AdminError(f"database: {where}{error.strerror or type(error).__name__}") from None


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def serve(*, db: str | None, host: str, port: int, workers: int | None = None) -> None:
    """`ntm-field server`: settings read once from the environment (NTM_*), --db and --workers first.

    One process serves the app built here. Several (`workers` > 1) are uvicorn's worker processes, each
    building the app from the environment (`app_from_env`): the database is opened and migrated here
    first (a bad URL is one line, not a traceback per worker), and --db and the listening address are
    handed to the workers as NTM_DATABASE_URL and NTM_PUBLIC_URL."""
    with _translated():
        settings = Settings.from_env(database=db, public_url=f"http://{host}:{port}")
        if workers is not None:
            settings = settings.with_workers(workers)
    options = dict(host=host, port=port, log_level="warning", access_log=False,
                   forwarded_allow_ips=list(settings.trusted_proxies))  # fmt: skip
    store = open_store(settings.database_url)
    if settings.workers == 1:
        uvicorn.run(create_app(settings, store=store), **options)
        return
    try:
        with _translated():
            DatabaseCounts.open(store.backend)  # its migration too, once, before the workers start
            _warn_connections(store, settings)
    finally:
        store.close()
    os.environ["NTM_DATABASE_URL"] = settings.database_url
    os.environ["NTM_PUBLIC_URL"] = settings.public_url
    os.environ["NTM_WORKERS"] = str(settings.workers)
    uvicorn.run("ntm_field.server.app:app_from_env", factory=True, workers=settings.workers, **options)


def connections_needed(settings: Settings) -> int:
    """PostgreSQL connections this host's server may hold at most: per process, one per request thread,
    one per XLSX export's child process (an export slot each), two per dashboard thread (its own and
    the child of an export it started), and the one that migrated at start."""
    return settings.workers * (settings.threads + settings.export_slots + 2 * DASHBOARD_THREADS + 1)


def _warn_connections(store: ServerStore, settings: Settings) -> None:
    """Say on stderr when this host alone could use more connections than PostgreSQL allows (a warning,
    not a refusal: behind PgBouncer the server's own limit is not the one that counts)."""
    if store.backend.dialect != "postgresql":
        return
    with store.backend.read() as tx:
        allowed = int(tx.one("SHOW max_connections")[0]) - int(tx.one("SHOW superuser_reserved_connections")[0])
    needed = connections_needed(settings)
    if needed > allowed:
        print(f"ntm-field: warning: {settings.workers} workers × ({settings.threads} threads + {settings.export_slots} "
              f"exports + 2 × {DASHBOARD_THREADS} dashboard + 1) may open {needed} PostgreSQL connections; the server allows {allowed} (lower --workers or "
              "NTM_THREADS, raise max_connections, or put PgBouncer in front: docs/deploy.md)", file=sys.stderr)  # fmt: skip


def load_units(path: Path, *, db: str | None, structure: str | None) -> dict[str, int]:
    with _opened(db) as store:
        try:
            units = store.load_units(path.read_text(encoding="utf-8-sig"), structure=structure)
        except UnitsFileError as error:
            raise AdminError(f"{path}: {error}") from None
    counts: dict[str, int] = {}
    for unit in units:
        counts[str(unit.level)] = counts.get(str(unit.level), 0) + 1
    return counts


def load_mapping(path: Path, *, db: str | None) -> int:
    with _opened(db) as store:
        try:
            return len(store.load_mapping(path.read_text(encoding="utf-8-sig")))
        except UnitsFileError as error:
            raise AdminError(f"{path}: {error}") from None


def enrol_code(
    *, role: str, scope: list[str], uses: int, expires: str, url: str | None, db: str | None
) -> tuple[EnrolCode, str]:
    if role not in ROLES:
        raise AdminError(f"--role must be one of {', '.join(ROLES)}")
    if uses < 1:
        raise AdminError("--uses must be at least 1")
    match = DURATION.fullmatch(expires)
    if not match:
        raise AdminError("--expires takes a duration such as 7d, 12h or 30m")
    amount, unit = int(match[1]), match[2]
    lifetime = timedelta(days=amount) if unit == "d" else timedelta(hours=amount) if unit == "h" else timedelta(minutes=amount)
    with _opened(db) as store:
        # the command line makes any role's code (admins' too), on units it knows
        policy.require_known(scope, known_units(store.units_snapshot()), field="scope")
        created = store.create_enrol_code(role=role, scope=scope, uses=uses, expires_in=lifetime, created_by="cli")
    return created, enrol_link(public_url(url), created.code)


def revoke(device_id: str, *, db: str | None) -> None:
    with _opened(db) as store:
        if not store.revoke(device_id, actor="cli"):
            raise AdminError(f"no device {device_id}")


def recompute(*, db: str | None) -> int:
    with _opened(db) as store:
        return store.recompute(actor="cli")


def hamlet_labels(hamlet: str, *, db: str | None, url: str | None) -> list[Label]:
    """The labels of the current households of a hamlet, by label code; links on `public_url(url)`."""
    with _opened(db) as store:
        known = any(
            (unit := store.tree(structure).units.get(hamlet)) is not None and unit.level is Level.HAMLET
            for structure in ("2024", "2025")
        )
        if not known:
            raise AdminError(f"--hamlet: unknown hamlet {hamlet}")
        households = list(households_of(store, [hamlet]))
    if not households:
        raise AdminError(f"--hamlet: hamlet {hamlet} has no households yet")
    return household_labels(households, public_url(url))


def export(*, unit: str, format: str, kind: str, db: str | None) -> ExportFile:
    """The export the API serves for `unit`, made as the admin (audited as "cli")."""
    with _opened(db) as store:
        return export_file(store, policy.COMMAND_LINE, unit=unit, format=format, kind=kind)
