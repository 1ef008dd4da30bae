"""The view-models of the field app, without a page: a real store in a temp dir and, where the
network matters, a real server process and devices enrolled with it over HTTP."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from ntm_field.domain.codes import Check
from ntm_field.domain.device import Enrolment
from ntm_field.domain.outbox import ChangeResult, ChangeState, ResultStatus
from ntm_field.domain.records import Consent, FollowUp, Household, Member
from ntm_field.domain.units import Level, Unit
from ntm_field.server.db import open_backend
from ntm_field.server.store import ServerStore
from ntm_field.sync.engine import SyncEngine
from ntm_field.sync.enrol import enrol_device
from ntm_field.sync.service import SyncService, SyncStatus
from ntm_field.ui.i18n import I18n
from ntm_field.ui.models.enrol import EnrolModel
from ntm_field.ui.models.form import NOTICE_VERSION, FormModel
from ntm_field.ui.models.home import HomeModel
from ntm_field.ui.models.households import Filter, HouseholdListModel
from ntm_field.ui.models.settings import SettingsModel
from ntm_field.ui.models.sync import SyncModel
from tests.conftest import ICT, FakeClock
from tests.sync.conftest import enrol_code, stop_server

HAMLET = "25216-03"
ALL_COVERED = {"cccd": "yes", "vneid": "level2", "smartphone": "yes", "sim": "signature"}
NOT_ASKED = {"cccd": "unknown", "vneid": "unknown", "smartphone": "unknown", "sim": "unknown"}


# ----- helpers ------------------------------------------------------------------------------


class Calls:
    """Counts calls (an on_saved callback, a listener)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *_: object) -> None:
        self.count += 1


def units(*hamlets: tuple[str, str, int | None]) -> list[Unit]:
    commune = Unit(code="25216", name="Phường Tân Phú", level=Level.COMMUNE, parent_code="689", expected_households=None)
    return [commune] + [Unit(code, name, Level.HAMLET, code.split("-")[0], expected) for code, name, expected in hamlets]


def member(mid: str, name: str, year: int, **checks: str) -> Member:
    return Member(id=mid, full_name=name, birth_year=year, **checks)


def household(n: int, head: str, members: list[Member], *, hamlet: str = HAMLET, visit: str = "surveyed",
              due: str | None = None, house_no: str | None = None) -> Household:  # fmt: skip
    return Household(
        id=f"{n:02d}c0ffee-0000-4000-8000-{n:012d}",  # label codes differ: 01C0FF, 02C0FF, …
        hamlet_code=hamlet,
        head_name=head,
        visit_status=visit,
        surveyed_on=date(2024, 4, 12),
        house_no=house_no if house_no is not None else str(n),
        consent=Consent(given=True, notice_version="2024-04"),
        follow_up=FollowUp(due=date.fromisoformat(due)) if due else None,
        members=tuple(members),
    )


def form(store, clock, new_id, i18n: I18n | None = None, on_saved=lambda: None) -> FormModel:
    model = FormModel(store, i18n or I18n(), clock=clock, new_id=new_id, on_saved=on_saved)
    model.new_household(HAMLET)
    return model


def fill_member(model: FormModel, index: int, name: str, year: str) -> None:
    if index >= len(model.members):
        model.add_member()
    if index > 0 or name != model.members[0].full_name:
        model.set_member(index, "full_name", name)
    model.set_member(index, "birth_year", year)


def type_text(model: FormModel, name: str, text: str) -> None:
    """As a text field sends it: one change per character typed."""
    for end in range(1, len(text) + 1):
        model.set_field(name, text[:end])


def four_member_household(model: FormModel) -> None:
    """Head 1968, spouse 1972, a 14-year-old and a 9-year-old, each "Đủ 4" (consent asked first: without
    it no name is kept)."""
    model.set_field("consent", True)
    type_text(model, "head_name", "Nguyễn Văn Đức")
    model.set_field("house_no", "12")
    fill_member(model, 0, "Nguyễn Văn Đức", "1968")
    fill_member(model, 1, "Trần Thị Hồng", "1972")
    fill_member(model, 2, "Nguyễn Minh Anh", "2010")
    fill_member(model, 3, "Nguyễn Minh Khoa", "2015")
    for index in range(4):
        model.all_covered(index)


def enrolment(server: str = "https://ntm.example.vn", device_id: str = "dev-7", scope=("25216",)) -> Enrolment:
    return Enrolment(server=server, device_id=device_id, token="secret-token", role="surveyor", scope=tuple(scope),
                     enrolled_at=datetime(2024, 4, 1, 8, 0, tzinfo=ICT), device_name="phone")  # fmt: skip


# ----- i18n shared by the models -------------------------------------------------------------


def test_the_models_share_one_i18n_and_switch_language_together(store, clock, new_id):
    i18n = I18n()
    settings, model = SettingsModel(store, i18n), form(store, clock, new_id, i18n)
    model.set_field("head_name", "Nguyễn Văn Đức")
    model.set_member(0, "birth_year", "19x8")
    model.save()
    assert model.errors["members[0].birth_year"] == "năm sinh phải là số, ví dụ 1968"
    settings.set_language("en")
    model.save()
    assert model.errors["members[0].birth_year"] == "the birth year must be a number, e.g. 1968"
    assert model.failure == "Problems to check: 1."


# ----- enrol --------------------------------------------------------------------------------


def enrol_model(store, clock, *, server: str = "", i18n: I18n | None = None) -> EnrolModel:
    return EnrolModel(lambda code, **kw: enrol_device(store, code, clock=clock, **kw), i18n or I18n(), server=server)


def test_enrol_with_a_good_code_stores_the_enrolment_and_the_hamlets(server, store, clock):
    model = enrol_model(store, clock, server=server.url)
    busy = []
    model.subscribe(lambda: busy.append(model.busy))
    model.set_code(enrol_code(server))
    model.set_device_name("Máy của Lan")
    granted = model.submit()
    assert granted is not None and model.error is None and not model.busy
    assert busy == [True, False]  # the view shows "Đang đăng ký…" while the request runs
    stored = store.enrolment()
    assert (stored.server, stored.device_id, stored.role, stored.scope) == (server.url, granted.device_id, "surveyor", ("25216",))
    assert stored.device_name == "Máy của Lan"
    assert sorted(code for code, u in store.units().items() if u.level is Level.HAMLET) == ["25216-01", "25216-02", "25216-03"]


def test_enrol_with_a_link_needs_no_server_address(server, store, clock):
    model = enrol_model(store, clock)
    model.set_code(f"  {server.url}/enrol?code={enrol_code(server)}  ")
    assert model.submit() is not None and model.error is None
    assert store.enrolment().server == server.url


def test_enrol_with_a_wrong_or_spent_code_says_so(server, store, clock):
    model = enrol_model(store, clock, server=server.url)
    model.set_code("NOT-A-REAL-CODE")
    assert model.submit() is None
    assert model.error == I18n().t("enrol.error.invalid_code")
    assert store.enrolment() is None and not model.busy

    code = enrol_code(server, uses=1)
    model.set_code(code)
    assert model.submit() is not None and model.error is None  # a failure is cleared by the next try
    other = enrol_model(store, clock, server=server.url, i18n=I18n("en"))
    other.set_code(code)
    assert other.submit() is None
    assert other.error == "The enrolment code is wrong, used up or expired."


def test_enrol_without_a_server_is_offline(store, clock):
    model = enrol_model(store, clock, server="http://127.0.0.1:9")
    model.set_code("ABCD-EFGH")
    assert model.submit() is None
    assert model.error == I18n().t("enrol.error.offline")
    assert store.enrolment() is None


@pytest.mark.parametrize("server_address, code", [("", "ABCD-EFGH"), ("   ", "ABCD-EFGH"), ("https://ntm.example.vn", ""),
                                                  ("", "ftp://ntm.example.vn/enrol?code=X"), ("", "https://ntm.example.vn/enrol")])  # fmt: skip
def test_enrol_with_a_bare_code_and_no_server_asks_for_both(store, clock, server_address, code):
    model = enrol_model(store, clock, server=server_address)
    model.set_code(code)
    assert model.submit() is None
    assert model.error == I18n().t("enrol.error.link")


def test_enrol_elsewhere_refuses_while_unsynced_changes_would_be_lost(server, make_device, clock):
    device = make_device(server)
    device.store.save(household(1, "Nguyễn Văn Đức", [member("a1", "Nguyễn Văn Đức", 1968, **ALL_COVERED)]))
    model = enrol_model(device.store, clock, server="http://127.0.0.1:9")  # another server: checked before any request
    model.set_code("ABCD-EFGH")
    assert model.submit() is None
    assert model.error == I18n().t("enrol.error.unsynced", count=1) == "Thiết bị còn 1 thay đổi chưa đồng bộ của máy chủ khác."
    assert device.store.enrolment().server == server.url and device.store.counts()["households"] == 1


# ----- form ---------------------------------------------------------------------------------


def test_a_new_household_starts_surveyed_with_its_head_as_member_one(store, clock, new_id):
    model = form(store, clock, new_id)
    assert model.is_new and model.hamlet_code == HAMLET and model.visit_status == "surveyed"
    assert len(model.members) == 1 and model.members[0].checks == NOT_ASKED
    assert model.surveyed_on == date(2024, 4, 12) and model.surveyed_on_text == "12/04/2024"
    model.set_field("consent", True)
    type_text(model, "head_name", "Nguyễn Văn Đức")
    assert model.head_name == model.members[0].full_name == "Nguyễn Văn Đức"
    # once member 1 is named otherwise, the head's name no longer renames them
    model.set_member(0, "full_name", "Trần Thị Hồng")
    model.set_field("head_name", "Nguyễn Văn Đức Anh")
    assert model.members[0].full_name == "Trần Thị Hồng"


def test_add_and_remove_members(store, clock, new_id):
    model = form(store, clock, new_id)
    model.add_member()
    model.add_member()
    assert len(model.members) == 3 and len({m.id for m in model.members}) == 3
    second, third = model.members[1].id, model.members[2].id
    model.remove_member(1)
    assert [m.id for m in model.members][1] == third
    model.undo_remove()  # a member removed by mistake comes back to its place
    assert [m.id for m in model.members][1:] == [second, third]
    model.remove_member(third)  # a view names members by id: an index shifts when one above goes
    assert [m.id for m in model.members][1:] == [second]
    model.set_member(third, "birth_year", "1990")  # a late event for a removed member changes nothing
    assert all(m.birth_year == "" for m in model.members)


def test_all_covered_sets_what_applies_at_the_members_age(store, clock, new_id):
    model = form(store, clock, new_id)
    ages = {"1968": 56, "2006": 18, "2007": 17, "2009": 15, "2010": 14, "2011": 13}
    for index, year in enumerate(ages):
        fill_member(model, index, f"Người {index}", year)
    assert model.applicable(0) == list(Check)  # adult
    assert model.applicable(1) == list(Check)  # 18: the SIM too
    assert model.applicable(2) == [Check.CCCD, Check.VNEID, Check.SMARTPHONE]
    assert model.applicable(3) == [Check.CCCD, Check.VNEID, Check.SMARTPHONE]
    assert model.applicable(4) == [Check.CCCD, Check.VNEID]
    assert model.applicable(5) == []
    for index in range(len(ages)):
        model.all_covered(index)
    assert model.members[0].checks == ALL_COVERED
    assert model.members[4].checks == {"cccd": "yes", "vneid": "level2", "smartphone": "unknown", "sim": "unknown"}
    assert model.members[5].checks == NOT_ASKED


def test_checks_before_the_birth_year_and_for_members_gone(store, clock, new_id):
    model = form(store, clock, new_id)
    assert model.applicable(0) == list(Check)  # nothing hidden before the age is known
    model.set_member(0, "birth_year", "1968")
    model.set_member(0, "presence", "deceased")
    assert model.applicable(0) == []
    model.set_member(0, "presence", "away")
    assert model.applicable(0) == list(Check)


def test_a_reason_is_offered_only_for_a_check_that_is_not_met(store, clock, new_id):
    model = form(store, clock, new_id)
    model.set_member(0, "birth_year", "1968")
    assert model.needs_reason(0, Check.VNEID)  # unknown: the member may have declined to answer
    assert model.reasons(0, Check.VNEID) == ("REFUSED", "OTHER")
    model.set_check(0, "vneid", "level1")
    assert model.needs_reason(0, Check.VNEID)
    model.set_check(0, "cccd", "no")
    assert model.needs_reason(0, Check.CCCD)
    model.set_check(0, "cccd", "yes")
    assert not model.needs_reason(0, Check.CCCD)
    assert model.values(Check.VNEID) == ("level2", "level1", "no", "unknown")  # most covered first


def test_each_check_offers_only_the_reasons_that_fit_it(store, clock, new_id):
    model = form(store, clock, new_id)
    model.set_member(0, "birth_year", "1968")
    for check in Check:
        model.set_check(0, check.value, "no")
    assert "SIM_NOT_OWNER" not in model.reasons(0, Check.CCCD)
    assert "SIM_NOT_OWNER" in model.reasons(0, Check.SIM)
    assert "CANNOT_AFFORD" in model.reasons(0, Check.SMARTPHONE) and "UNDER_AGE" not in model.reasons(0, Check.CCCD)
    assert all(model.reasons(0, c)[-2:] == ("REFUSED", "OTHER") for c in Check)


def test_a_member_who_declines_is_saved_as_unknown_with_refused(store, clock, new_id):
    model = form(store, clock, new_id)
    four_member_household(model)
    model.set_check(1, "vneid", "unknown")
    model.set_reason(1, "vneid", "REFUSED")
    assert model.save()
    member = store.get(model.household_id).members[1]
    assert member.vneid == "unknown" and member.reasons == {"vneid": "REFUSED"}
    model.set_check(1, "vneid", "no")  # a reason that does not fit the new answer is dropped
    assert model.members[1].reasons == {"vneid": "REFUSED"}  # REFUSED fits every answer
    model.set_reason(1, "vneid", "NO_SMARTPHONE")
    model.set_check(1, "vneid", "unknown")
    assert model.members[1].reasons == {}


def test_covering_a_check_drops_its_reason(store, clock, new_id):
    model = form(store, clock, new_id)
    model.set_member(0, "birth_year", "1968")
    model.set_check(0, "vneid", "level1")
    model.set_reason(0, "vneid", "DATA_MISMATCH")
    model.set_check(0, "sim", "owner")
    model.set_reason(0, "sim", "CANNOT_AFFORD")
    assert model.members[0].reasons == {"vneid": "DATA_MISMATCH", "sim": "CANNOT_AFFORD"}
    model.set_check(0, "vneid", "level2")
    assert model.members[0].reasons == {"sim": "CANNOT_AFFORD"}
    model.all_covered(0)
    assert model.members[0].reasons == {}
    model.set_check(0, "cccd", "no")
    model.set_reason(0, "cccd", "OTHER")
    model.set_reason(0, "cccd", None)
    assert model.members[0].reasons == {}


def test_a_reason_hidden_by_covering_the_check_is_not_saved(store, clock, new_id):
    model = form(store, clock, new_id)
    model.set_field("consent", True)
    model.set_field("head_name", "Nguyễn Văn Đức")
    model.set_member(0, "birth_year", "1968")
    model.set_check(0, "smartphone", "no")
    model.set_reason(0, "smartphone", "NO_PHONE")
    model.set_check(0, "smartphone", "yes")  # the reason's dropdown is gone from the screen
    assert model.save()
    assert store.get(model.household_id).members[0].reasons == {}


def test_saving_a_fully_covered_household_stores_it(store, clock, new_id):
    saved = Calls()
    model = form(store, clock, new_id, on_saved=saved)
    changes = Calls()
    model.subscribe(changes)
    four_member_household(model)
    assert not model.saved
    assert model.save() is True
    assert model.saved and model.errors == {} and model.failure is None and not model.is_new
    assert saved.count == 1 and changes.count > 0
    stored = store.get(model.household_id)
    assert (stored.head_name, stored.house_no, stored.hamlet_code, stored.visit_status) == ("Nguyễn Văn Đức", "12", HAMLET, "surveyed")
    assert stored.consent == Consent(given=True, notice_version=NOTICE_VERSION)
    assert stored.surveyed_on == date(2024, 4, 12)
    assert [(m.full_name, m.birth_year) for m in stored.members] == [
        ("Nguyễn Văn Đức", 1968), ("Trần Thị Hồng", 1972), ("Nguyễn Minh Anh", 2010), ("Nguyễn Minh Khoa", 2015),
    ]  # fmt: skip
    values = [{c.value: m.check(c) for c in Check} for m in stored.members]
    assert values[0] == values[1] == ALL_COVERED
    assert values[2] == {"cccd": "yes", "vneid": "level2", "smartphone": "unknown", "sim": "unknown"}
    assert values[3] == NOT_ASKED
    assert len({m.id for m in stored.members}) == 4
    [row] = store.list_households(HAMLET)
    assert row.fully_covered and row.members == 4 and row.sync_state == ChangeState.PENDING
    assert row.covered[Check.CCCD] == (3, 3) and row.covered[Check.SIM] == (2, 2)
    assert store.pending_count() == 1


def test_a_bad_birth_year_is_shown_and_nothing_is_stored(store, clock, new_id):
    saved = Calls()
    model = form(store, clock, new_id, on_saved=saved)
    four_member_household(model)
    model.set_member(0, "birth_year", "19x8")
    assert model.save() is False
    assert not model.saved and saved.count == 0
    assert model.errors == {"members[0].birth_year": I18n().t("form.birth_year_invalid")}
    assert model.failure == I18n().t("form.errors", count=1)
    assert store.counts()["households"] == 0 and store.pending_count() == 0


def test_every_bad_birth_year_is_shown_at_once(store, clock, new_id):
    model = form(store, clock, new_id)
    four_member_household(model)
    model.set_member(0, "birth_year", "19x8")
    model.set_member(1, "birth_year", "1850")  # a number, out of range: the domain's rule
    model.set_member(2, "birth_year", "2030")  # after the survey year
    assert model.save() is False
    assert set(model.errors) == {"members[0].birth_year", "members[1].birth_year", "members[2].birth_year"}
    assert "1900" in model.errors["members[1].birth_year"]
    assert model.failure == I18n().t("form.errors", count=3)


def test_an_empty_head_name_is_refused(store, clock, new_id):
    saved = Calls()
    model = form(store, clock, new_id, on_saved=saved)
    model.set_field("consent", True)
    model.set_member(0, "full_name", "Nguyễn Văn Đức")
    model.set_member(0, "birth_year", "1968")
    model.set_field("head_name", "   ")
    assert model.save() is False
    assert "head_name" in model.errors and model.errors["head_name"] == "không được để trống"
    assert store.counts()["households"] == 0 and saved.count == 0


@pytest.mark.parametrize("due", ["32/05/2024", "2024-13-01", "20240512", "ngày mai"])
def test_a_bad_follow_up_date_is_refused(store, clock, new_id, due):
    model = form(store, clock, new_id)
    four_member_household(model)
    model.set_field("follow_up_due", due)
    assert model.save() is False
    assert list(model.errors) == ["follow_up.due"]
    assert store.counts()["households"] == 0


def test_a_follow_up_is_saved_with_its_note(store, clock, new_id):
    model = form(store, clock, new_id)
    four_member_household(model)
    model.set_field("follow_up_due", " 2024-04-20 ")
    model.set_field("follow_up_note", "Quay lại khi anh Đức về")
    assert model.save()
    assert store.get(model.household_id).follow_up == FollowUp(due=date(2024, 4, 20), note="Quay lại khi anh Đức về")
    assert store.list_households(HAMLET)[0].follow_up_due == "2024-04-20"
    model.set_field("follow_up_due", "21/4/2024")  # as a Vietnamese reader writes it
    assert model.save() and store.get(model.household_id).follow_up.due == date(2024, 4, 21)


def test_editing_a_household_saves_a_new_pending_change(store, clock, new_id):
    saved = Calls()
    model = form(store, clock, new_id, on_saved=saved)
    four_member_household(model)
    model.set_field("follow_up_due", "2024-04-20")
    assert model.save()
    household_id = model.household_id
    [first] = store.pending_changes()
    store.record_results([ChangeResult(first.change_id, ResultStatus.APPLIED, rev=7)])  # the server took it
    assert store.pending_count() == 0

    editor = FormModel(store, I18n(), clock=clock, new_id=new_id, on_saved=saved)
    assert editor.load(household_id) is True
    assert not editor.is_new and not editor.saved
    assert (editor.head_name, editor.house_no, editor.follow_up_due) == ("Nguyễn Văn Đức", "12", "20/04/2024")
    assert [m.birth_year for m in editor.members] == ["1968", "1972", "2010", "2015"]
    assert editor.members[0].checks == ALL_COVERED and editor.consent is True
    editor.set_field("house_no", "14B")
    assert editor.save()
    assert store.get(household_id).house_no == "14B"
    assert [m.id for m in store.get(household_id).members] == [m.id for m in model.members]  # same people
    [change] = store.pending_changes()
    assert (change.household_id, change.base_rev, change.document["house_no"]) == (household_id, 7, "14B")
    assert store.counts()["households"] == 1
    assert saved.count == 2


def test_on_saved_is_called_once_per_successful_save_only(store, clock, new_id):
    saved = Calls()
    model = form(store, clock, new_id, on_saved=saved)
    assert model.save() is False  # empty form
    four_member_household(model)
    assert model.save() and saved.count == 1
    model.set_member(1, "birth_year", "")
    assert model.save() is False and saved.count == 1
    model.set_member(1, "birth_year", "1972")
    assert model.save() and saved.count == 2
    model.set_field("note", "Nhà có người già")
    assert not model.saved  # an edit takes "Đã lưu" away until the next save
    assert model.save() and saved.count == 3


def test_loading_an_unknown_household_says_so(store, clock, new_id):
    model = form(store, clock, new_id)
    assert model.load("99c0ffee-0000-4000-8000-000000000999") is False
    assert model.failure == I18n().t("form.not_found")


def test_an_enrolled_device_saves_only_households_of_its_hamlets(store, clock, new_id):
    store.enrol(enrolment(), units((HAMLET, "Khu phố 3", 120)))
    model = FormModel(store, I18n("en"), clock=clock, new_id=new_id)
    model.new_household("25217-01")
    four_member_household(model)
    assert model.save() is False
    assert model.errors == {"hamlet_code": "is not a hamlet this device covers"}
    model.set_field("hamlet_code", HAMLET)
    assert model.save() and store.counts()["households"] == 1


def test_a_household_the_server_refused_shows_its_problem_until_saved_again(store, clock, new_id):
    model = form(store, clock, new_id)
    four_member_household(model)
    model.save()
    [change] = store.pending_changes()
    store.record_results([ChangeResult(change.change_id, ResultStatus.REJECTED, error_code="invalid",
                                       error_field="data.members[0].vneid", error_message="không hợp lệ")])  # fmt: skip
    editor = FormModel(store, I18n(), clock=clock, new_id=new_id)
    editor.load(model.household_id)
    assert editor.server_problem == "Máy chủ báo: Thành viên 1 · Định danh điện tử (VNeID) (data.members[0].vneid) — không hợp lệ"
    editor.set_check(0, "vneid", "level1")
    assert editor.save()
    assert editor.server_problem is None and store.needs_fix() == []


# ----- household list -----------------------------------------------------------------------


@pytest.fixture
def village(store):
    """Five households of two hamlets: covered, not covered with a follow-up, absent, refused by the server, elsewhere."""
    store.replace_units(units((HAMLET, "Khu phố 3", 120), ("25216-01", "Khu phố 1", None)))
    duc = household(1, "Nguyễn Văn Đức", [member("a1", "Nguyễn Văn Đức", 1968, **ALL_COVERED),
                                          member("a2", "Trần Thị Hồng", 1970, **ALL_COVERED)])  # fmt: skip
    hong = household(2, "Trần Thị Hồng", [member("b1", "Trần Thị Hồng", 1980, cccd="yes", vneid="level1",
                                                 smartphone="no", sim="owner"),
                                          member("b2", "Trần Văn Bình", 2012)], due="2024-04-20")  # fmt: skip
    tam = household(3, "Lê Văn Tám", [], visit="absent", due="2024-04-15")
    mai = household(4, "Phạm Thị Mai", [member("d1", "Phạm Thị Mai", 1990, **ALL_COVERED),
                                        member("d2", "Phạm Minh Tú", 2009, cccd="yes", vneid="level2", smartphone="no")])  # fmt: skip
    lan = household(5, "Đặng Thị Lan", [member("e1", "Đặng Thị Lan", 1975, **ALL_COVERED)], hamlet="25216-01", due="2024-04-13")
    for h in (duc, hong, tam):
        store.save(h)
    refused = store.save(mai)
    store.record_results([ChangeResult(refused.change_id, ResultStatus.REJECTED, error_code="invalid",
                                       error_field="data.members[0].vneid", error_message="không hợp lệ")])  # fmt: skip
    store.save(lan)
    store.save(household(6, "Võ Văn Kiệt", [member("f1", "Võ Văn Kiệt", 1960)], hamlet="25299-01"))  # not a hamlet held
    return {"duc": duc, "hong": hong, "tam": tam, "mai": mai, "lan": lan}


def names(model: HouseholdListModel) -> list[str]:
    return [row.head_name for row in model.rows]


def test_the_list_shows_the_hamlets_held_by_house_number(store, village):
    model = HouseholdListModel(store)
    changes = Calls()
    model.subscribe(changes)
    model.refresh()
    assert names(model) == ["Đặng Thị Lan", "Nguyễn Văn Đức", "Trần Thị Hồng", "Lê Văn Tám", "Phạm Thị Mai"]
    assert changes.count == 1
    [duc] = [r for r in model.rows if r.id == village["duc"].id]
    assert duc.fully_covered and duc.members == 2 and duc.label_code == village["duc"].label_code


@pytest.mark.parametrize("query", ["nguyen", "NGUYEN", "duc", "Đức", "nguyen van duc", "van duc"])
def test_search_ignores_diacritics_and_case(store, village, query):
    model = HouseholdListModel(store)
    model.set_query(query)
    assert names(model) == ["Nguyễn Văn Đức"]


def test_search_finds_members_house_numbers_and_label_codes(store, village):
    model = HouseholdListModel(store)
    model.set_query("binh")  # a member, not the head
    assert names(model) == ["Trần Thị Hồng"]
    model.set_query(village["mai"].label_code.split("/")[1].lower())
    assert names(model) == ["Phạm Thị Mai"]
    model.set_query("kiet")  # a household of a hamlet the device does not hold
    assert names(model) == []
    model.set_query("   ")
    assert len(model.rows) == 5


@pytest.mark.parametrize(
    "chosen, expected",
    [
        (Filter.ALL, ["Đặng Thị Lan", "Nguyễn Văn Đức", "Trần Thị Hồng", "Lê Văn Tám", "Phạm Thị Mai"]),
        (Filter.NOT_VISITED, ["Lê Văn Tám"]),
        (Filter.FOLLOW_UP, ["Đặng Thị Lan", "Trần Thị Hồng", "Lê Văn Tám"]),
        (Filter.NOT_COVERED, ["Trần Thị Hồng", "Phạm Thị Mai"]),  # Mai's son of 15 has no smartphone
    ],
)
def test_filters_select_their_households(store, village, chosen, expected):
    model = HouseholdListModel(store)
    model.set_filter(chosen.value)
    assert model.filter is chosen
    assert names(model) == expected


def test_a_filter_applies_to_the_search_too(store, village):
    model = HouseholdListModel(store)
    model.set_query("thi")  # Đức's wife is Trần Thị Hồng
    assert names(model) == ["Đặng Thị Lan", "Nguyễn Văn Đức", "Trần Thị Hồng", "Phạm Thị Mai"]
    model.set_filter("not_covered")
    assert names(model) == ["Trần Thị Hồng", "Phạm Thị Mai"]
    model.set_query("hong")
    assert names(model) == ["Trần Thị Hồng"]  # Đức's household holds a Hồng too, but is fully covered
    model.set_filter("all")
    model.set_query("")
    assert len(model.rows) == 5
    with pytest.raises(ValueError):
        model.set_filter("everything")


def test_fixing_a_refused_household_takes_it_off_needs_fix(store, clock, new_id, village):
    model = HouseholdListModel(store)
    model.set_state("rejected")
    assert names(model) == ["Phạm Thị Mai"]
    editor = FormModel(store, I18n(), clock=clock, new_id=new_id)
    editor.load(village["mai"].id)
    editor.set_check(0, "vneid", "level1")
    assert editor.save()
    model.refresh()
    assert names(model) == []


# ----- home ---------------------------------------------------------------------------------


def test_home_cards_count_surveyed_households_and_the_four_rates(store, village):
    model = HomeModel(store)
    changes = Calls()
    model.subscribe(changes)
    model.refresh()
    assert changes.count == 1
    assert model.hamlets() == [("25216-01", "Khu phố 1"), (HAMLET, "Khu phố 3")]  # hamlets only, not the commune
    first, third = model.cards
    assert (third.code, third.name, third.surveyed, third.expected) == (HAMLET, "Khu phố 3", 3, 120)  # the absent one not
    # Đức: 2 adults covered; Hồng: 1 adult (cccd only), a child of 12; Mai: an adult covered, a 15-year-old
    # (cccd, vneid covered, no smartphone; the SIM not asked)
    assert third.figures == {Check.CCCD: (5, 5), Check.VNEID: (4, 5), Check.SMARTPHONE: (3, 5), Check.SIM: (3, 4)}
    assert third.rate(Check.CCCD) == 1.0 and third.rate(Check.VNEID) == pytest.approx(0.8)
    assert third.rate(Check.SIM) == pytest.approx(0.75)
    assert (first.code, first.surveyed, first.expected) == ("25216-01", 1, None)
    assert first.figures[Check.SIM] == (1, 1)


def test_home_card_of_a_hamlet_with_nobody_surveyed_has_no_rate(store):
    store.replace_units(units((HAMLET, "Khu phố 3", 120)))
    model = HomeModel(store)
    model.refresh()
    [card] = model.cards
    assert card.surveyed == 0 and all(card.figures[c] == (0, 0) for c in Check)
    assert card.rate(Check.CCCD) is None and I18n().percent(card.rate(Check.CCCD)) == "—"
    assert model.follow_ups == []


def test_home_follow_ups_are_sorted_by_due_date_across_hamlets(store, village):
    model = HomeModel(store)
    model.refresh()
    assert [(f.due, f.head_name) for f in model.follow_ups] == [
        ("2024-04-13", "Đặng Thị Lan"), ("2024-04-15", "Lê Văn Tám"), ("2024-04-20", "Trần Thị Hồng"),
    ]  # fmt: skip
    assert model.follow_ups[0].household_id == village["lan"].id
    assert model.follow_ups[0].label_code == village["lan"].label_code


def test_home_without_units_has_no_cards(store):
    store.save(household(1, "Nguyễn Văn Đức", [member("a1", "Nguyễn Văn Đức", 1968)]))
    model = HomeModel(store)
    model.refresh()
    assert model.hamlets() == [] and model.cards == [] and model.follow_ups == []


def test_home_follows_a_save(store, clock, new_id):
    store.replace_units(units((HAMLET, "Khu phố 3", 120)))
    home = HomeModel(store)
    model = form(store, clock, new_id, on_saved=home.refresh)
    four_member_household(model)
    model.set_field("follow_up_due", "2024-04-18")
    model.save()
    [card] = home.cards
    assert card.surveyed == 1 and card.figures[Check.CCCD] == (3, 3) and card.figures[Check.SIM] == (2, 2)
    assert [f.household_id for f in home.follow_ups] == [model.household_id]


# ----- sync ---------------------------------------------------------------------------------


def save_households(device, count: int, new_id, *, first: int = 1) -> list[str]:
    model = FormModel(device.store, I18n(), clock=device.clock, new_id=new_id)
    ids = []
    for n in range(first, first + count):
        model.new_household(HAMLET)
        model.set_field("consent", True)
        model.set_field("head_name", f"Nguyễn Văn Số {n}")
        model.set_member(0, "birth_year", "1970")
        model.all_covered(0)
        assert model.save(), model.errors
        ids.append(model.household_id)
    return ids


def test_sync_chip_progress_and_result_of_a_cycle(server, make_device, new_id):
    device = make_device(server)
    save_households(device, 2, new_id)
    service = SyncService(device.engine(), clock=device.clock)
    model = SyncModel(device.store, service, I18n())
    assert model.chip() == "Chưa đồng bộ · chờ gửi 2" == I18n().t("sync.chip.never", pending=2)  # nothing synced yet
    assert model.last_success() == I18n().t("sync.never")
    assert model.result() is None and model.progress() is None
    seen = []
    model.subscribe(lambda: seen.append((model.chip(), model.progress())))

    report = service.run_once()
    assert report.ok and report.pushed == 2
    assert seen[0][0] == "Đang đồng bộ…"
    shown = [p for _, p in seen if p is not None]
    assert ("Đang gửi 0/2 thay đổi", 0.0) in shown and ("Đang gửi 2/2 thay đổi", 1.0) in shown
    assert ("Đang nhận dữ liệu (trang 1)", None) in shown
    assert model.progress() is None
    assert model.chip() == "Đã đồng bộ · chờ gửi 0"
    assert model.result() == "Đã gửi 2, đã nhận 0, bị từ chối 0, xung đột 0, còn chờ 0"
    assert model.last_success() == "Lần đồng bộ thành công gần nhất: 09:30 12/04"
    assert model.needs_fix() == []
    model.i18n.lang = "en"
    assert model.chip() == "Synced · 0 waiting"
    assert model.result() == "Sent 2, received 0, refused 0, conflicts 0, waiting 0"


def test_sync_offline_keeps_the_changes_and_says_it_will_retry(server, make_device, new_id):
    device = make_device(server)
    service = SyncService(device.engine(attempts=2), clock=device.clock)
    model = SyncModel(device.store, service, I18n())
    assert service.run_once().ok
    stop_server(server.process)
    save_households(device, 1, new_id)
    service.saved()
    assert model.chip() == "Đã đồng bộ · chờ gửi 1"
    device.clock.advance(hours=2)
    report = service.run_once()
    assert not report.ok and service.state.status is SyncStatus.OFFLINE
    assert model.chip() == "Ngoại tuyến · chờ gửi 1" == I18n().t("sync.chip.offline", pending=1)
    assert I18n().t("sync.problem.offline") in model.result()
    assert model.result().startswith("Đã gửi 0, đã nhận 0, bị từ chối 0, xung đột 0, còn chờ 1")
    assert model.last_success() == "Lần đồng bộ thành công gần nhất: 09:30 12/04"  # the last one that worked
    assert device.store.pending_count() == 1


def test_sync_lists_households_the_server_refused_with_their_field(server, make_device, new_id):
    # A phone whose clock runs a year ahead dates the visit in the future: the server refuses it.
    ahead = FakeClock(datetime.now(UTC).astimezone(ICT) + timedelta(days=365))
    device = make_device(server, clock=ahead)
    [good, bad] = save_households(device, 2, new_id)
    good_household = device.store.get(good)
    device.store.save(replace(good_household, surveyed_on=date(2024, 4, 12)))  # this one has a plausible date
    service = SyncService(device.engine(), clock=ahead)
    model = SyncModel(device.store, service, I18n())
    report = service.run_once()
    assert (report.pushed, report.rejected, report.pending) == (1, 1, 0)
    assert model.chip() == "Đã đồng bộ · chờ gửi 0"
    assert "bị từ chối 1" in model.result()
    [fix] = device.store.needs_fix()
    [row] = model.needs_fix()
    assert row.household_id == bad and fix.error_field == "data.surveyed_on"
    assert row.text == f"Nguyễn Văn Số 2 — Ngày khảo sát (data.surveyed_on): {fix.error_message}"
    listed = HouseholdListModel(device.store)
    listed.set_state("rejected")
    assert [r.id for r in listed.rows] == [bad]
    editor = FormModel(device.store, I18n(), clock=ahead, new_id=new_id)
    assert editor.load(bad)
    assert editor.server_problem == I18n().t("form.server_says", field="Ngày khảo sát (data.surveyed_on)", message=fix.error_message)


def test_sync_of_a_revoked_device_says_so_and_the_data_is_gone(server, make_device, new_id):
    device = make_device(server)
    save_households(device, 1, new_id)
    backend = ServerStore(open_backend(server.db), clock=lambda: datetime.now(UTC), new_id=lambda: "x")
    try:
        backend.revoke(device.store.enrolment().device_id)
    finally:
        backend.close()
    service = SyncService(device.engine(), clock=device.clock)
    model = SyncModel(device.store, service, I18n())
    service.run_once()
    assert model.chip() == "Thiết bị đã bị thu hồi"
    assert model.result().endswith(" — " + I18n().t("sync.problem.revoked"))
    assert device.store.enrolment() is None and device.store.counts()["households"] == 0


def test_sync_chip_of_a_device_not_enrolled(store):
    model = SyncModel(store, SyncService(SyncEngine(store), clock=FakeClock()), I18n())
    assert model.chip() == "Chưa đăng ký"
    assert model.needs_fix() == []


# ----- settings -----------------------------------------------------------------------------


def test_settings_switch_the_language(store):
    i18n = I18n()
    model = SettingsModel(store, i18n)
    changes = Calls()
    model.subscribe(changes)
    model.set_language("en")
    assert i18n.lang == "en" and changes.count == 1
    model.set_language("fr")  # not offered: ignored
    assert i18n.lang == "en" and changes.count == 1
    model.set_language("vi")
    assert i18n.lang == "vi"


def test_settings_show_server_device_role_and_scope(store):
    model = SettingsModel(store, I18n())
    assert model.details() == ["Chưa đăng ký"]
    store.enrol(enrolment(scope=("25216", "25217")), units((HAMLET, "Khu phố 3", 120)))
    assert model.details() == [
        "Máy chủ: https://ntm.example.vn", "Thiết bị: phone", "Vai trò: Khảo sát viên", "Phạm vi: 25216, 25217",
    ]  # fmt: skip
    assert model.device_id() == "Mã thiết bị: dev-7"
    model.i18n.lang = "en"
    assert model.details()[1:3] == ["Device: phone", "Role: Surveyor"]
    assert not any("secret-token" in line for line in model.details())


def test_sign_out_with_unsynced_changes_asks_first(store, clock, new_id):
    store.enrol(enrolment(), units((HAMLET, "Khu phố 3", 120)))
    editor = form(store, clock, new_id)
    four_member_household(editor)
    editor.save()
    model = SettingsModel(store, I18n())
    assert model.unsynced() == 1
    assert model.sign_out() is False
    assert model.confirming
    assert store.counts()["households"] == 1 and store.enrolment() is not None
    model.cancel_sign_out()
    assert not model.confirming and store.counts()["households"] == 1
    assert model.sign_out() is False and model.confirming
    assert model.sign_out(confirmed=True) is True
    assert not model.confirming
    assert store.counts()["households"] == 0 and store.enrolment() is None and store.units() == {}


def test_sign_out_counts_refused_changes_as_unsynced(store, clock, new_id):
    store.enrol(enrolment(), units((HAMLET, "Khu phố 3", 120)))
    editor = form(store, clock, new_id)
    four_member_household(editor)
    editor.save()
    [change] = store.pending_changes()
    store.record_results([ChangeResult(change.change_id, ResultStatus.REJECTED, error_code="invalid",
                                       error_field="data.note", error_message="x")])  # fmt: skip
    model = SettingsModel(store, I18n())
    assert model.unsynced() == 1 and model.sign_out() is False


def test_sign_out_with_everything_synced_is_immediate(store, clock, new_id):
    store.enrol(enrolment(), units((HAMLET, "Khu phố 3", 120)))
    editor = form(store, clock, new_id)
    four_member_household(editor)
    editor.save()
    [change] = store.pending_changes()
    store.record_results([ChangeResult(change.change_id, ResultStatus.APPLIED, rev=1)])
    model = SettingsModel(store, I18n())
    assert model.unsynced() == 0
    assert model.sign_out() is True
    assert not model.confirming
    assert store.counts()["households"] == 0 and store.enrolment() is None


def test_the_visit_date_can_be_corrected_and_a_bad_one_is_named(store, clock, new_id):
    model = FormModel(store, I18n(), clock=clock, new_id=new_id)
    model.new_household("25216-03")
    model.set_field("head_name", "Nguyễn Văn Đức")
    model.set_member(0, "birth_year", "2008")  # 16 in 2024: cccd, vneid, smartphone; no sim
    assert [c.value for c in model.applicable(0)] == ["cccd", "vneid", "smartphone"]
    model.set_surveyed_on("2026-13-01")
    assert model.save() is False and "surveyed_on" in model.errors
    assert store.counts()["households"] == 0
    model.set_surveyed_on("2023-05-02")  # a year earlier: 15, still no sim
    assert model.save() is True
    assert store.get(model.household_id).surveyed_on.isoformat() == "2023-05-02"


def test_needs_fix_names_the_field_in_the_users_language(store):
    sync = SyncModel.__new__(SyncModel)  # only the label lookup: no service needed
    sync.i18n = I18n()
    assert sync.field_label("data.surveyed_on") == "Ngày khảo sát (data.surveyed_on)"
    assert sync.field_label("data.members[2].vneid") == "Thành viên 3 · Định danh điện tử (VNeID) (data.members[2].vneid)"
    sync.i18n = I18n("en")
    assert sync.field_label("data.members[0].birth_year") == "Member 1 · Birth year (data.members[0].birth_year)"
    assert sync.field_label("change_id") == "change_id" and sync.field_label(None) == "—"
