"""Convergence (Hypothesis, bounded): three devices in one hamlet edit offline at random, sync in
random order through a faulty link; after everyone syncs twice, all hold the server's documents,
every edit is in the server's history once (or was folded into a later edit before it left the
device), and every conflict is on a field two devices both changed."""

from __future__ import annotations

import itertools
import os
import random
import sqlite3
import uuid
from collections import defaultdict
from dataclasses import replace
from datetime import date

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ntm_field.bench.link import Fault, FaultSchedule, LinkProxy
from ntm_field.domain.codes import Presence, VisitStatus
from ntm_field.domain.records import Consent, Household, Member
from tests.sync.conftest import admin_store, server_documents, server_history, server_rows, start_server, stop_server
from tests.server.conftest import prepare_database as _prepare

DEVICES = 3
EXAMPLES = int(os.environ.get("NTM_CONVERGENCE_EXAMPLES", "25"))

NAMES = ["Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường", "Phạm Thị Dung"]
NOTES = ["", "vắng nhà", "hẹn chiều"]
HOUSE_NOS = ["1", "2", "3A"]
FIELDS = {
    "head_name": NAMES,
    "house_no": HOUSE_NOS,
    "note": NOTES,
    "full_name": NAMES,  # of a member
    "cccd": ["no", "yes", "unknown"],  # monotone: both sides raising is never a conflict
    "smartphone": ["yes", "no"],  # not monotone: a phone can be lost
}

device_index = st.integers(0, DEVICES - 1)
edit = st.tuples(st.just("edit"), device_index, st.integers(0, 50), st.sampled_from(sorted(FIELDS)), st.integers(0, 3), st.integers(0, 5))
operation = st.one_of(
    st.tuples(st.just("new"), device_index, st.integers(1, 3)),
    edit,
    edit,
    edit,
    st.tuples(st.just("add_member"), device_index, st.integers(0, 50)),
    st.tuples(st.just("remove_member"), device_index, st.integers(0, 50), st.integers(0, 5)),
    st.tuples(st.just("sync"), device_index, st.sampled_from([None, "drop_up", "drop_down", "reset_down", "stall_down"]), st.integers(0, 30_000)),
)


class World:
    """The server, a fresh hamlet per example, and three enrolled devices."""

    def __init__(self, server, make_device, hamlet: str):
        self.server, self.hamlet = server, hamlet
        self.devices = [make_device(server, scope=hamlet) for _ in range(DEVICES)]
        self.ids = itertools.count(1)
        self.edits: dict[tuple[str, str], set[int]] = defaultdict(set)  # (household, path) → devices

    def households(self, d: int) -> list[Household]:
        summaries = sorted(self.devices[d].store.list_households(self.hamlet), key=lambda s: s.id)
        return [self.devices[d].store.get(s.id) for s in summaries]

    def save(self, d: int, household: Household, paths: list[str]) -> None:
        self.devices[d].store.save(household)
        for path in paths:
            self.edits[(household.id, path)].add(d)

    def run(self, op: tuple) -> None:
        kind, d = op[0], op[1]
        if kind == "sync":
            self.sync(d, op[2], op[3])
            return
        if kind == "new":
            n = next(self.ids)
            members = tuple(Member(id=f"m{n}-{i}", full_name=NAMES[i % 4], birth_year=1980 + i) for i in range(op[2]))
            household = Household(
                id=str(uuid.UUID(int=random.Random(f"{self.hamlet}/{n}").getrandbits(128), version=4)),
                hamlet_code=self.hamlet, head_name=NAMES[n % 4], visit_status=VisitStatus.SURVEYED,
                surveyed_on=date(2024, 4, 12), consent=Consent(True, "2024-04"), members=members,
            )  # fmt: skip
            self.save(d, household, [])
            return
        households = self.households(d)
        if not households:
            return
        household = households[op[2] % len(households)]
        if kind == "edit":
            field, value = op[3], FIELDS[op[3]][op[4] % len(FIELDS[op[3]])]
            if field in ("head_name", "house_no", "note"):
                self.save(d, replace(household, **{field: value}), [field])
            elif household.members:
                index = op[5] % len(household.members)
                member = household.members[index]
                members = list(household.members)
                members[index] = replace(member, **{field: value})
                self.save(d, replace(household, members=tuple(members)), [f"members[id={member.id}].{field}"])
        elif kind == "add_member":
            member = Member(id=f"m{next(self.ids)}-d{d}", full_name=NAMES[d], birth_year=1990, presence=Presence.RESIDENT)
            self.save(d, replace(household, members=(*household.members, member)), [f"members[id={member.id}]"])
        elif kind == "remove_member" and len(household.members) > 1:
            gone = household.members[op[3] % len(household.members)]
            kept = tuple(m for m in household.members if m.id != gone.id)
            self.save(d, replace(household, members=kept), [f"members[id={gone.id}]"])

    def sync(self, d: int, fault: str | None, offset: int) -> None:
        device = self.devices[d]
        host, port = self.server.url.removeprefix("http://").split(":")
        faults = [] if fault is None else [Fault(fault, at=offset, stall=0.5 if fault.startswith("stall") else 0.0)]
        with LinkProxy(host, int(port), faults=FaultSchedule.fixed(faults)) as proxy:
            device.url, device.read_timeout = proxy.url, 0.3
            device.sync(attempts=1)  # a fault may end the cycle early: that is the point
        device.url, device.read_timeout = self.server.url, 10.0


def _outbox(device) -> list[tuple]:
    with sqlite3.connect(device.store.path) as conn:
        return conn.execute("SELECT change_id, state, sent_at FROM outbox ORDER BY seq").fetchall()


def _conflicts(server, hamlet: str) -> list[tuple[str, str]]:
    return server_rows(server, "SELECT household_id, field FROM conflicts WHERE hamlet_code = ?", [hamlet])


def _add_hamlets(server, count: int) -> list[str]:
    codes = [f"25217-{n}" for n in range(100, 100 + count)]
    with admin_store(server) as store:
        store.load_units("code,name,level,parent_code,expected_households\n" + "".join(f"{c},Tổ {c[-2:]},hamlet,25217,50\n" for c in codes))
    return codes


@pytest.fixture
def server(database_url):
    """The central endpoint with room for the examples' enrolments (three devices each)."""
    prepared = _prepare(database_url)
    running = start_server(prepared, env={"NTM_ENROLMENTS_PER_MINUTE": "1000"})
    yield running
    stop_server(running.process)


@pytest.fixture
def hamlets(server):
    """Fresh hamlets for the examples (each example gets its own, with its own three devices)."""
    return iter(_add_hamlets(server, 300))


@pytest.mark.slow
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=st.lists(operation, min_size=4, max_size=24))
def test_three_devices_converge(server, make_device, hamlets, ops):
    world = World(server, make_device, next(hamlets))
    # A shared start: two households every device holds, so offline edits can meet.
    world.run(("new", 0, 2))
    world.run(("new", 0, 3))
    for d in range(DEVICES):
        world.run(("sync", d, None, 0))
    for op in ops:
        world.run(op)
    for _ in range(2):
        for device in world.devices:
            report = device.sync()
            assert report.problem is None, report.problem

    # Everyone holds the server's documents.
    documents = {k: v for k, v in server_documents(server).items() if v is not None and v["hamlet_code"] == world.hamlet}
    for d, device in enumerate(world.devices):
        assert device.store.pending_count() == 0 and device.store.needs_fix() == []
        assert {h.id: h.to_document() for h in world.households(d)} == documents

    # Every edit is accounted for: stored once, or folded into a later edit before it ever left the device.
    stored = [row[0] for row in server_history(server) if row[1] in documents]
    assert len(stored) == len(set(stored))
    synced = set()
    for device in world.devices:
        for change_id, state, sent_at in _outbox(device):
            assert state in ("synced", "superseded"), (change_id, state)
            if state == "superseded":
                assert sent_at is None
            else:
                synced.add(change_id)
    assert synced == set(stored)

    # A conflict only where two devices changed the same field (or the same member).
    conflicts = _conflicts(server, world.hamlet)
    event(f"households: {min(len(documents), 5)}+, conflicts: {min(len(conflicts), 3)}+, edits: {min(len(stored), 10)}+")
    for household_id, field in conflicts:
        editors: set[int] = set()
        for (edited, path), devices in world.edits.items():
            if edited == household_id and (
                path == field
                or (field.startswith("members[") and "." not in field and path.startswith(field))
                or (field == "members" and path.startswith("members["))
            ):
                editors |= devices
        assert len(editors) >= 2, (field, editors)
