"""Home, the household list and Settings in a real browser: unfinished forms with resume/discard (asked in a
dialog), overdue follow-ups, each household's state in words with a state filter, house numbers in natural
order, the clear-search button, the role and device name in words; every control ≥ 48 px and named."""

from __future__ import annotations

from datetime import datetime, timedelta

from ntm_field.device import open_device_store
from ntm_field.domain.outbox import ChangeResult, ResultStatus
from ntm_field.domain.records import Consent, FollowUp, Household, Member
from tests.e2e.conftest import enrol_code

NEW_DRAFT = "0d0d0d0d-0000-4000-8000-000000000001"
SEARCH = "Tìm theo tên, số nhà, mã hộ"


def small(page) -> list[str]:
    """Tappable controls on screen (buttons, tabs, checkboxes) under 48 px tall."""
    found = page.evaluate("""() => [...document.querySelectorAll(
          'flt-semantics-host [role=button], flt-semantics-host [role=checkbox], flt-semantics-host [role=tab]')]
        .map(e => [((e.getAttribute('aria-label') || '') + ' ' + (e.textContent || '')).trim().slice(0, 60),
                   e.getBoundingClientRect().height])
        .filter(([, h]) => h > 0 && h < 47.5)""")
    return [f"{name}: {height:.1f} px" for name, height in found]


def seed(data_dir, hamlet: str) -> dict[str, Household]:
    """Six households in every state, written into the phone's own store as the app would have."""
    store = open_device_store(data_dir)
    today = datetime.now().astimezone().date()
    try:
        made = {}
        for n, (head, house_no) in enumerate(
            [("An", "24"), ("Bình", "3"), ("Chi", "12A"), ("Dũng", "12"), ("Em", "100")], start=1
        ):
            due = {"An": today - timedelta(days=2), "Bình": today + timedelta(days=5)}.get(head)
            made[head] = store.save(Household(
                id=f"0e0e0e0e-0000-4000-8000-{n:012d}", hamlet_code=hamlet, head_name=f"{head} Nguyễn", house_no=house_no,
                visit_status="surveyed", surveyed_on=today, consent=Consent(True, "2024-04"),
                follow_up=FollowUp(due=due) if due else None,
                members=(Member(id=f"m{n}", full_name=f"{head} Nguyễn", birth_year=1980),),
            )).household  # fmt: skip
        answers = {"Bình": ResultStatus.APPLIED, "Chi": ResultStatus.REJECTED, "Dũng": ResultStatus.CONFLICT,
                   "Em": ResultStatus.APPLIED}  # fmt: skip
        for rev, (head, status) in enumerate(answers.items(), start=900):
            [change] = [c for c in store.outgoing(100) if c.household_id == made[head].id]
            store.mark_sent([change])
            error = ("invalid", "data.house_no", "x") if status is ResultStatus.REJECTED else ()
            store.record_results([ChangeResult(change.change_id, status, rev, *error)])
        store.save_draft(made["Em"].id, hamlet, "Em Nguyễn", "100", {"editing": True})
        store.save_draft(NEW_DRAFT, hamlet, "Phan Văn Mới", "7", {"half": "typed"})
        return made
    finally:
        store.close()


def test_home_list_and_settings_show_drafts_states_and_words(server, app, phone, tmp_path):
    phone.open(app.url)
    phone.type("Địa chỉ máy chủ", server.url)
    phone.type("Mã đăng ký hoặc liên kết", enrol_code(server, scope="25216-01"))
    phone.type("Tên thiết bị (không bắt buộc)", "Máy của Lan")
    phone.tap(name="Đăng ký")
    phone.see("Đã đồng bộ · chờ gửi 0")
    seed(tmp_path / "phone", "25216-01")
    phone.tap("tab", name="Cài đặt")  # home is drawn from the store on each visit
    phone.tap("tab", name="Trang chủ")

    # home: the unfinished forms, newest first; a past-due follow-up is overdue
    phone.see("Đang nhập dở")
    phone.see("Phan Văn Mới")
    phone.see("Quá hạn")
    assert phone.unlabelled() == [] and small(phone.page) == []
    phone.shot("home-drafts")
    phone.tap(name="Bỏ nháp")  # the first: the newest draft
    phone.see("Bỏ bản nháp này?")
    phone.shot("home-discard-dialog")
    phone.tap(name="Giữ lại")
    phone.gone("Bỏ bản nháp này?")
    phone.see("Phan Văn Mới")
    phone.tap(name="Bỏ nháp")
    phone.see("Bỏ bản nháp này?")
    assert phone.page.get_by_role("button", name="Tiếp tục").count() == 0  # the dialog is modal: the cards are behind
    phone.tap(name="Bỏ nháp")  # the dialog's
    phone.gone("Phan Văn Mới")
    phone.see("Em Nguyễn")  # the other draft stays

    # the list: natural order of house numbers, each state in words, the state filter, clear search
    phone.tap("tab", name="Hộ gia đình")
    phone.see("Xung đột")
    tops = {head: phone.page.get_by_text(f"{head} Nguyễn").or_(phone.page.get_by_label(f"{head} Nguyễn")).first
                  .bounding_box()["y"] for head in ("Bình", "Dũng", "Chi", "An", "Em")}  # fmt: skip
    assert sorted(tops, key=tops.get) == ["Bình", "Dũng", "Chi", "An", "Em"]  # 3, 12, 12A, 24, 100
    for word in ("Đã gửi", "Cần sửa", "Chưa gửi", "Nháp"):
        phone.see(word)
    assert phone.unlabelled() == [] and small(phone.page) == []
    phone.shot("households-states")
    phone.tap("checkbox", name="Cần sửa", exact=True)  # a filter chip (role checkbox), not a row that says it
    phone.gone("Bình Nguyễn")
    phone.see("Chi Nguyễn")
    phone.tap("checkbox", name="Mọi trạng thái", exact=True)
    phone.see("Bình Nguyễn")
    phone.keys(SEARCH, "dung")
    phone.gone("Bình Nguyễn")
    phone.tap(name="Xoá tìm kiếm")
    phone.see("Bình Nguyễn")
    phone.shot("households-cleared")
    phone.no_crash()

    # settings: the role in words and the name given at enrolment
    phone.tap("tab", name="Cài đặt")
    phone.see("Vai trò: Khảo sát viên")
    phone.see("Thiết bị: Máy của Lan")
    assert small(phone.page) == []
    phone.shot("settings-role")
