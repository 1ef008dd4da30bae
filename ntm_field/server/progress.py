"""Daily progress (`GET /api/v1/progress`, the dashboard's chart): cumulative figures at the end of each
survey day, from the per-hamlet, per-day counters the writers keep in the same transaction as the coverage
counters (store.py). A province's series reads one row per hamlet and day, never a household."""

from __future__ import annotations

from ntm_field.domain.codes import Check
from ntm_field.server.coverage import scoped_unit
from ntm_field.server.store import DAY_COLUMNS, Device, ServerStore

_SURVEYED = DAY_COLUMNS.index("surveyed")
_CHECKS = [(check.value, DAY_COLUMNS.index(f"{check.value}_covered"), DAY_COLUMNS.index(f"{check.value}_eligible"))
           for check in Check]  # fmt: skip


def progress(store: ServerStore, hamlet_codes: list[str]) -> list[dict]:
    """Cumulative figures at the end of each survey day (by the households' `surveyed_on`)."""
    days, running = [], [0] * len(DAY_COLUMNS)
    for day, *counts in store.day_counters(hamlet_codes):
        running = [total + count for total, count in zip(running, counts)]
        entry: dict = {"date": day, "surveyed": running[_SURVEYED]}
        for name, covered, eligible in _CHECKS:
            entry[name] = {"covered": running[covered], "eligible": running[eligible]}
        days.append(entry)
    return days


def progress_report(store: ServerStore, device: Device, *, unit: str | None, structure: str | None) -> dict:
    """What `GET /api/v1/progress` answers: the unit and its daily series (the policy's READ_FIGURES)."""
    rollup, code, hamlets = scoped_unit(store, device, unit=unit, structure=structure)
    found = rollup.unit(code)
    return {"unit": {"code": code, "name": found.name, "level": str(found.level)}, "days": progress(store, hamlets)}
