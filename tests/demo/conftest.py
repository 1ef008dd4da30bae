"""A demo province seeded once per module into a temp-file SQLite server store."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from ntm_field.demo.province import generate_province
from ntm_field.demo.seed import UnitFiles, seed_province
from ntm_field.server.db import open_backend
from ntm_field.server.store import ServerStore

UNITS = Path(__file__).resolve().parents[2] / "assets" / "units"
TODAY = date(2024, 7, 20)  # the demo's clock: after the campaign, so every survey date is in the past


@pytest.fixture(scope="session")
def unit_files() -> UnitFiles:
    return UnitFiles(*(
        (UNITS / name).read_text(encoding="utf-8")
        for name in ("binhphuoc-2024.csv", "dongnai-2025-binhphuoc.csv", "binhphuoc-2025-mapping.csv")
    ))  # fmt: skip


@pytest.fixture(scope="session")
def province(unit_files):
    return generate_province(unit_files.units_2024, seed=2024, today=TODAY)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory, province, unit_files):
    """(store, seed report): the province pushed through the server's ingestion, the clock on TODAY."""
    path = tmp_path_factory.mktemp("demo") / "server.db"
    clock = lambda: datetime(TODAY.year, TODAY.month, TODAY.day, 3, 0, tzinfo=timezone.utc)  # noqa: E731
    store = ServerStore(open_backend(f"sqlite:///{path}"), clock=clock, new_id=lambda: str(uuid.uuid4()))
    store.migrate()
    report = seed_province(store, province, unit_files)
    yield store, report
    store.close()
