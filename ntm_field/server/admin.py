"""What the server's command line does, behind `ntm-field server` and `ntm-field admin …`."""

from __future__ import annotations

import os
import re
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import uvicorn

from ntm_field.domain.units import Level, UnitsFileError
from ntm_field.qr import Label, household_labels
from ntm_field.server import errors
from ntm_field.server.app import Settings, create_app, enrol_link
from ntm_field.server.db import DatabaseUrlError, open_backend
from ntm_field.server.reports import ExportFile, export_file, households_of
from ntm_field.server.store import ROLES, Device, EnrolCode, ServerStore

DURATION = re.compile(r"(\d{1,4})([dhm])")
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8080"
# The command line acts as an admin without a token: no device row is created per command,
# and the audit log names the actor "cli", as for the other admin commands.
CLI_ADMIN = Device(id="cli", name="command line", role="admin", scope=())


class AdminError(Exception):
    """An admin command cannot do what was asked (one-line message)."""


def database_url(given: str | None) -> str:
    """--db, else NTM_DATABASE_URL, else an SQLite file in the data directory."""
    url = given or os.environ.get("NTM_DATABASE_URL")
    if url:
        return url
    data = Path(os.environ.get("NTM_DATA_DIR", "data"))
    return f"sqlite:///{data / 'server.db'}"


def open_store(url: str | None) -> ServerStore:
    """Open (creating and migrating when new) the server database."""
    try:
        backend = open_backend(database_url(url))
    except DatabaseUrlError as error:
        raise AdminError(str(error)) from None
    store = ServerStore(backend, clock=lambda: datetime.now(timezone.utc), new_id=lambda: str(uuid.uuid4()))
    store.migrate()
    return store


def serve(*, db: str | None, host: str, port: int) -> None:
    url = database_url(db)
    public = os.environ.get("NTM_PUBLIC_URL", f"http://{host}:{port}")
    limits = {
        name: _positive_int(f"NTM_{name.upper()}")
        for name in ("requests_per_minute", "enrolments_per_minute", "wrong_codes_per_address", "wrong_codes_per_prefix",
                     "wrong_code_window")  # fmt: skip
        if os.environ.get(f"NTM_{name.upper()}")
    }
    app = create_app(Settings(database_url=url, public_url=public, **limits), store=open_store(url))
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


def _positive_int(variable: str) -> int:
    value = os.environ[variable].strip()
    if not value.isdigit() or int(value) == 0:
        raise AdminError(f"{variable} must be a positive whole number")
    return int(value)


def load_units(path: Path, *, db: str | None, structure: str | None) -> dict[str, int]:
    store = open_store(db)
    try:
        units = store.load_units(path.read_text(encoding="utf-8-sig"), structure=structure)
    except UnitsFileError as error:
        raise AdminError(f"{path}: {error}") from None
    finally:
        store.close()
    counts: dict[str, int] = {}
    for unit in units:
        counts[str(unit.level)] = counts.get(str(unit.level), 0) + 1
    return counts


def load_mapping(path: Path, *, db: str | None) -> int:
    store = open_store(db)
    try:
        return len(store.load_mapping(path.read_text(encoding="utf-8-sig")))
    except UnitsFileError as error:
        raise AdminError(f"{path}: {error}") from None
    finally:
        store.close()


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
    store = open_store(db)
    try:
        known = set(store.tree("2024").units) | set(store.tree("2025").units)
        unknown = [code for code in scope if code not in known]
        if unknown:
            raise AdminError(f"--scope: unknown unit {unknown[0]} (load the units first)")
        created = store.create_enrol_code(role=role, scope=scope, uses=uses, expires_in=lifetime, created_by="cli")
    finally:
        store.close()
    return created, enrol_link(public_url(url), created.code)


def public_url(given: str | None) -> str:
    """--url, else NTM_PUBLIC_URL, else the server's default address: the base of the links printed."""
    return given or os.environ.get("NTM_PUBLIC_URL", DEFAULT_PUBLIC_URL)


def revoke(device_id: str, *, db: str | None) -> None:
    store = open_store(db)
    try:
        if not store.revoke(device_id, actor="cli"):
            raise AdminError(f"no device {device_id}")
    finally:
        store.close()


def recompute(*, db: str | None) -> int:
    store = open_store(db)
    try:
        return store.recompute(actor="cli")
    finally:
        store.close()


def hamlet_labels(hamlet: str, *, db: str | None, url: str | None) -> list[Label]:
    """The labels of the current households of a hamlet, by label code; links on `public_url(url)`."""
    store = open_store(db)
    try:
        known = any(
            (unit := store.tree(structure).units.get(hamlet)) is not None and unit.level is Level.HAMLET
            for structure in ("2024", "2025")
        )
        if not known:
            raise AdminError(f"--hamlet: unknown hamlet {hamlet}")
        households = list(households_of(store, [hamlet]))
    finally:
        store.close()
    if not households:
        raise AdminError(f"--hamlet: hamlet {hamlet} has no households yet")
    return household_labels(households, public_url(url))


def export(*, unit: str, format: str, kind: str, db: str | None) -> ExportFile:
    """The export the API serves for `unit`, made as the admin (audited as "cli")."""
    store = open_store(db)
    try:
        return export_file(store, CLI_ADMIN, unit=unit, format=format, kind=kind)
    except errors.ApiError as error:
        raise AdminError(f"--{error.field or 'unit'}: {error.message}") from None
    finally:
        store.close()
