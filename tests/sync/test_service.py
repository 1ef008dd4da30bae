"""The background sync service the app drives: sync now, after a save, every few minutes, cancel."""

from __future__ import annotations

import threading
import time

import pytest

from ntm_field.bench.households import generate
from ntm_field.bench.link import LinkProfile, LinkProxy
from ntm_field.sync.errors import Cancelled
from ntm_field.sync.service import SyncService, SyncStatus
from tests.sync.conftest import stop_server


def wait_for(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.fixture
def services():
    started = []

    def make(device, **options) -> SyncService:
        service = SyncService(device.engine(), clock=device.clock, **options)
        started.append(service)
        return service

    yield make
    for service in started:
        service.stop()


def test_sync_now_reports_progress_and_the_last_success(server, make_device, services):
    device = make_device(server)
    device.store.save_many(generate(120, seed=1, hamlets=3, commune="25216"))
    service = services(device, interval=3600)
    states = []
    service.subscribe(states.append)
    assert service.state.pending == 120
    service.start()
    wait_for(lambda: service.state.status is SyncStatus.IDLE and service.state.last_success is not None)
    assert service.state.pending == 0 and service.state.last_report.pushed == 120
    assert states[0].status is SyncStatus.SYNCING
    pushes = [s.progress for s in states if s.progress is not None and s.progress.phase == "push"]
    assert pushes[0].sent == 0 and pushes[-1].sent == pushes[-1].total == 120
    assert any(s.progress is not None and s.progress.phase == "pull" and s.progress.pages == 1 for s in states)


def test_a_save_is_sent_right_away_only_while_the_last_sync_succeeded(server, make_device, services):
    device = make_device(server)
    service = services(device, interval=3600)
    service.start()
    wait_for(lambda: service.state.last_success is not None)
    [first, second] = generate(2, seed=2, hamlets=1, commune="25216")
    device.store.save(first)
    service.saved()
    wait_for(lambda: service.state.pending == 0 and device.store.counts()["outbox_synced"] == 1)

    stop_server(server.process)
    service.sync_now()
    wait_for(lambda: service.state.status is SyncStatus.OFFLINE, timeout=30)
    cycles = []
    service.subscribe(lambda state: cycles.append(state.status))
    device.store.save(second)
    service.saved()
    time.sleep(0.5)
    assert SyncStatus.SYNCING not in cycles  # offline: the save waits for the next attempt
    assert service.state.pending == 1 and service.state.status is SyncStatus.OFFLINE


def test_automatic_sync_runs_every_interval(server, make_device, services):
    device = make_device(server)
    service = services(device, interval=0.3)
    service.start()
    wait_for(lambda: service.state.last_success is not None)
    device.store.save_many(generate(5, seed=3, hamlets=1, commune="25216"))  # no call to saved()
    wait_for(lambda: device.store.pending_count() == 0, timeout=10)


def test_cancel_stops_at_the_next_step_and_keeps_what_was_committed(server, make_device, services):
    device = make_device(server)
    device.store.save_many(generate(600, seed=5, hamlets=3, commune="25216"))
    host, port = server.url.removeprefix("http://").split(":")
    with LinkProxy(host, int(port), profile=LinkProfile(rtt=0.3)) as proxy:
        device.url = proxy.url
        service = services(device, interval=3600)
        first_batch = threading.Event()
        service.subscribe(lambda s: s.progress and s.progress.phase == "push" and s.progress.sent > 0 and first_batch.set())
        worker = threading.Thread(target=service.run_once)
        worker.start()
        assert first_batch.wait(20)
        service.cancel()
        worker.join(20)
    report = service.state.last_report
    assert isinstance(report.problem, Cancelled) and service.state.status is SyncStatus.CANCELLED
    assert 0 < report.pushed < 600 and report.pending == 600 - report.pushed
    assert device.store.counts()["outbox_synced"] == report.pushed


def test_a_listener_that_fails_is_dropped_and_fails_neither_save_nor_sync(server, make_device, services):
    # A browser tab that closed leaves a listener whose page is gone: the next save must still succeed.
    device = make_device(server)
    service = services(device, interval=3600)
    calls = []

    def gone(_state):
        calls.append("gone")
        raise RuntimeError("the page's connection is closed")

    service.subscribe(gone)
    service.subscribe(lambda state: calls.append(state.pending))
    device.store.save_many(generate(1, seed=8, hamlets=1, commune="25216"))
    service.saved()
    report = service.run_once()
    assert report.ok and report.pushed == 1
    assert calls.count("gone") == 1 and len(calls) > 2  # dropped after its first failure; the other kept hearing
