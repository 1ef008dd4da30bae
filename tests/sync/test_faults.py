"""Bad networks and dying servers between the device and the central endpoint: every household
ends on the server exactly once in effect, nothing is left pending, nothing is doubled."""

from __future__ import annotations

import random

import pytest

from ntm_field.bench.households import generate
from ntm_field.bench.link import Fault, FaultSchedule, LinkProxy
from ntm_field.domain.outbox import ChangeState
from tests.server.test_faults import _start, _stop
from tests.sync.conftest import ENGINES, Device, server_documents, server_history, start_server, stop_server

SCHEDULES = 20
FAULTS = 8
HOUSEHOLDS = 2000


def fault_schedule(seed: int) -> list[Fault]:
    """FAULTS seeded faults, one per connection, then clean connections: drops, resets and stalls
    in both directions, at offsets inside a request batch (≈ 12–50 KB up) or its answer (≈ 3–20 KB down),
    so requests are cut mid-body and answers of committed batches are lost."""
    rng = random.Random(seed)
    faults = []
    for _ in range(FAULTS):
        kind = rng.choice(["drop_up", "drop_down", "reset_up", "reset_down", "stall_up", "stall_down"])
        limit = 60_000 if kind.endswith("_up") else 8_000
        faults.append(Fault(kind, at=rng.randint(0, limit), stall=rng.uniform(0.2, 1.5) if kind.startswith("stall") else 0.0))
    return faults


def _sync_until_done(device: Device, cycles: int = 15):
    for _ in range(cycles):
        report = device.sync()
        if report.ok and report.pending == 0:
            return report
    raise AssertionError(f"still pending after {cycles} cycles: {report.counts()} {report.problem!r}")


def _assert_each_change_once(device: Device, server, expected: int) -> None:
    counts = device.store.counts()
    assert counts["outbox_pending"] == 0 and counts["outbox_rejected"] == 0
    assert counts["outbox_synced"] == expected
    history = server_history(server)
    change_ids = [row[0] for row in history]
    assert len(change_ids) == len(set(change_ids)) == expected  # each change stored once
    assert {row[2] for row in history} == {"applied"}  # no change was ever applied on top of itself
    assert len(server_documents(server)) == expected


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(SCHEDULES))
def test_households_cross_a_faulty_link_exactly_once(server, make_device, seed):
    device = make_device(server)
    device.read_timeout = 1.0  # stalls last up to 1.5 s: the client gives up first
    device.store.save_many(generate(HOUSEHOLDS, seed=seed, hamlets=3, commune="25216"))
    host, port = server.url.removeprefix("http://").split(":")
    schedule = FaultSchedule.fixed(fault_schedule(seed))
    with LinkProxy(host, int(port), faults=schedule) as proxy:
        device.url = proxy.url
        _sync_until_done(device)
        injected = proxy.faults_injected
    assert injected >= FAULTS // 2  # most faults fell inside the traffic
    _assert_each_change_once(device, server, HOUSEHOLDS)
    assert all(summary.sync_state == ChangeState.SYNCED for summary in device.store.list_households("25216-02"))


@ENGINES
def test_a_server_killed_after_commit_and_before_reply_loses_and_doubles_nothing(server, make_device):
    device = make_device(server)
    device.store.save_many(generate(400, seed=7, hamlets=3, commune="25216"))
    stop_server(server.process)
    dying, url = _start(server.db, kill_at=3)  # dies after committing its third batch, before answering it
    try:
        device.url = url
        report = device.sync(attempts=2)
        assert report.problem is not None and 0 < report.pending < 400
    finally:
        _stop(dying)
    committed = len(server_history(server))
    assert committed > 400 - report.pending  # the third batch is on the server, its answer never arrived
    back = start_server(server.db)
    try:
        device.url = back.url
        report = _sync_until_done(device)
    finally:
        stop_server(back.process)
    _assert_each_change_once(device, server, 400)
