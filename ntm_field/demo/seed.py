"""Loading a demo province into the central endpoint's store through the product's own code paths.

Units go through `ServerStore.load_units`/`load_mapping` (what `ntm-field admin units load/map`
calls); each team device is enrolled with an enrolment code (what `POST /api/v1/enrol` does);
households arrive in batches through `push_batch`, the function behind `POST /api/v1/sync/push`,
so revisions, history, counters, audit entries and conflicts are the ones real pushes leave.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from ntm_field.demo.province import DemoProvince
from ntm_field.domain.records import Household
from ntm_field.server.changes import push_batch
from ntm_field.server.store import Device, ServerStore

BATCH = 250  # changes per push, as a phone's sync engine sends them (the contract allows 500)


class SeedError(Exception):
    """The server refused part of the demo data (a bug in the generator or the server)."""


@dataclass(frozen=True, slots=True)
class UnitFiles:
    """The texts of the committed units files (assets/units/)."""

    units_2024: str
    units_2025: str
    mapping: str


@dataclass(frozen=True, slots=True)
class SeedReport:
    hamlets: int
    devices: int
    households: int
    members: int
    conflicts: int
    seconds: float


def seed_province(
    store: ServerStore, province: DemoProvince, files: UnitFiles, *, progress: Callable[[str], None] = lambda _: None
) -> SeedReport:
    """Load the units, enrol the team devices, push every household and then the concurrent edits."""
    started = time.perf_counter()
    store.load_units(files.units_2024, structure="2024", actor="demo")
    store.load_units(files.units_2025, structure="2025", actor="demo")
    store.load_mapping(files.mapping, actor="demo")
    # Hamlets only under 2024: a record keeps its 2024 hamlet and rolls up to 2025 through its commune.
    store.load_units(province.hamlets_csv(), structure="2024", actor="demo")
    progress(f"units: 1 province, 11 districts, 111 communes, {len(province.hamlets)} hamlets (2024) + 2025 mapping")

    devices = [enrol(store, "surveyor", [team.commune_code], team.device_name)[0] for team in province.teams]
    hamlets = store.tree("2024")
    today = store.clock().date()
    revs: dict[str, int] = {}
    by_team: dict[int, list[Household]] = {}
    for survey in province.surveys:
        by_team.setdefault(survey.team, []).append(survey.household)
    pushed = 0
    for team, households in sorted(by_team.items()):
        households.sort(key=lambda h: (h.updated_at, h.id))
        for start in range(0, len(households), BATCH):
            changes = [_change(h, f"{h.id}/1", None) for h in households[start:start + BATCH]]
            for result in _push(store, devices[team], changes, hamlets, today, expect="applied"):
                revs[result["id"]] = result["rev"]
            pushed += len(changes)
        if team % 40 == 39 and pushed < len(province.surveys):
            progress(f"households pushed: {pushed}/{len(province.surveys)}")
    progress(f"households pushed: {pushed}/{len(province.surveys)} by {len(devices)} team devices")

    for edit in province.edits:
        base = revs[edit.first.id]
        _push(store, devices[edit.first_team], [_change(edit.first, f"{edit.first.id}/2", base)], hamlets, today,
              expect="applied")  # fmt: skip
        _push(store, devices[edit.second_team], [_change(edit.second, f"{edit.second.id}/3", base)], hamlets, today,
              expect="conflict")  # fmt: skip
    progress(f"conflicts: {len(province.edits)} households edited on two devices from the same revision")
    households = province.households()
    return SeedReport(
        hamlets=len(province.hamlets), devices=len(devices), households=len(households),
        members=sum(len(h.members) for h in households), conflicts=len(province.edits),
        seconds=time.perf_counter() - started,
    )  # fmt: skip


def enrol(store: ServerStore, role: str, scope: list[str], name: str) -> tuple[Device, str]:
    """A device enrolled with a fresh one-use code, as `POST /api/v1/enrol` does; (device, token)."""
    code = store.create_enrol_code(role=role, scope=scope, uses=1, expires_in=timedelta(days=1), created_by="demo")
    return store.enrol(code.code, name)


def _change(household: Household, change_id: str, base_rev: int | None) -> dict:
    return {"change_id": change_id, "id": household.id, "base_rev": base_rev, "deleted": False,
            "data": household.to_document()}  # fmt: skip


def _push(store: ServerStore, device: Device, changes: list[dict], hamlets, today, *, expect: str) -> list[dict]:
    results = push_batch(store, device, changes, hamlets=hamlets, today=today)
    wrong = [r for r in results if r["status"] != expect]
    if wrong:
        first = wrong[0]
        raise SeedError(f"the server answered {first['status']} ({first['error']}) where the demo expected {expect}")
    return results
