"""The device side of sync against a real server process: push, pull, answers, failures by meaning."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

from ntm_field.bench.households import generate
from ntm_field.domain.units import Level
from ntm_field.sync.errors import AuthFailed, Offline, Refused
from tests.conftest import FakeClock
from tests.sync.conftest import ENGINES, admin_store, server_documents, server_history, start_server, stop_server


def households(count: int, seed: int = 1):
    return list(generate(count, seed=seed, hamlets=3, commune="25216"))


def documents(store) -> dict[str, dict]:
    return {h.id: store.get(h.id).to_document() for h in store.list_households("25216-01") + store.list_households("25216-02") + store.list_households("25216-03")}


def test_enrolment_keeps_the_token_the_scope_and_its_hamlets(server, make_device):
    device = make_device(server, scope="25216")
    enrolment = device.store.enrolment()
    assert (enrolment.role, enrolment.scope, enrolment.server) == ("surveyor", ("25216",), server.url)
    assert "token" not in repr(enrolment)
    hamlets = {code: u for code, u in device.store.units().items() if u.level is Level.HAMLET}
    assert sorted(hamlets) == ["25216-01", "25216-02", "25216-03"]
    assert hamlets["25216-01"].name == "Khu phố 1" and hamlets["25216-01"].expected_households == 200


@ENGINES
def test_pushed_households_reach_the_server_once_and_another_device_pulls_them(server, make_device):
    first = make_device(server)
    first.store.save_many(households(120))
    report = first.sync()
    assert report.ok, report.problem
    assert report.counts() == {"pushed": 120, "pulled": 0, "rejected": 0, "conflicts": 0, "pending": 0}
    history = server_history(server)
    assert len(history) == 120 and len({row[0] for row in history}) == 120
    assert {row[2] for row in history} == {"applied"}
    assert first.store.counts()["outbox_synced"] == 120

    second = make_device(server)
    report = second.sync()
    assert report.ok and report.pulled == 120
    assert documents(second.store) == documents(first.store) == server_documents(server)
    assert second.sync().pulled == 0  # a revision seen again is not counted


def test_a_save_the_server_refuses_waits_in_needs_fix_and_does_not_block_the_queue(server, make_device):
    # A phone whose clock runs a year ahead dates a visit in the future: the server refuses that one.
    ahead = FakeClock(datetime.now(timezone.utc) + timedelta(days=365))
    device = make_device(server, clock=ahead)
    batch = households(30)
    bad = replace(batch[12], surveyed_on=ahead.now.date())
    device.store.save_many([*batch[:12], bad, *batch[13:]])
    report = device.sync()
    assert (report.pushed, report.rejected, report.pending) == (29, 1, 0)
    [fix] = device.store.needs_fix()
    assert (fix.household_id, fix.error_code, fix.error_field) == (bad.id, "invalid", "data.surveyed_on")
    assert bad.id not in {row[1] for row in server_history(server)}

    device.store.save(replace(bad, surveyed_on=date(2024, 4, 12)))  # the surveyor fixes the date
    assert device.store.needs_fix() == []
    report = device.sync()
    assert (report.pushed, report.rejected, report.pending) == (1, 0, 0)
    assert server_documents(server)[bad.id]["surveyed_on"] == "2024-04-12"


def test_an_edit_of_a_synced_household_goes_on_its_revision(server, make_device):
    device = make_device(server)
    [household] = households(1)
    device.store.save(household)
    device.sync()
    device.store.save(replace(household, head_name="Trần Thị Lan"))
    report = device.sync()
    assert (report.pushed, report.conflicts) == (1, 0)
    assert [row[2] for row in server_history(server)] == ["applied", "applied"]


def test_a_revoked_device_is_wiped_at_next_contact(server, make_device):
    device = make_device(server)
    device.store.save_many(households(5))
    device.sync()
    device.store.save_many(households(3, seed=2))
    with admin_store(server) as store:
        store.revoke(device.store.enrolment().device_id)
    report = device.sync()
    assert isinstance(report.problem, AuthFailed) and report.problem.revoked
    assert device.store.enrolment() is None
    assert device.store.counts()["households"] == 0 and device.store.counts()["members"] == 0
    assert device.store.units() == {}


def test_a_dead_token_stops_the_cycle_and_keeps_the_data(server, make_device):
    device = make_device(server)
    device.store.save_many(households(4))
    enrolment = device.store.enrolment()
    device.store.enrol(replace(enrolment, token="not-a-token"), device.store.units().values())
    report = device.sync()
    assert isinstance(report.problem, AuthFailed) and not report.problem.revoked
    assert report.problem.error_code == "invalid_token"
    assert report.pending == 4 and device.store.counts()["households"] == 4


def test_a_refused_batch_stops_and_reports_instead_of_looping(server, make_device):
    officer = make_device(server, role="officer")  # officers may not push households
    officer.store.save_many(households(3))
    report = officer.sync()
    assert isinstance(report.problem, Refused) and (report.problem.status, report.problem.error_code) == (403, "forbidden")
    assert report.pending == 3 and server_history(server) == []


def test_saves_go_on_while_the_server_is_down_and_sync_when_it_returns(server, make_device):
    device = make_device(server)
    stop_server(server.process)
    device.store.save_many(households(20))
    report = device.sync(attempts=2)
    assert isinstance(report.problem, Offline) and report.pending == 20
    back = start_server(server.db)
    try:
        device.url = back.url
        report = device.sync()
        assert report.ok and report.pushed == 20 and report.pending == 0
    finally:
        stop_server(back.process)
