"""The household form's view-model as surveyors use it (issue 12): partial years, consent and personal data,
the same house number twice, the first error in the form's order, the whole state as a draft that comes
back exactly, and the draft keeper that writes it off the UI loop."""

from __future__ import annotations

import threading
import time

from ntm_field.domain.codes import Check
from ntm_field.ui.i18n import I18n
from ntm_field.ui.models.drafts import DraftKeeper
from ntm_field.ui.models.form import FormModel
from tests.ui.test_models import HAMLET, Calls, form, four_member_household

VI = I18n()


def test_a_partial_year_asks_for_four_digits_and_an_empty_one_asks_for_the_year(store, clock, new_id):
    model = form(store, clock, new_id)
    four_member_household(model)
    model.set_member(1, "birth_year", "2")
    model.set_member(2, "birth_year", "")
    model.set_member(3, "birth_year", "20x5")
    assert model.save() is False
    assert model.errors["members[1].birth_year"] == "nhập đủ 4 chữ số của năm sinh"
    assert model.errors["members[2].birth_year"] == VI.t("form.birth_year_empty")
    assert model.errors["members[3].birth_year"] == VI.t("form.birth_year_invalid")
    assert model.first_error == "members[1].birth_year"  # in the order of the screen, not of the dict


def test_the_first_error_follows_the_screen_from_top_to_bottom(store, clock, new_id):
    model = form(store, clock, new_id)
    four_member_household(model)
    model.set_member(3, "birth_year", "1800")
    model.set_surveyed_on("31/02/2024")
    assert model.save() is False
    assert model.first_error == "surveyed_on"
    model.set_surveyed_on("12/04/2024")
    assert model.save() is False and model.first_error == "members[3].birth_year"


def test_without_consent_the_form_keeps_no_personal_data_and_still_saves(store, clock, new_id):
    model = form(store, clock, new_id)
    four_member_household(model)
    model.set_field("note", "Nhà có người già")
    model.set_field("follow_up_note", "gọi anh Đức")
    assert model.holds_personal_data
    model.set_field("consent", False)
    assert (model.head_name, model.note, model.follow_up_note) == ("", "", "")
    assert [m.full_name for m in model.members] == ["", "", "", ""]
    assert not model.holds_personal_data
    model.set_field("head_name", "Nguyễn Văn Đức")  # refused: the view disables the field
    model.set_member(0, "full_name", "Nguyễn Văn Đức")
    assert model.head_name == "" and model.members[0].full_name == ""
    assert model.save(), model.errors
    stored = store.get(model.household_id)
    assert stored.head_name == "" and {m.full_name for m in stored.members} == {""}
    assert [m.birth_year for m in stored.members] == [1968, 1972, 2010, 2015]  # still counts
    assert stored.members[0].cccd == "yes"


def test_the_same_house_number_in_the_hamlet_warns_once_and_saves_when_asked(store, clock, new_id):
    first = form(store, clock, new_id)
    four_member_household(first)
    assert first.save()
    second = form(store, clock, new_id)
    four_member_household(second)
    second.set_field("house_no", " 12 ")
    assert second.save() is False and not second.errors
    assert second.duplicate is not None and second.duplicate.id == first.household_id
    assert store.counts()["households"] == 1
    assert second.save(despite_duplicate=True)
    assert store.counts()["households"] == 2
    first.set_field("note", "sửa")  # its own number is not a duplicate of itself
    assert first.save()


def test_the_whole_form_comes_back_from_its_payload_exactly(store, clock, new_id):
    model = form(store, clock, new_id)
    four_member_household(model)
    model.set_check(2, "vneid", "level1")
    model.set_reason(2, "vneid", "NO_SMARTPHONE")
    model.toggle_assisted(2, "vneid_level1_activated")
    model.set_member(3, "birth_year", "20")  # half typed
    model.set_surveyed_on("11/04/2")  # half typed too
    payload = model.payload()
    other = FormModel(store, I18n(), clock=clock, new_id=new_id)
    assert other.resume(payload)
    assert other.payload() == payload and other.dirty
    assert other.members == model.members and other.household_id == model.household_id
    assert not other.resume({"v": 999}) and other.payload() == payload  # a payload of another version: untouched


def test_the_draft_keeper_writes_the_newest_state_once_typing_stops(store, clock, new_id):
    model = form(store, clock, new_id)
    keeper = DraftKeeper(store, model, delay=0.05)
    model.set_field("consent", True)
    for end in range(1, 8):
        model.set_field("head_name", "Lê Thị Mai"[:end])
    assert store.draft(model.household_id) is None  # nothing written while typing
    _wait(lambda: store.draft(model.household_id) is not None)
    assert store.draft(model.household_id)["head_name"] == "Lê Thị "
    [summary] = store.drafts()
    assert summary.household_id == model.household_id and summary.is_new
    model.set_member(0, "birth_year", "1980")
    model.all_covered(0)
    assert keeper.saving(model.save)
    time.sleep(0.2)  # a write that was pending must not bring the draft back after the save
    assert store.draft(model.household_id) is None and store.drafts() == []


def test_a_failed_save_keeps_the_draft_current_and_discard_drops_it(store, clock, new_id):
    model = form(store, clock, new_id)
    keeper = DraftKeeper(store, model, delay=0.05)
    model.set_field("consent", True)
    model.set_member(0, "birth_year", "19")
    assert keeper.saving(model.save) is False
    _wait(lambda: store.draft(model.household_id) is not None)
    assert store.draft(model.household_id)["members"][0]["birth_year"] == "19"
    keeper.discard()
    assert store.draft(model.household_id) is None and not model.dirty


def test_an_undo_after_discarding_the_form_brings_nothing_back(store, clock, new_id):
    """The monkey's seed 5: a member removed, the form left with "Bỏ thay đổi", then "Hoàn tác" on the undo
    bar still showing: the discarded household came back as a draft, with the member removed."""
    model = form(store, clock, new_id)
    keeper = DraftKeeper(store, model, delay=0.01)
    model.set_field("consent", True)
    model.add_member()
    removed = model.members[1].id
    model.remove_member(removed)
    keeper.discard()
    model.undo_remove(removed)
    time.sleep(0.1)
    assert len(model.members) == 1 and not model.dirty
    assert store.draft(model.household_id) is None and store.drafts() == []


def test_an_undo_brings_back_only_the_member_it_names(store, clock, new_id):
    model = form(store, clock, new_id)
    model.set_field("consent", True)
    model.add_member()
    model.add_member()
    first, second = model.members[1].id, model.members[2].id
    model.remove_member(first)
    model.remove_member(second)  # the bar of the first removal is replaced; its undo is stale
    model.undo_remove(first)
    assert [m.id for m in model.members] == [model.members[0].id]
    model.undo_remove(second)
    assert [m.id for m in model.members][1:] == [second]


def test_resume_draft_opens_a_household_as_it_was_left(store, clock, new_id):
    model = form(store, clock, new_id)
    keeper = DraftKeeper(store, model, delay=0.01)
    model.set_field("consent", True)
    model.set_field("head_name", "Phạm Văn Tài")
    model.add_member()
    model.set_member(1, "birth_year", "2009")
    keeper.flush()
    reopened = FormModel(store, I18n(), clock=clock, new_id=new_id)
    assert reopened.resume_draft(model.household_id)
    assert reopened.head_name == "Phạm Văn Tài" and len(reopened.members) == 2
    assert reopened.applicable(1) == [Check.CCCD, Check.VNEID, Check.SMARTPHONE]  # 15 in 2024: no SIM yet
    assert reopened.hamlet_code == HAMLET and reopened.is_new


def test_listeners_hear_every_change_once(store, clock, new_id):
    model = form(store, clock, new_id)
    heard = Calls()
    model.subscribe(heard)
    model.set_field("consent", True)
    model.add_member()
    model.remove_member(1)
    model.undo_remove()
    assert heard.count == 4


def _wait(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)
    assert threading.active_count() < 50


def test_signing_out_counts_drafts_as_work_that_would_be_lost(store, clock, new_id):
    from ntm_field.ui.models.settings import SettingsModel

    model = form(store, clock, new_id)
    keeper = DraftKeeper(store, model, delay=0.01)
    model.set_field("consent", True)
    model.set_field("head_name", "Phạm Văn Tài")
    keeper.flush()
    settings = SettingsModel(store, I18n())
    assert settings.unsynced() == 1
    assert settings.sign_out() is False and settings.confirming  # asks first
    assert settings.sign_out(confirmed=True) and store.drafts() == []


def test_flush_soon_writes_the_pending_draft_without_the_caller_waiting(store, clock, new_id):
    model = form(store, clock, new_id)
    keeper = DraftKeeper(store, model, delay=60)  # typing has not stopped yet
    model.set_field("consent", True)
    model.set_field("head_name", "Võ Thị Sáu")
    keeper.flush_soon()
    _wait(lambda: store.draft(model.household_id) is not None)
    assert store.draft(model.household_id)["head_name"] == "Võ Thị Sáu"
    keeper.flush_soon()  # nothing pending: nothing to do
