"""Drafts stay on the phone and conflicts are known from the server's answers: against a real server."""

from __future__ import annotations

from dataclasses import replace

from ntm_field.bench.households import generate
from tests.sync.conftest import server_documents, server_history

NEW_ID = "00000000-0000-4000-8000-00000000beef"


def test_a_sync_round_pushes_nothing_of_a_draft(server, make_device):
    device = make_device(server)
    saved, edited = list(generate(2, seed=3, hamlets=1, commune="25216"))
    device.store.save(saved)
    device.store.save_draft(saved.id, saved.hamlet_code, "Tên đang sửa", "99", {"head_name": "Tên đang sửa"})
    device.store.save_draft(NEW_ID, saved.hamlet_code, "Hộ mới", "1", {"head_name": "Hộ mới"})
    report = device.sync()
    assert report.ok and report.pushed == 1
    documents = server_documents(server)
    assert list(documents) == [saved.id] and documents[saved.id]["head_name"] == saved.head_name
    assert [d.household_id for d in device.store.drafts()] == [NEW_ID, saved.id]  # both still on the phone
    again = device.sync()
    assert again.ok and again.pushed == 0 and len(server_history(server)) == 1


def test_a_change_the_server_stores_as_a_conflict_shows_until_a_newer_revision_arrives(server, make_device):
    first, second = make_device(server), make_device(server)
    [household] = list(generate(1, seed=4, hamlets=1, commune="25216"))
    first.store.save(replace(household, house_no="5"))
    assert first.sync().ok and second.sync().pulled == 1
    first.store.save(replace(household, house_no="6"))
    second.store.save(replace(household, house_no="7"))
    assert first.sync().ok
    report = second.sync()
    assert report.ok and report.conflicts == 1
    hamlet = [household.hamlet_code]
    assert [r.id for r in second.store.browse(hamlet, state="conflict")] == [household.id]
    assert second.store.browse(hamlet, state="synced") == []
    # the conflict revision is pulled (by a later round): still in conflict; a newer revision ends it
    second.sync()
    assert [r.in_conflict for r in second.store.browse(hamlet)] == [True]
    first.sync()
    first.store.save(replace(household, house_no="8"))  # a leader's resolution arrives as a newer revision too
    assert first.sync().ok and second.sync().ok
    [row] = second.store.browse(hamlet)
    assert not row.in_conflict and row.sync_state == "synced" and row.house_no == "8"
