"""The officer dashboard in a real browser, served by a real `ntm-field server` process under `/`:
sign in, drill down province → district → commune → hamlet with every figure read from the page
equal to `GET /api/v1/coverage`, download the XLSX and compare it with the API, switch to 2025, open
a household's label link, refuse wrong and surveyor tokens. Screenshots: 1280×800 (and one at 390 px)."""

from __future__ import annotations

import io
import re
import time
import uuid
from datetime import datetime, timezone

import pytest
import requests
from openpyxl import load_workbook

from ntm_field.server.db import open_backend
from ntm_field.server.store import ServerStore
from tests.e2e.conftest import SHOTS, local_browser, unlabelled
from tests.e2e.dashboard_helpers import EXTRA_HAMLETS_CSV, api, households, push
from tests.server.conftest import ntm, prepare_database, start_server, stop_server

SEED = households(60)
TIMINGS: dict[str, float] = {}


@pytest.fixture(scope="module")
def dashboard_server(tmp_path_factory):
    """One server for the module: the units of assets/units, six hamlets, 60 households pushed over HTTP."""
    db = prepare_database(f"sqlite:///{tmp_path_factory.mktemp('dashboard') / 'server.db'}")
    store = ServerStore(open_backend(db), clock=lambda: datetime.now(timezone.utc), new_id=lambda: str(uuid.uuid4()))
    store.load_units(EXTRA_HAMLETS_CSV)
    store.close()
    running = start_server(db)
    try:
        push(running.url, running.enrol("surveyor", "70")["token"], SEED)
        yield running
    finally:
        stop_server(running.process)


class Officer:
    """A desktop browser on the dashboard, reading what the page says through Flutter's semantics tree."""

    def __init__(self, page, name: str, base: str):
        self.page, self.name, self.base = page, name, base
        self.outside: list[str] = []

    def open(self, path: str = "/") -> float:
        started = time.monotonic()
        self.page.goto(self.base + path)
        self.page.wait_for_selector("#loading", state="detached", timeout=60_000)
        self.page.locator("flt-semantics-placeholder").dispatch_event("click")
        self.page.wait_for_selector("flt-semantics-host flt-semantics", timeout=20_000)
        return time.monotonic() - started

    def sign_in(self, token: str, *, label: str = "Mã truy cập", button: str = "Đăng nhập") -> None:
        # a password field: Chromium gives <input type=password> no textbox role, so find it by its label
        box = self.page.locator(f'flt-semantics-host input[aria-label="{label}"]')
        box.click()
        self.page.wait_for_timeout(100)
        box.fill(token)
        self.page.wait_for_timeout(200)
        self.click(button)

    def click(self, name: str, role: str = "button") -> None:
        self.page.get_by_role(role, name=name).first.click()
        self.page.wait_for_timeout(300)

    def see(self, text: str, timeout: float = 20_000) -> None:
        try:
            self.page.get_by_text(text, exact=False).first.wait_for(timeout=timeout)
        except Exception:
            SHOTS.mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=SHOTS / f"dashboard-{self.name}-FAILED.png")
            raise

    def text(self) -> list[str]:
        lines = self.page.locator("flt-semantics-host").inner_text().splitlines()
        return [line.strip() for line in lines if line.strip()]

    def shot(self, screen: str, width: int = 1280, height: int = 800) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        size = self.page.viewport_size
        self.page.set_viewport_size({"width": width, "height": height})
        self.page.wait_for_timeout(800)
        self.page.screenshot(path=SHOTS / f"dashboard-{screen}.png")
        self.page.set_viewport_size(size)
        self.page.wait_for_timeout(500)

    def no_crash(self) -> None:
        assert self.page.get_by_text("Error running app").count() == 0


@pytest.fixture
def officer(chromium, tmp_path, request, dashboard_server):
    outside: list[str] = []
    with local_browser(chromium, tmp_path / "profile", width=1280, height=2400, outside=outside) as (_, page):
        browser = Officer(page, request.node.name, dashboard_server.url)
        browser.outside = outside
        yield browser
        browser.no_crash()


# ----- reading the figures table ----------------------------------------------------------------

FIGURE = re.compile(r"^([\d.]+)/([\d.]+) · (—|[\d,]+%)")


def n(value: int) -> str:
    """A count as the page writes it in Vietnamese (thousands grouped with dots)."""
    return f"{value:,}".replace(",", ".")


def table_rows(lines: list[str]) -> list[list[str]]:
    """The figures table's rows (7 cells each: unit, households, four indicators, fully covered),
    between its hint line and the export heading."""
    start = next(i for i, line in enumerate(lines) if line.startswith("Mỗi chỉ tiêu:")) + 1
    end = next(i for i, line in enumerate(lines) if line.startswith(("— :", "Xuất dữ liệu", "Chưa có đơn vị con")))
    cells = lines[start:end]
    assert len(cells) % 7 == 0, cells
    return [cells[i : i + 7] for i in range(0, len(cells), 7)]


def rate_text(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%".replace(".", ",")


def assert_row_equals(row: list[str], figures: dict, *, total: bool) -> None:
    unit = figures["unit"]
    assert row[0] == (f"Toàn {unit['name']}" if total else f"{unit['name']} ({unit['code']})")
    households = figures["households"]
    expected = "—" if households["expected"] is None else n(households["expected"])
    assert row[1] == f"{n(households['surveyed'])}/{expected}", (unit, row)
    for cell, check in zip(row[2:6], ("cccd", "vneid", "smartphone", "sim")):
        figure = figures["indicators"][check]
        covered, eligible, rate = FIGURE.match(cell).groups()
        assert (covered, eligible, rate) == (n(figure["covered"]), n(figure["eligible"]), rate_text(figure["rate"])), (
            unit, check, cell)  # fmt: skip
        assert f"chưa rõ {n(figure['unknown'])}" in cell, (unit, check, cell)
        if check == "vneid":
            assert f"mức 1: {n(figure['level1'])}" in cell, (unit, cell)
    assert row[6] == n(figures["fully_covered_households"]), (unit, row)


def assert_screen_equals_api(officer: Officer, coverage: dict) -> None:
    rows = table_rows(officer.text())
    assert len(rows) == 1 + len(coverage["children"])
    assert_row_equals(rows[0], coverage, total=True)
    for row, child in zip(rows[1:], coverage["children"]):
        assert_row_equals(row, child, total=False)


def show_unit(officer: Officer, heading: str) -> None:
    officer.see(heading)
    officer.page.wait_for_timeout(600)  # the table is drawn in the same frame; let its semantics settle


# ----- the tests ---------------------------------------------------------------------------------


def test_officer_drills_down_to_a_hamlet_with_the_api_figures_and_downloads_the_workbook(officer, dashboard_server):
    token = dashboard_server.enrol("officer", "70")["token"]
    started = time.monotonic()
    officer.open("/")
    officer.see("Đăng nhập bảng theo dõi")
    TIMINGS["open_to_sign_in_form_s"] = time.monotonic() - started
    assert officer.page.evaluate("() => window.crossOriginIsolated") is False  # skwasm on the page's thread
    officer.shot("sign-in")
    started = time.monotonic()
    officer.sign_in(token)
    show_unit(officer, "Tỉnh: Tỉnh Bình Phước (70)")
    TIMINGS["sign_in_to_province_s"] = time.monotonic() - started
    assert officer.page.url.endswith("/unit/70?structure=2024")  # a shareable route, never a token
    assert token not in officer.page.url
    # the table's column headers reach screen readers (as the header cells' accessible names)
    names = officer.page.evaluate(
        "() => [...document.querySelectorAll('flt-semantics-host [aria-label]')].map(e => e.getAttribute('aria-label'))"
    )
    assert {"Đơn vị", "Hộ đã khảo sát/dự kiến", "CCCD gắn chip", "VNeID mức 2", "Điện thoại thông minh",
            "SIM chữ ký số", "Hộ đạt đủ 4"} <= set(names), names  # fmt: skip

    path = [  # (unit, its heading, the link that opens it from its parent)
        ("70", "Tỉnh: Tỉnh Bình Phước (70)", None),
        ("688", "Huyện/thị xã/thành phố: Thị xã Phước Long (688)", "Thị xã Phước Long (688)"),
        ("25216", "Xã/phường/thị trấn: Phường Thác Mơ (25216)", "Phường Thác Mơ (25216)"),
        ("25216-01", "Thôn/ấp/khu phố: Khu phố 1 (25216-01)", "Khu phố 1 (25216-01)"),
    ]
    for code, heading, link in path:
        if link:
            officer.click(link)
            show_unit(officer, heading)
        assert officer.page.url.endswith(f"/unit/{code}?structure=2024")
        coverage = api(dashboard_server.url, token, "/api/v1/coverage", unit=code, structure="2024").json()
        assert_screen_equals_api(officer, coverage)
        officer.shot({"70": "province", "688": "district", "25216": "commune", "25216-01": "hamlet"}[code])
    assert coverage["households"]["surveyed"] > 0  # the hamlet has data: the comparison was not of zeros
    lines = officer.text()
    heading = lines.index("Thôn/ấp/khu phố: Khu phố 1 (25216-01)")
    assert lines[heading - 4 : heading] == ["Tỉnh Bình Phước", "Thị xã Phước Long", "Phường Thác Mơ", "Khu phố 1"]

    # breadcrumbs back to the commune; the daily progress is there as a table too
    officer.click("Phường Thác Mơ")
    show_unit(officer, "Xã/phường/thị trấn: Phường Thác Mơ (25216)")
    progress = api(dashboard_server.url, token, "/api/v1/progress", unit="25216").json()["days"]
    lines = officer.text()
    assert any(line.startswith(f"Biểu đồ tiến độ: {len(progress)} ngày") for line in lines)
    last = progress[-1]
    at = lines.index(last["date"])
    assert lines[at + 1 : at + 6] == [n(last["surveyed"]), *(f"{n(last[c]['covered'])}/{n(last[c]['eligible'])}"
                                                            for c in ("cccd", "vneid", "smartphone", "sim"))]  # fmt: skip

    # the workbook, downloaded by the browser, holds the API's figures
    with officer.page.expect_download(timeout=30_000) as download:
        officer.click("Sổ Excel (XLSX)")
    assert download.value.suggested_filename == "ntm-25216-export.xlsx"
    workbook = load_workbook(io.BytesIO(open(download.value.path(), "rb").read()))
    sheet = workbook["Độ phủ"]
    header = [cell.value for cell in sheet[1]]
    top = dict(zip(header, [cell.value for cell in sheet[2]]))
    coverage = api(dashboard_server.url, token, "/api/v1/coverage", unit="25216").json()
    assert top["Mã đơn vị"] == "25216"
    assert top["Số hộ đã khảo sát"] == coverage["households"]["surveyed"]
    assert top["Hộ đạt đủ 4"] == coverage["fully_covered_households"]
    labels = {"cccd": "CCCD", "vneid": "VNeID mức 2", "smartphone": "Điện thoại thông minh", "sim": "SIM chữ ký số"}
    for check, label in labels.items():
        assert top[f"{label} – đạt"] == coverage["indicators"][check]["covered"]
        assert top[f"{label} – trong diện"] == coverage["indicators"][check]["eligible"]
    api_members = api(dashboard_server.url, token, "/api/v1/export", unit="25216", format="csv", kind="members")
    assert workbook["Thành viên"].max_row - 1 == len(api_members.content.decode("utf-8-sig").strip().splitlines()) - 1
    officer.see("Đã tải xuống ntm-25216-export.xlsx")

    # the 2025 structure: the province of Đồng Nai, communes directly under it, the same totals
    officer.click("2025 (sau sáp nhập)")
    show_unit(officer, "Tỉnh: Tỉnh Đồng Nai (75)")
    assert officer.page.url.endswith("/unit/75?structure=2025")
    new = api(dashboard_server.url, token, "/api/v1/coverage", unit="75", structure="2025").json()
    old = api(dashboard_server.url, token, "/api/v1/coverage", unit="70", structure="2024").json()
    assert_screen_equals_api(officer, new)
    assert {child["unit"]["level"] for child in new["children"]} == {"commune"}
    for key in ("indicators", "fully_covered_households"):
        assert new[key] == old[key]
    assert new["households"]["surveyed"] == old["households"]["surveyed"]
    officer.shot("2025")
    officer.shot("province-390px", width=390, height=844)
    print("dashboard timings:", {k: round(v, 2) for k, v in TIMINGS.items()})  # for docs/dashboard.md (pytest -s)


def test_a_household_label_link_asks_to_sign_in_then_shows_the_household(officer, dashboard_server):
    household = next(h for h in SEED if h.hamlet_code == "25216-02" and h.visit_status == "surveyed" and len(h.members) > 1)
    officer.open(f"/household/{household.id}")
    officer.see("Đăng nhập để xem thông tin hộ gia đình.")
    assert officer.page.get_by_text(household.head_name).count() == 0  # nothing personal before signing in
    officer.sign_in(dashboard_server.enrol("officer", "25216")["token"])
    officer.see(f"Hộ gia đình {household.label_code}")
    officer.see(f"Chủ hộ: {household.head_name}")
    officer.see("Thôn/ấp: Khu phố 2 (25216-02)")
    for member in household.members:
        officer.see(f"{member.full_name} — sinh năm {member.birth_year}")
    assert officer.page.url.endswith(f"/household/{household.id}")
    officer.shot("household")
    # reloading the tab keeps its session (Flet reconnects it); a household outside the scope is not shown
    outside = next(h for h in SEED if h.hamlet_code == "25195-01")
    officer.open(f"/household/{outside.id}")
    officer.see("Không tìm thấy hộ này trong phạm vi của bạn.")
    assert officer.page.get_by_text(outside.head_name).count() == 0
    # another tab is another session: it asks for a token; signing out forgets it
    other = Officer(officer.page.context.new_page(), "other-tab", dashboard_server.url)
    other.open("/unit/25216?structure=2024")
    other.see("Đăng nhập bảng theo dõi")
    assert other.page.get_by_text("Phường Thác Mơ").count() == 0
    other.page.close()
    officer.click("Đăng xuất")
    officer.see("Đăng nhập bảng theo dõi")
    officer.open(f"/household/{household.id}")
    officer.see("Đăng nhập để xem thông tin hộ gia đình.")
    assert officer.page.get_by_text(household.head_name).count() == 0


def test_wrong_and_surveyor_tokens_are_refused_in_words_and_english_works(officer, dashboard_server):
    officer.open("/enrol?code=abc")  # an enrolment link opened in a browser points to the field app
    officer.see("Đây là liên kết đăng ký thiết bị.")
    officer.open("/")
    officer.page.get_by_role("checkbox", name="Hiện mã truy cập").wait_for(timeout=20_000)
    assert unlabelled(officer.page) == []  # the token field and the show-token box have names
    officer.click("Hiện mã truy cập", role="checkbox")
    officer.sign_in("sai-ma-truy-cap")
    officer.see("Mã truy cập không đúng. Kiểm tra lại và thử lại.")
    officer.shot("sign-in-wrong-token")
    officer.sign_in(dashboard_server.enrol("surveyor", "25216-01")["token"])
    officer.see("Mã của điều tra viên không dùng được cho bảng theo dõi.")
    assert officer.page.get_by_text("Traceback").count() == 0
    officer.click("Tiếng Anh")
    officer.see("Sign in to the dashboard")
    officer.sign_in(dashboard_server.enrol("leader", "25216")["token"], label="Access token", button="Sign in")
    officer.see("Commune: Phường Thác Mơ (25216)")
    officer.see("Figures by unit")
    officer.shot("commune-english")
    assert unlabelled(officer.page) == []
    # the API still answers beside the dashboard, in its own shapes
    assert requests.get(f"{dashboard_server.url}/api/v1/health", timeout=10).json()["status"] == "ok"
    assert requests.get(f"{dashboard_server.url}/api/v1/no-such", timeout=10).status_code == 404
    assert requests.get(f"{dashboard_server.url}/openapi.json", timeout=10).json()["info"]["title"]


def test_an_officer_is_signed_out_at_the_next_click_after_admin_revoke(officer, dashboard_server):
    """Issue 13, finding 6: the dashboard checks its token on every action (a revoked device's session used
    to drill down, open households and export)."""
    first = dashboard_server.enrol("officer", "70")
    officer.open("/")
    officer.sign_in(first["token"])
    show_unit(officer, "Tỉnh: Tỉnh Bình Phước (70)")
    revoked = ntm("admin", "revoke", first["device_id"], "--db", dashboard_server.db)
    assert revoked.returncode == 0, revoked.stderr
    officer.click("Thị xã Phước Long (688)")  # the next click: a drill-down
    officer.see("Mã truy cập này đã bị thu hồi. Bạn đã bị đăng xuất.")
    officer.see("Đăng nhập bảng theo dõi")
    assert officer.page.get_by_text("Thị xã Phước Long").count() == 0  # no figure of the next unit was shown
    officer.shot("signed-out-after-revoke")

    # another officer signs in here and lands where the first was going; revoked, its export is refused
    second = dashboard_server.enrol("officer", "70")
    officer.sign_in(second["token"])
    show_unit(officer, "Huyện/thị xã/thành phố: Thị xã Phước Long (688)")
    assert ntm("admin", "revoke", second["device_id"], "--db", dashboard_server.db).returncode == 0
    officer.click("Sổ Excel (XLSX)")
    officer.see("Mã truy cập này đã bị thu hồi. Bạn đã bị đăng xuất.")
    officer.see("Đăng nhập bảng theo dõi")
    store = ServerStore(open_backend(dashboard_server.db), clock=lambda: datetime.now(timezone.utc), new_id=lambda: "")
    try:
        exports = [row for row in store.audit_entries() if row[2] == second["device_id"] and row[3] == "export"]
    finally:
        store.close()
    assert exports == []  # refused, and not audited as done
    officer.sign_in(second["token"])  # and the revoked token does not sign in again
    officer.see("Mã truy cập này đã bị thu hồi.")
