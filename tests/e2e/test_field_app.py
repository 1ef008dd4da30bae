"""The field app in a real browser: enrol against a real server, record a fully covered 4-person
household in at most 12 taps, find it without diacritics, see it reach the server's coverage."""

from __future__ import annotations

import requests

from tests.e2e.conftest import enrol_code

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
    phone.type("Họ tên chủ hộ", MEMBERS[0][0])  # names member 1 too
    phone.tap("checkbox", name="Hộ đồng ý cung cấp thông tin")
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
    phone.type("Tìm theo tên, số nhà, mã hộ", "nguyen van duc")
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
