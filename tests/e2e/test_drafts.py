"""Drafts in a real browser: half a household typed, then a tab switch and a page reload, or the app
process killed (SIGKILL) mid-form; the draft is on home and every value comes back."""

from __future__ import annotations

import os
import signal

from tests.e2e.conftest import App
from tests.e2e.test_field_app import enrol

CONSENT = "Hộ đồng ý cung cấp thông tin"
HALF = {"Họ tên chủ hộ": "Lê Thị Mai", "Số nhà": "27B", "Năm sinh thành viên 1": "1979",
        "Họ tên thành viên 2": "Trần Văn Hùng", "Năm sinh thành viên 2": "20"}  # fmt: skip


def type_half_a_household(phone) -> None:
    phone.tap(name="Thêm hộ")
    phone.tap("checkbox", name=CONSENT)
    phone.type("Họ tên chủ hộ", HALF["Họ tên chủ hộ"])
    phone.type("Số nhà", HALF["Số nhà"])
    phone.type("Năm sinh thành viên 1", HALF["Năm sinh thành viên 1"])
    phone.tap(name="Đủ 4 — thành viên 1")
    phone.tap(name="Thêm thành viên")
    phone.type("Họ tên thành viên 2", HALF["Họ tên thành viên 2"])
    phone.keys("Năm sinh thành viên 2", HALF["Năm sinh thành viên 2"])  # half a year, key by key


def every_value_is_back(phone) -> None:
    phone.see("Đang nhập dở")
    phone.see("Lê Thị Mai")
    phone.tap(name="Tiếp tục")
    phone.see("Họ tên thành viên 2")
    assert phone.page.get_by_role("checkbox", name=CONSENT).get_attribute("aria-checked") == "true"
    for label, value in HALF.items():
        box = phone.page.get_by_role("textbox", name=label)
        box.click()  # Flutter shows a field's value to the page only while it has the focus
        phone.page.wait_for_timeout(250)
        assert box.input_value() == value, label
    # Member 1's "Đủ 4" came back too: each of its four answers is the covered one.
    for answer in ("Đã có", "Mức 2", "Có", "Có chữ ký số"):
        chip = phone.page.get_by_role("button", name=answer, exact=True).or_(
            phone.page.get_by_role("checkbox", name=answer, exact=True)).first
        assert "true" in (chip.get_attribute("aria-selected"), chip.get_attribute("aria-checked"),
                          chip.get_attribute("aria-pressed")), answer  # fmt: skip
    phone.no_crash()


def test_a_tab_switch_and_a_reload_keep_every_value(server, app, phone):
    phone.open(app.url)
    enrol(phone, server)
    type_half_a_household(phone)
    phone.tap("tab", name="Trang chủ")
    phone.see("Hộ này chưa lưu")  # leaving a form with unsaved changes says so
    phone.shot("leave-dialog")
    phone.tap(name="Giữ bản nháp")
    phone.see("Đang nhập dở")
    phone.open(app.url)  # a reload
    every_value_is_back(phone)
    phone.shot("draft-resumed")


def test_a_killed_app_keeps_the_draft(server, tmp_path, phone):
    data = tmp_path / "phone"
    first = App(data)
    try:
        phone.open(first.url)
        enrol(phone, server)
        type_half_a_household(phone)
        phone.page.wait_for_timeout(1500)  # the draft is written 0.4 s after the last keystroke
        os.killpg(first.process.pid, signal.SIGKILL)
        first.process.wait()
    finally:
        first.stop()
    second = App(data)
    try:
        phone.open(second.url)
        phone.shot("home-after-kill")
        every_value_is_back(phone)
    finally:
        second.stop()


def test_a_reload_on_the_form_itself_keeps_it(server, app, phone):
    phone.open(app.url)
    enrol(phone, server)
    type_half_a_household(phone)
    assert "/draft/" in phone.page.url  # a new household's address names it from the start
    phone.page.wait_for_timeout(1000)  # the draft is written 0.4 s after the last keystroke
    phone.open(phone.page.url)
    phone.see("Họ tên thành viên 2")
    for label, value in HALF.items():
        box = phone.page.get_by_role("textbox", name=label)
        box.click()
        phone.page.wait_for_timeout(250)
        assert box.input_value() == value, label
    phone.no_crash()
