"""Edits that cross on the way: a second edit while the first is in flight, a pull while an edit
waits, two devices on one household, and device clocks that are wrong."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

from ntm_field.bench.households import generate
from ntm_field.domain.outbox import ChangeState
from tests.conftest import FakeClock
from tests.sync.conftest import server_documents, server_history, server_rows


def one_household(seed: int = 3):
    [household] = generate(1, seed=seed, hamlets=1, commune="25216")
    return household


def open_conflicts(server) -> list[tuple]:
    return server_rows(server, "SELECT household_id, field FROM conflicts WHERE status = 'open'")


def test_an_edit_made_while_the_first_is_in_flight_goes_after_it_on_its_revision(server, make_device):
    device = make_device(server)
    household = one_household()
    first = device.store.save(household)
    # The first change leaves, the server stores it, the answer is lost on the way back.
    [change] = device.store.outgoing(10)
    device.store.mark_sent([change])
    with device.connect(server.url, device.store.enrolment().token) as transport:
        transport.push("lost-reply", [change.to_wire()])
    # Meanwhile the surveyor corrects the head's name back and adds a note.
    second = device.store.save(replace(household, head_name="Lê Văn Tám", note="gặp lại chiều nay"))
    assert [c.change_id for c in device.store.outgoing(10)] == [first.change_id]  # the second waits

    report = device.sync()
    assert report.ok and report.pending == 0
    history = server_history(server)
    assert [row[0] for row in history] == [first.change_id, second.change_id]
    assert [row[2] for row in history] == ["applied", "applied"]
    assert server_documents(server)[household.id] == device.store.get(household.id).to_document()
    assert device.store.get(household.id).head_name == "Lê Văn Tám"


def test_an_edit_that_undoes_an_in_flight_edit_is_not_lost(server, make_device):
    device = make_device(server)
    household = one_household()
    device.store.save(household)
    device.sync()
    device.store.save(replace(household, house_no="99"))
    [change] = device.store.outgoing(10)
    device.store.mark_sent([change])
    with device.connect(server.url, device.store.enrolment().token) as transport:
        transport.push("lost-reply", [change.to_wire()])
    device.store.save(replace(household, house_no=household.house_no))  # typed by mistake: back as it was
    report = device.sync()
    assert report.ok and report.pending == 0
    assert server_documents(server)[household.id]["house_no"] == household.house_no
    assert device.store.get(household.id).house_no == household.house_no


def test_a_pull_keeps_the_local_edit_and_takes_the_rest_of_the_new_revision(server, make_device):
    surveyor, leader = make_device(server), make_device(server)
    household = one_household()
    surveyor.store.save(household)
    surveyor.sync()
    leader.sync()
    leader.store.save(replace(leader.store.get(household.id), note="đã hẹn quay lại", house_no="12A"))
    leader.sync()
    surveyor.store.save(replace(surveyor.store.get(household.id), head_name="Trần Văn Bảy", house_no="12B"))

    # Only the pull half of a cycle: the waiting edit must survive it.
    page = surveyor.connect(server.url, surveyor.store.enrolment().token).pull(surveyor.store.cursor(), 100)
    assert surveyor.store.apply_pulled(page["changes"], page["cursor"]) == 1
    local = surveyor.store.get(household.id)
    assert (local.head_name, local.house_no, local.note) == ("Trần Văn Bảy", "12B", "đã hẹn quay lại")
    assert surveyor.store.pending_count() == 1

    report = surveyor.sync()
    assert (report.pushed, report.conflicts, report.pending) == (1, 1, 0)  # house_no: 12A against 12B
    assert open_conflicts(server) == [(household.id, "house_no")]
    leader.sync()
    assert surveyor.store.get(household.id) == leader.store.get(household.id)
    assert server_documents(server)[household.id] == leader.store.get(household.id).to_document()
    assert server_documents(server)[household.id]["house_no"] == "12B"  # the later arrival is stored


def test_wrong_device_clocks_decide_no_order(server, make_device):
    now = datetime.now(timezone.utc)
    ahead = make_device(server, clock=FakeClock(now + timedelta(days=365)))
    behind = make_device(server, clock=FakeClock(now - timedelta(days=365)))
    households = list(generate(3, seed=9, hamlets=1, commune="25216"))
    saved = []
    for household in households:
        saved.append(ahead.store.save(household).change_id)
        ahead.clock.advance(days=-400)  # the phone's clock jumps back between saves
    assert [c.change_id for c in ahead.store.outgoing(10)] == saved  # the outbox keeps save order
    ahead.sync()
    behind.sync()
    shared = households[0]
    # The phone a year behind edits after the phone a year ahead: both edits count, by arrival.
    behind.store.save(replace(behind.store.get(shared.id), note="từ máy chậm giờ"))
    ahead.store.save(replace(ahead.store.get(shared.id), house_no="7"))
    ahead.sync()
    behind.sync()
    ahead.sync()
    assert [row[0] for row in server_history(server)][:3] == saved
    merged = server_documents(server)[shared.id]
    assert (merged["note"], merged["house_no"]) == ("từ máy chậm giờ", "7")
    assert ahead.store.get(shared.id) == behind.store.get(shared.id)
    assert open_conflicts(server) == []
    assert all(s.sync_state == ChangeState.SYNCED for s in behind.store.list_households("25216-01"))
