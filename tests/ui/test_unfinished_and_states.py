"""Home's unfinished forms (drafts) and overdue follow-ups, the household list's states, natural order and
clear-search, and Settings' role and device name: the view-models on a real store, without a page."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from ntm_field.domain.outbox import ChangeResult, ResultStatus
from ntm_field.ui.i18n import I18n
from ntm_field.ui.models.home import FollowUp, HomeModel
from ntm_field.ui.models.households import Filter, HouseholdListModel, State, route, states
from ntm_field.ui.models.settings import SettingsModel
from tests.ui.test_models import HAMLET, Calls, enrolment, household, member, units

NEW_ID = "99c0ffee-0000-4000-8000-000000000099"


@pytest.fixture
def hamlet(store):
    store.replace_units(units((HAMLET, "Khu phố 3", 120), ("25216-01", "Khu phố 1", None)))
    return store


def saved(store, n: int, head: str, **options):
    return store.save(household(n, head, [member(f"m{n}", head, 1980)], **options)).household


def _send(store, household_id: str, status: ResultStatus, rev: int) -> None:
    [change] = [c for c in store.outgoing(100) if c.household_id == household_id]
    store.mark_sent([change])
    error = ("invalid", "data.house_no", "x") if status is ResultStatus.REJECTED else ()
    store.record_results([ChangeResult(change.change_id, status, rev, *error)])


# ----- home: unfinished forms ---------------------------------------------------------------


def test_home_lists_drafts_newest_first_with_name_house_hamlet_and_time(hamlet, clock):
    store = hamlet
    duc = saved(store, 1, "Nguyễn Văn Đức", house_no="12A")
    store.save_draft(duc.id, HAMLET, "Nguyễn Văn Đức", "12A", {"any": "state"})
    clock.advance(minutes=7)
    store.save_draft(NEW_ID, "25216-01", "", "", {})
    model = HomeModel(store)
    model.refresh()
    new, edit = model.drafts
    assert (new.household_id, new.head_name, new.house_no, new.hamlet, new.is_new) == (NEW_ID, "", "", "Khu phố 1", True)
    assert (edit.head_name, edit.house_no, edit.hamlet, edit.is_new) == ("Nguyễn Văn Đức", "12A", "Khu phố 3", False)
    assert (edit.saved_at, new.saved_at) == ("12/04 09:30", "12/04 09:37")  # dd/mm HH:MM, the device's time
    assert new.route == f"/draft/{NEW_ID}" and edit.route == f"/draft/{duc.id}"


def test_home_without_drafts_shows_none(hamlet):
    model = HomeModel(hamlet)
    model.refresh()
    assert model.drafts == [] and model.discarding is None


def test_discarding_a_draft_asks_first_and_keeps_the_saved_household(hamlet):
    store = hamlet
    duc = saved(store, 1, "Nguyễn Văn Đức")
    store.save_draft(duc.id, HAMLET, "Nguyễn Văn Đức", "1", {"edited": True})
    model = HomeModel(store)
    changes = Calls()
    model.subscribe(changes)
    model.refresh()
    model.ask_discard(duc.id)
    assert model.discarding.household_id == duc.id and store.draft(duc.id) is not None  # nothing deleted yet
    model.cancel_discard()
    assert model.discarding is None and store.draft(duc.id) == {"edited": True}
    model.ask_discard(duc.id)
    model.confirm_discard()
    assert model.discarding is None and model.drafts == [] and store.drafts() == []
    assert store.get(duc.id) == duc
    assert changes.count == 5


def test_confirming_with_nothing_asked_deletes_nothing(hamlet):
    hamlet.save_draft(NEW_ID, HAMLET, "", "", {})
    model = HomeModel(hamlet)
    model.refresh()
    model.ask_discard("not-a-draft")
    model.confirm_discard()
    assert [d.household_id for d in hamlet.drafts()] == [NEW_ID]


# ----- home: follow-ups overdue -------------------------------------------------------------


def test_a_follow_up_before_today_is_overdue_and_shown_day_first():
    follow_up = FollowUp("id", "2024-04-11", "Lê Văn Tám", "25216-03/000000")
    assert follow_up.overdue(date(2024, 4, 12)) and not follow_up.overdue(date(2024, 4, 11))
    assert not follow_up.overdue(date(2024, 4, 10))
    assert follow_up.due_shown == "11/04/2024"


def test_home_follow_ups_are_overdue_by_the_apps_clock(hamlet, clock):
    saved(hamlet, 1, "Lê Văn Tám", due="2024-04-11")
    saved(hamlet, 2, "Trần Thị Hồng", due="2024-04-12")
    model = HomeModel(hamlet)
    model.refresh()
    today = clock().date()
    assert [(f.due_shown, f.overdue(today)) for f in model.follow_ups] == [("11/04/2024", True), ("12/04/2024", False)]
    clock.advance(days=1)
    assert [f.overdue(clock().date()) for f in model.follow_ups] == [True, True]


# ----- household list: states, order, clear -------------------------------------------------


@pytest.fixture
def village(hamlet):
    """One household in each saved state, one being edited (a draft beside it), one new draft only."""
    store = hamlet
    found = {name: saved(store, n, name, house_no=no)
             for n, (name, no) in enumerate([("An", "24"), ("Bình", "3"), ("Chi", "12A"), ("Dũng", "12"), ("Em", "100")], 1)}  # fmt: skip
    _send(store, found["Bình"].id, ResultStatus.APPLIED, 1)
    _send(store, found["Chi"].id, ResultStatus.REJECTED, 2)
    _send(store, found["Dũng"].id, ResultStatus.CONFLICT, 3)
    _send(store, found["Em"].id, ResultStatus.MERGED, 4)
    store.save_draft(found["Em"].id, HAMLET, "Em", "100", {"editing": True})
    store.save_draft(NEW_ID, HAMLET, "Phan Văn Mới", "7", {})
    return found


def names(model: HouseholdListModel) -> list[str]:
    return [d.head_name for d in model.new_drafts] + [r.head_name for r in model.rows]


def test_each_row_says_its_state_in_natural_house_order_and_opens_its_draft_when_it_has_one(store, village):
    model = HouseholdListModel(store)
    model.refresh()
    assert [(r.house_no, r.head_name, states(r)) for r in model.rows] == [
        ("3", "Bình", [State.SYNCED]), ("12", "Dũng", [State.CONFLICT]), ("12A", "Chi", [State.REJECTED]),
        ("24", "An", [State.PENDING]), ("100", "Em", [State.DRAFT, State.SYNCED]),
    ]  # fmt: skip
    [new] = model.new_drafts
    assert (new.id, new.head_name, new.house_no, new.hamlet, new.route) == (NEW_ID, "Phan Văn Mới", "7", "Khu phố 3", f"/draft/{NEW_ID}")
    rows = {r.head_name: r for r in model.rows}
    assert route(rows["Em"]) == f"/draft/{village['Em'].id}"
    assert route(rows["An"]) == f"/household/{village['An'].id}"


@pytest.mark.parametrize(
    "state, expected",
    [
        (State.ALL, ["Phan Văn Mới", "Bình", "Dũng", "Chi", "An", "Em"]),
        (State.DRAFT, ["Phan Văn Mới", "Em"]),  # a household only drafted is listed too
        (State.PENDING, ["An"]),
        (State.SYNCED, ["Bình", "Em"]),
        (State.REJECTED, ["Chi"]),
        (State.CONFLICT, ["Dũng"]),
    ],
)
def test_the_state_filter_keeps_its_households(store, village, state, expected):
    model = HouseholdListModel(store)
    changes = Calls()
    model.subscribe(changes)
    model.set_state(state.value)
    assert model.state is state and names(model) == expected and changes.count == 1


def test_the_state_filter_applies_to_search_and_combines_with_the_visit_filter(store, village):
    model = HouseholdListModel(store)
    model.set_query("phan")
    assert names(model) == ["Phan Văn Mới"]  # a new draft is found by its name
    model.set_query("7")
    assert names(model) == ["Phan Văn Mới"]  # … and by its house number
    model.set_query("em")
    model.set_state("draft")
    assert names(model) == ["Em"]
    model.set_state("pending")
    assert names(model) == []
    model.set_query("")
    model.set_state("all")
    model.set_filter(Filter.NOT_COVERED.value)  # members of 1980 with nothing covered
    assert names(model) == ["Bình", "Dũng", "Chi", "An", "Em"]  # a new draft has no visit result yet
    with pytest.raises(ValueError):
        model.set_state("sent-ish")


def test_saving_a_draft_moves_the_household_from_draft_to_not_sent(store, village):
    model = HouseholdListModel(store)
    store.save(replace(village["Em"], house_no="101"))
    model.set_state("draft")
    assert names(model) == ["Phan Văn Mới"]
    model.set_state("pending")
    assert names(model) == ["An", "Em"]


def test_clearing_the_search_lists_everything_again(store, village):
    model = HouseholdListModel(store)
    model.set_query("chi")
    assert names(model) == ["Chi"]
    model.clear_query()
    assert model.query == "" and len(names(model)) == 6
    assert not model.empty


def test_an_empty_list_says_so(hamlet):
    model = HouseholdListModel(hamlet)
    model.refresh()
    assert model.empty


# ----- settings -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "role, vi, en",
    [("surveyor", "Khảo sát viên", "Surveyor"), ("leader", "Tổ trưởng", "Team leader"),
     ("officer", "Cán bộ theo dõi", "Monitoring officer"), ("admin", "Quản trị viên", "Administrator")],
)  # fmt: skip
def test_settings_show_the_role_in_words_and_the_device_name_not_its_id(store, role, vi, en):
    store.enrol(replace(enrolment(device_id="4f1c2b7e-0000-4000-8000-000000000001"), role=role, device_name="Máy của Lan"),
                units((HAMLET, "Khu phố 3", 120)))  # fmt: skip
    model = SettingsModel(store, I18n())
    details = model.details()
    assert details[1:3] == ["Thiết bị: Máy của Lan", f"Vai trò: {vi}"]
    assert not any("4f1c2b7e" in line for line in details)
    assert model.device_id() == "Mã thiết bị: 4f1c2b7e-0000-4000-8000-000000000001"
    model.i18n.lang = "en"
    assert model.details()[1:3] == ["Device: Máy của Lan", f"Role: {en}"]


def test_settings_of_a_device_without_a_name_say_so(store):
    store.enrol(replace(enrolment(), device_name=" "), units((HAMLET, "Khu phố 3", 120)))
    assert SettingsModel(store, I18n()).details()[1] == "Thiết bị: (chưa đặt tên)"
    assert SettingsModel(store, I18n()).device_id() == "Mã thiết bị: dev-7"
