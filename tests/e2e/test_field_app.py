"""The field app in a real browser: enrol against a real server, record a fully covered 4-person
household in at most 12 taps, find it without diacritics, see it reach the server's coverage."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import requests

from tests.e2e.conftest import ROOT, enrol_code
from tests.sync.conftest import server_documents, start_server, stop_server

MEMBERS = [("Nguyễn Văn Đức", "1968"), ("Trần Thị Hồng", "1972"), ("Nguyễn Thị Lan", "1998"), ("Nguyễn Văn Phúc", "2001")]
TAP_LIMIT = 12


def test_enrol_record_search_and_sync(server, app, phone):
    phone.open(app.url)
    phone.see("Đăng ký thiết bị")
    phone.shot("enrol")
    phone.type("Địa chỉ máy chủ", server.url)
    phone.type("Mã đăng ký hoặc liên kết", enrol_code(server, scope="25216"))
    phone.tap(name="Đăng ký")
    phone.see("Thôn/ấp của tôi")
    phone.see("Đã đồng bộ · chờ gửi 0")
    phone.shot("home")

    phone.taps = 0
    phone.tap(name="Thêm hộ")
    phone.tap("checkbox", name="Hộ đồng ý cung cấp thông tin")  # names are asked only with consent
    phone.type("Họ tên chủ hộ", MEMBERS[0][0])  # names member 1 too
    for n, (name, year) in enumerate(MEMBERS, start=1):
        if n > 1:
            phone.tap(name="Thêm thành viên")
            phone.type(f"Họ tên thành viên {n}", name)
        phone.type(f"Năm sinh thành viên {n}", year)
        phone.tap(name=f"Đủ 4 — thành viên {n}")
    phone.shot("form")
    phone.tap(name="Lưu")
    phone.see("Đã lưu")
    assert phone.taps <= TAP_LIMIT, phone.taps
    phone.shot("form-saved")

    phone.tap("tab", name="Hộ gia đình")
    phone.keys("Tìm theo tên, số nhà, mã hộ", "tran van binh")  # nobody: the search does filter
    phone.see("Không có hộ nào.")
    phone.keys("Tìm theo tên, số nhà, mã hộ", "nguyen")
    phone.see("Nguyễn Văn Đức")
    phone.shot("households")

    phone.tap("tab", name="Đồng bộ")
    phone.tap(name="Đồng bộ ngay")
    phone.see("chờ gửi 0")
    phone.shot("sync")
    leader = server.enrol("leader", "25216")
    coverage = requests.get(server.api("/api/v1/coverage"), params={"unit": "25216-01"},
                            headers={"Authorization": f"Bearer {leader['token']}"}, timeout=10).json()  # fmt: skip
    assert coverage["households"]["surveyed"] == 1
    assert coverage["indicators"]["cccd"]["covered"] == 4 and coverage["indicators"]["sim"]["covered"] == 4
    assert coverage["fully_covered_households"] == 1

    phone.tap("tab", name="Cài đặt")
    phone.see("Thông báo về dữ liệu cá nhân")
    phone.shot("settings")


def enrol(phone, server) -> None:
    phone.type("Địa chỉ máy chủ", server.url)
    phone.type("Mã đăng ký hoặc liên kết", enrol_code(server, scope="25216"))
    phone.tap(name="Đăng ký")
    phone.see("Thôn/ấp của tôi")
    phone.see("Đã đồng bộ · chờ gửi 0")  # the first sync after enrolling has finished


def add_household(phone, name: str, year: str = "1980") -> None:
    phone.tap(name="Thêm hộ")
    phone.tap("checkbox", name="Hộ đồng ý cung cấp thông tin")
    phone.type("Họ tên chủ hộ", name)
    phone.type("Năm sinh thành viên 1", year)
    phone.tap(name="Đủ 4 — thành viên 1")
    phone.tap(name="Lưu")
    phone.see("Đã lưu")


def test_edits_keep_working_offline_and_sync_when_the_server_returns(server, app, phone):
    phone.open(app.url)
    enrol(phone, server)
    add_household(phone, "Lê Thị Mai")
    phone.tap("tab", name="Đồng bộ")
    phone.see("Đã đồng bộ · chờ gửi 0")
    [household_id] = server_documents(server)

    port = int(server.url.rsplit(":", 1)[1])
    stop_server(server.process)
    phone.tap("tab", name="Hộ gia đình")
    phone.page.get_by_text("Lê Thị Mai").first.click()
    phone.type("Số nhà", "27B")
    phone.tap(name="Lưu")
    phone.see("Đã lưu")
    phone.tap("tab", name="Trang chủ")
    phone.see("Ngoại tuyến · chờ gửi 1", timeout=60_000)
    phone.shot("home-offline")
    assert phone.unlabelled() == []

    back = start_server(server.db, port=port)
    try:
        phone.tap("tab", name="Đồng bộ")
        phone.tap(name="Đồng bộ ngay")
        phone.see("Đã đồng bộ · chờ gửi 0", timeout=60_000)
        assert server_documents(back)[household_id]["house_no"] == "27B"
    finally:
        stop_server(back.process)


def test_a_household_the_server_refuses_waits_in_needs_fix_with_its_field(database_url, app, phone):
    from tests.server.conftest import RunningServer, _free_port, prepare_database
    from tests.server.test_faults import _stop

    prepare_database(database_url)
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "tests.e2e.late_server", database_url, str(port), "3"],
                               cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)  # fmt: skip
    late = RunningServer(url=f"http://127.0.0.1:{port}", db=database_url, process=process)
    try:
        _wait(late.url)
        phone.open(app.url)
        enrol(phone, late)
        add_household(phone, "Phạm Văn Tài")
        phone.tap("tab", name="Đồng bộ")
        phone.see("data.surveyed_on", timeout=60_000)  # the server names the field
        phone.see("bị từ chối 1")
        phone.shot("sync-needs-fix")
        assert phone.unlabelled() == []
        phone.tap(name="Mở để sửa")
        phone.see("Máy chủ báo: Ngày khảo sát (data.surveyed_on)")
        phone.shot("form-needs-fix")
        # The phone's date was wrong: the surveyor corrects the visit date, and the fix goes through.
        visit = (datetime.now(timezone.utc) - timedelta(days=5)).date()
        phone.type("Ngày khảo sát (ngày/tháng/năm)", visit.strftime("%d/%m/%Y"))
        phone.tap(name="Lưu")
        phone.see("Đã lưu")
        phone.tap("tab", name="Đồng bộ")
        phone.tap(name="Đồng bộ ngay")
        phone.see("Không có hộ nào cần sửa.", timeout=60_000)
        [document] = server_documents(late).values()
        assert document["surveyed_on"] == visit.isoformat()
    finally:
        _stop(process)


def test_every_screen_in_english_has_labels(server, app, phone):
    phone.open(app.url)
    assert phone.unlabelled() == []
    enrol(phone, server)
    phone.tap("tab", name="Cài đặt")
    phone.tap(name="English")
    phone.see("Personal-data notice")
    for tab, screen in (("Home", "home"), ("Households", "households"), ("Sync", "sync"), ("Settings", "settings")):
        phone.tap("tab", name=tab)
        phone.page.wait_for_timeout(400)
        assert phone.unlabelled() == [], screen
        phone.shot(f"{screen}-en")
    phone.tap("tab", name="Home")
    phone.tap(name="Add household")
    phone.see("New household")
    assert phone.unlabelled() == []
    phone.shot("form-en")


def _wait(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(f"{url}/api/v1/health", timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError("server did not start")
