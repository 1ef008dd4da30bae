"""The daily progress series from the per-day counters equals a brute-force count over the stored households,
after random creations, edits (of the survey day, the visit status, the members), moves between hamlets and
deletions — per hamlet, per commune and after a rebuild; both engines; a failing seed is printed."""

from __future__ import annotations

import copy
import random
from dataclasses import replace
from datetime import date, timedelta

import pytest

from ntm_field.bench.figures import progress_by_brute_force
from ntm_field.bench.households import generate
from ntm_field.domain.codes import VisitStatus
from ntm_field.domain.records import Household
from ntm_field.server.changes import push_batch
from ntm_field.server.progress import progress
from ntm_field.server.store import Device
from tests.server.conftest import ENGINES

HAMLETS = ["25216-01", "25216-02", "25216-03"]
TODAY = date(2024, 6, 1)


@ENGINES
@pytest.mark.parametrize("seed", [3, 17])
def test_progress_from_day_counters_equals_a_brute_force_count(server_store, seed):
    rng = random.Random(seed)
    device = Device(id="phone", name="phone", role="surveyor", scope=("25216",))
    tree = server_store.tree("2024")
    live: dict[str, Household] = {}
    revs: dict[str, int] = {}
    fresh = iter(generate(400, seed=seed))
    for step in range(12):
        changes = []
        for household_id in rng.sample(sorted(live), min(len(live), 6)):
            household = live[household_id]
            if rng.random() < 0.15:
                changes.append({"id": household_id, "base_rev": revs[household_id], "deleted": True, "data": None})
                continue
            edited = replace(
                household,
                hamlet_code=rng.choice(HAMLETS),
                surveyed_on=date(2024, 4, 1) + timedelta(days=rng.randrange(10)),
                visit_status=rng.choice([VisitStatus.SURVEYED, VisitStatus.SURVEYED, VisitStatus.ABSENT]),
                members=household.members[: rng.randint(1, len(household.members))],
            )
            changes.append({"id": household_id, "base_rev": revs[household_id], "deleted": False, "data": edited.to_document()})
        for _ in range(rng.randint(3, 9)):
            new = replace(next(fresh), hamlet_code=rng.choice(HAMLETS),
                          surveyed_on=date(2024, 4, 1) + timedelta(days=rng.randrange(10)))  # fmt: skip
            changes.append({"id": new.id, "base_rev": None, "deleted": False, "data": new.to_document()})
        for number, change in enumerate(changes):
            change["change_id"] = f"{step}-{number}"
        results = push_batch(server_store, device, copy.deepcopy(changes), hamlets=tree, today=TODAY)
        for change, result in zip(changes, results):
            assert result["status"] == "applied", (seed, result)
            revs[change["id"]] = result["rev"]
            if change["deleted"]:
                live.pop(change["id"], None)
            else:
                live[change["id"]] = Household.from_document(change["data"])

    households = list(live.values())
    for scope in (HAMLETS, ["25216-01"], ["25216-02", "25216-03"]):
        assert progress(server_store, scope) == progress_by_brute_force(households, scope), f"seed {seed}, {scope}"
    before = progress(server_store, HAMLETS)
    server_store.recompute()
    assert progress(server_store, HAMLETS) == before, f"seed {seed}"
