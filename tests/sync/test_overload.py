"""The sync engine against a saturated server (tests/server/gate_server.py: one sync slot, held at a
gate): a push answered 503 `overloaded` is waited out for its Retry-After and sent again with the same
changes, which land exactly once; the app says the wait in words; a Retry-After past the engine's bound
ends the cycle with nothing lost."""

from __future__ import annotations

import threading

import pytest

from ntm_field.bench.households import generate
from ntm_field.sync.errors import ServerBusy
from ntm_field.sync.service import SyncService, SyncStatus
from ntm_field.ui.i18n import I18n
from ntm_field.ui.models.sync import SyncModel
from tests.server.conftest import ENGINES
from tests.server.gate_server import RETRY_AFTER, gated_server, hold_the_sync_slot
from tests.sync.conftest import server_history

COUNT = 12


@pytest.fixture
def gated(database_url, tmp_path):
    with gated_server(database_url, tmp_path) as running:
        yield running


def _busy_then_free(gate, progress_seen: list, model: SyncModel):
    """A listener that records what the sync screen says and opens the gate once the engine waits."""

    def listener(state) -> None:
        step = state.progress
        if step is not None and step.phase == "wait":
            progress_seen.append((step.wait, model.progress()))
            gate.close()

    return listener


@ENGINES
def test_a_push_refused_with_503_is_sent_again_after_retry_after_and_lands_exactly_once(gated, make_device, tmp_path):
    server, gate = gated
    device = make_device(server)
    device.store.save_many(generate(COUNT, seed=14, hamlets=2, commune="25216"))
    queued = {change.change_id: change.household_id for change in device.store.outgoing(COUNT)}
    other = server.enrol("surveyor", "25216")["token"]
    holder, _, replies = hold_the_sync_slot(server, gate, other)  # every sync slot busy
    service = SyncService(device.engine(), clock=device.clock)
    model = SyncModel(device.store, service, I18n())
    waits: list = []
    phases: list = []
    service.subscribe(_busy_then_free(gate, waits, model))
    service.subscribe(lambda state: phases.append(state.progress.phase if state.progress else None))
    try:
        report = service.run_once()
    finally:
        gate.close()
        holder.join(timeout=30)
    assert replies[0].status_code == 200

    assert report.ok, report.problem
    assert (report.pushed, report.rejected, report.pending) == (COUNT, 0, 0)
    [(wait, (text, fraction))] = waits[:1]
    # the fast test policy backs off at most 0.5 s: a wait of a second or more is the server's Retry-After
    assert RETRY_AFTER // 2 <= wait <= RETRY_AFTER * 3 // 2
    seconds = -(-wait // 1)
    assert text == f"Máy chủ đang bận; sẽ gửi lại sau {seconds:.0f} giây" and fraction is None
    assert I18n("en").t("sync.progress.wait", seconds=int(seconds)) == f"The server is busy; sending again in {seconds:.0f} s"
    assert phases.index("wait") < len(phases) - 1 - phases[::-1].index("push")  # back to "sending" after the wait

    # on the server: exactly the changes the device had queued (same change_ids), each applied once
    held_id = replies[0].json()["results"][0]["id"]
    history = [row for row in server_history(server) if row[1] != held_id]
    assert sorted((change_id, household_id) for change_id, household_id, _, _ in history) == sorted(queued.items())
    assert {status for _, _, status, _ in history} == {"applied"}


@ENGINES
def test_a_retry_after_past_the_engines_bound_ends_the_cycle_and_the_next_one_sends_it(gated, make_device, tmp_path):
    server, gate = gated
    device = make_device(server)
    device.store.save_many(generate(3, seed=15, hamlets=1, commune="25216"))
    holder, _, _ = hold_the_sync_slot(server, gate, server.enrol("surveyor", "25216")["token"])
    # the server asks for 2–6 s; this phone waits at most 1 s in a cycle
    service = SyncService(device.engine(max_wait=1.0), clock=device.clock)
    model = SyncModel(device.store, service, I18n())
    try:
        report = service.run_once()
    finally:
        gate.close()
        holder.join(timeout=30)
    assert isinstance(report.problem, ServerBusy) and str(report.problem) == "http_503"
    assert report.problem.retry_after >= 2 and report.pending == 3
    assert service.state.status is SyncStatus.BUSY
    assert model.chip() == "Máy chủ bận · chờ gửi 3"
    assert model.result().endswith(" — " + I18n().t("sync.problem.busy"))
    again = service.run_once()
    assert again.ok and (again.pushed, again.pending) == (3, 0)
    history = server_history(server)
    assert len(history) == 4 and {row[2] for row in history} == {"applied"}
