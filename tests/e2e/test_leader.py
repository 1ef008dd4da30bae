"""A team leader in the field app (a real browser): coverage per hamlet, the conflict inbox resolved
through the API, a new member's enrolment QR that decodes from the screen, and a household found by
its label's short code and opened by its label's link."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path

import pypdfium2 as pdfium
import zxingcpp
from PIL import Image

from ntm_field.bench.households import generate
from tests.e2e.conftest import SHOTS, enrol_code
from tests.sync.conftest import make_device, server_rows  # noqa: F401  (fixture)


def crossed_edit(server, make_device):
    """Two surveyors ("phone 1", "phone 2") change the same household's house number differently: one open
    conflict. Returns the household, the others, and a function that makes the same clash on another one."""
    first, second = make_device(server, scope="25216"), make_device(server, scope="25216")
    household, *others = generate(4, seed=11, hamlets=1, commune="25216")
    first.store.save_many([household, *others])
    assert first.sync().ok and second.sync().ok

    def clash(target, a: str, b: str) -> None:
        assert first.sync().ok and second.sync().ok
        first.store.save(replace(first.store.get(target.id), house_no=a))
        second.store.save(replace(second.store.get(target.id), house_no=b))
        assert first.sync().ok and second.sync().counts()["conflicts"] == 1

    clash(household, "12A", "12B")
    return household, others, clash


def small_controls(page) -> list[str]:
    """Tappable controls on screen (buttons, tabs, checkboxes, fields) less than 48 px tall."""
    return page.evaluate("""() => [...document.querySelectorAll(
          'flt-semantics-host [role=button], flt-semantics-host [role=checkbox], flt-semantics-host [role=tab],'
          + ' flt-semantics-host input')]
        .map(e => [((e.getAttribute('aria-label') || '') + ' ' + (e.textContent || '')).trim().slice(0, 60),
                   e.getBoundingClientRect().height])
        .filter(([, h]) => h > 0 && h < 47.5)
        .map(([name, h]) => name + ': ' + h.toFixed(1) + ' px')""")


def test_the_leader_reviews_coverage_resolves_a_conflict_and_enrols_a_member(server, make_device, app, phone):
    household, others, clash = crossed_edit(server, make_device)
    phone.open(app.url)
    phone.type("Địa chỉ máy chủ", server.url)
    phone.type("Mã đăng ký hoặc liên kết", enrol_code(server, role="leader", scope="25216"))
    phone.tap(name="Đăng ký")
    phone.see("Đã đồng bộ · chờ gửi 0")

    phone.tap("tab", name="Tổ")
    phone.see("Độ phủ của tổ")
    phone.see("Đã khảo sát 4/200 hộ")  # 25216-01's target is 200 households
    phone.see("Tiến độ từng thành viên")
    phone.shot("team")
    assert phone.unlabelled() == [] and small_controls(phone.page) == []
    SHOTS.mkdir(parents=True, exist_ok=True)
    phone.page.screenshot(path=SHOTS / "leader-team-full.png", clip={"x": 0, "y": 0, "width": 360, "height": 1900})

    # The hamlet's label sheet downloads; every label's QR opens a household of this server.
    with phone.page.expect_download(timeout=30_000) as download:
        phone.tap(name="In nhãn hộ 25216-01 (PDF)")
    sheet = pdfium.PdfDocument(Path(download.value.path()).read_bytes())
    links = [b.text for b in zxingcpp.read_barcodes(sheet[0].render(scale=3).to_pil())]
    assert sorted(links) == sorted(f"{server.url}/household/{h.id}" for h in (household, *others))
    assert download.value.suggested_filename == "nhan-ho-25216-01.pdf"

    phone.tap(name="Mở hộp xung đột")
    # The inbox loads itself when opened; each value says which phone sent it, when, and its revision.
    phone.see(f"{household.head_name} ({household.label_code}) — Số nhà")
    [(competing,)] = server_rows(server, "SELECT competing FROM conflicts")
    revisions = {value["value"]: value["rev"] for value in json.loads(competing)}
    phone.see("phone 1 · ")
    phone.see(f"· bản {revisions['12A']}")
    phone.see("phone 2 · ")
    phone.see(f"· bản {revisions['12B']}")
    phone.shot("conflicts")
    assert phone.unlabelled() == [] and small_controls(phone.page) == []
    # Choosing asks first, naming the value kept; cancelling sends nothing.
    phone.tap(name="Chọn: 12A")
    phone.see("Xác nhận giá trị được giữ")
    phone.see("Bị thay: 12B")
    phone.shot("conflict-confirm")
    assert phone.unlabelled() == [] and small_controls(phone.page) == []
    phone.tap(name="Huỷ")
    phone.gone("Xác nhận giá trị được giữ")
    assert server_rows(server, "SELECT status FROM conflicts") == [("open",)]
    phone.tap(name="Chọn: 12A")
    phone.tap(name="Giữ: 12A")
    phone.see("Đã xử lý xung đột")
    phone.shot("conflict-resolved")
    [(conflict_status,)] = server_rows(server, "SELECT status FROM conflicts")
    assert conflict_status == "resolved"
    # A conflict made while the leader looks elsewhere is there when the inbox opens again.
    phone.tap(name="Quay lại")
    phone.see("Độ phủ của tổ")
    clash(others[0], "7", "9")
    phone.tap(name="Mở hộp xung đột")
    phone.see(f"{others[0].head_name} ({others[0].label_code}) — Số nhà")
    phone.gone(f"{household.head_name} ({household.label_code}) — Số nhà")
    # The server's history of the household ends with the resolution: a new revision holding 12A.
    [(status, document)] = server_rows(
        server, "SELECT status, document FROM revisions WHERE household_id = ? ORDER BY rev DESC LIMIT 1", [household.id]
    )
    assert status == "resolved" and '"house_no":"12A"' in document

    # The label's short code finds the household; the label's link opens it.
    phone.tap("tab", name="Hộ gia đình")
    phone.see(others[-1].head_name)  # the list is drawn: every household before searching
    phone.keys("Tìm theo tên, số nhà, mã hộ", household.label_code)
    for other in others:
        if other.head_name != household.head_name:
            phone.gone(other.head_name)  # the list is filtered down to the labelled household
    phone.see(household.head_name)
    phone.shot("search-label-code")
    phone.open(f"{app.url}/household/{household.id}")
    phone.see("Sửa hộ")  # the form of an existing household, the one whose code the label carries
    phone.see(f"Mã hộ: {household.label_code}")
    phone.shot("household-from-link")
    phone.tap("tab", name="Tổ")
    phone.tap(name="Thêm thành viên tổ")
    phone.tap(name="Tạo mã đăng ký")
    phone.see("Mã đăng ký:")
    shot = phone.shot("invite")
    assert phone.unlabelled() == [] and small_controls(phone.page) == []
    decoded = [b.text for b in zxingcpp.read_barcodes(Image.open(io.BytesIO(shot.read_bytes())))]
    assert len(decoded) == 1 and decoded[0].startswith(f"{server.url}/enrol?code=")
    phone.see(decoded[0].split("code=")[1])  # the code under the QR is the one it holds

    phone.no_crash()
