"""Readable in the sun, tappable with a thumb (issue 12), measured on the rendered app at 360×640:

- every tappable control of the semantics tree (button, checkbox, radio, tab, text field, chip, menu
  item…) on every main screen is at least 48 px tall, measured where it is wholly on screen (the
  screen is scrolled through with the mouse wheel); the failure names each one;
- the household form's answers: the fill of a selected answer against an unselected one ≥ 3:1, and the
  selected answer's text against its fill ≥ 4.5:1 (WCAG 2.2 contrast ratio), read from a screenshot.

A leader's phone is used (it has every screen): enrolled through the enrol screen, with a household
of four (40, 38, 16 and 10 years old; one check not met, so a reason is shown) pushed by a colleague.
Figures go to tests/e2e/artifacts/a11y-report.txt as well."""

from __future__ import annotations

import io
import os
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from PIL import Image

from ntm_field.bench.app import ARGS, CHROMIUM
from ntm_field.bench.app import type_into
from ntm_field.domain.codes import Presence, VisitStatus
from ntm_field.domain.records import Consent, Household, Member
from ntm_field.store import LocalStore
from ntm_field.sync.enrol import enrol_device
from tests.conftest import FakeClock
from tests.e2e import vocabulary as words
from tests.e2e.conftest import SHOTS  # the `chromium` fixture comes from conftest (importing it would start a second Playwright)
from tests.e2e.field_process import LoggedApp, app_root
from tests.e2e.semantics import TAPPABLE_ROLES, Control, controls, enable
from tests.server.conftest import prepare_database, start_server, stop_server
from tests.sync.conftest import Device, enrol_code

WIDTH, HEIGHT = 360, 640
TOUCH = 48  # px
SIZED_ROLES = tuple(r for r in TAPPABLE_ROLES if r != "slider")
SCREENS = ("/", "/households", "/households/new?hamlet=25216-01", "/household/{id}", "/sync", "/settings",
           "/team", "/team/invite", "/team/conflicts")  # fmt: skip
ICT = timezone(timedelta(hours=7))


def family(today: datetime) -> Household:
    """Four members aged 40, 38, 16 and 10: all four checks met, CCCD not met (a reason), a teenager, a child."""
    year = today.year
    members = (
        Member(id="m1", full_name="Nguyễn Văn Đức", birth_year=year - 40, cccd="yes", vneid="level2", smartphone="yes", sim="signature"),
        Member(id="m2", full_name="Trần Thị Hồng", birth_year=year - 38, cccd="no", vneid="level1", smartphone="yes",
               sim="owner", reasons={"cccd": "AWAY_WORKING"}),
        Member(id="m3", full_name="Nguyễn Thị Lan", birth_year=year - 16, cccd="yes", vneid="no", smartphone="no"),
        Member(id="m4", full_name="Nguyễn Văn Phúc", birth_year=year - 10, presence=Presence.RESIDENT),
    )  # fmt: skip
    return Household(id="5a1c9e3b-2f4d-4c6a-8b7e-0d1f2a3b4c5d", hamlet_code="25216-01", head_name="Nguyễn Văn Đức",
                     visit_status=VisitStatus.SURVEYED, surveyed_on=today.date(), house_no="7",
                     consent=Consent(given=True, notice_version="2024-04"), members=members)  # fmt: skip


@pytest.fixture(scope="module")
def leader_phone(chromium, tmp_path_factory):  # noqa: F811
    """(page, app, household id): a leader's phone enrolled through the enrol screen (seen first)."""
    tmp = tmp_path_factory.mktemp("a11y")
    server = start_server(prepare_database(f"sqlite:///{tmp / 'server.db'}"))
    now = datetime.now(ICT)
    clock = FakeClock(now)
    colleague = LocalStore.open(tmp / "colleague" / "ntm-field.db", clock=clock, new_id=lambda: os.urandom(16).hex())
    household = family(now)
    try:
        device = Device(store=colleague, clock=clock, url=server.url)
        enrol_device(colleague, enrol_code(server, scope="25216"), server=server.url, device_name="colleague",
                     clock=clock, connect=device.connect)  # fmt: skip
        colleague.save(household)
        assert device.sync().ok
    finally:
        colleague.close()
    app = LoggedApp(tmp / "leader", tmp / "leader.log", root=app_root())
    browser = chromium.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
    page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
    page.route("**/*", lambda r: r.continue_() if r.request.url.split("/")[2].split(":")[0] in ("127.0.0.1", "localhost") else r.abort())
    try:
        page.goto(app.url)
        enable(page)
        enrol = {"/enrol": measure(page)}
        type_into(page, words.texts("enrol.server")[0], server.url)
        type_into(page, words.texts("enrol.code")[0], enrol_code(server, role="leader", scope="25216"))
        page.get_by_role("button", name=words.texts("enrol.submit")[0], exact=True).click()
        page.get_by_text(words.texts("sync.chip.idle", pending=0)[0]).first.wait_for(timeout=30_000)
        yield page, app, household.id, enrol
    finally:
        browser.close()
        app.stop()
        stop_server(server.process)


def _bottom(found: list[Control]) -> float:
    """Where the screen's usable part ends: the navigation bar's top, else the viewport's bottom."""
    return min((c.y for c in found if c.role == "tab"), default=HEIGHT)


def measure(page) -> dict[str, Control]:
    """Every tappable control of the screen, keyed by role, name and occurrence, measured where it is
    wholly inside the usable part of the screen (the screen is wheeled through from the top)."""
    page.mouse.move(WIDTH / 2, HEIGHT * 0.4)
    page.mouse.wheel(0, -20_000)
    page.wait_for_timeout(400)
    best: dict[str, Control] = {}
    seen_any: dict[str, Control] = {}
    previous = None
    for _ in range(40):
        found = controls(page, SIZED_ROLES)
        bottom, counts = _bottom(found), Counter()
        for c in found:
            counts[(c.role, c.name)] += 1
            key = f"{c.role} «{c.name.splitlines()[0] if c.name else ''}» #{counts[(c.role, c.name)]}"
            seen_any.setdefault(key, c)
            limit = HEIGHT if c.role == "tab" else bottom
            whole = c.y >= -0.5 and c.y + c.height <= limit + 0.5
            if whole and (key not in best or c.height > best[key].height):
                best[key] = c
        layout = [(round(c.y), c.name) for c in found]
        if layout == previous:
            break
        previous = layout
        page.mouse.wheel(0, 300)
        page.wait_for_timeout(250)
    for key, c in seen_any.items():
        best.setdefault(key, c)  # never wholly on screen (taller than it?): as seen
    return best


def test_every_tappable_control_is_at_least_48_px_tall(leader_phone):
    page, app, household_id, enrol = leader_phone
    measured = dict(enrol)
    for route in SCREENS:
        page.goto(app.url + route.format(id=household_id))
        enable(page)
        page.wait_for_timeout(900)
        measured[route] = measure(page)
        if route == "/household/{id}":
            measured[route + " (menu open)"] = _open_menu(page)
    lines, small = [], []
    for route, found in measured.items():
        lines.append(f"{route}: {len(found)} tappable controls")
        for key, c in found.items():
            if c.height < TOUCH - 0.5:
                small.append(f"{route}: {key} is {c.height:.0f} px tall ({c.width:.0f} px wide)")
    _report("sizes", lines + small)
    assert page.get_by_text("Error running app").count() == 0
    assert app.problems() is None, app.problems()
    assert not small, f"{len(small)} tappable controls under {TOUCH} px:\n" + "\n".join(small)


def _open_menu(page) -> dict[str, Control]:
    """The items of the first dropdown menu of the form (what appears in the tree once it is open)."""
    page.mouse.move(WIDTH / 2, HEIGHT * 0.4)
    page.mouse.wheel(0, -20_000)
    page.wait_for_timeout(300)
    before = controls(page, SIZED_ROLES)
    menus = [c for c in before if c.expanded is not None and c.role == "button" and 0 <= c.y < _bottom(before) - c.height]
    if not menus:
        return {}
    page.mouse.click(*menus[0].centre)
    page.wait_for_timeout(700)
    known = {(c.role, c.name, round(c.y)) for c in before}
    items = {f"{c.role} «{c.name}» (menu of «{menus[0].name}»)": c
             for c in controls(page, SIZED_ROLES) if (c.role, c.name, round(c.y)) not in known}  # fmt: skip
    page.keyboard.press("Escape")
    page.wait_for_timeout(400)
    return items


# ----- colours ------------------------------------------------------------------------------


def luminance(rgb: tuple[int, int, int]) -> float:
    """WCAG 2.x relative luminance of an sRGB colour."""

    def channel(v: int) -> float:
        c = v / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    """WCAG contrast ratio, 1 to 21."""
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def colours(shot: Image.Image, c: Control, inset: int = 3) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """(fill, text) inside a control's box: the commonest colour, and the pixel most distant from it."""
    box = (round(c.x) + inset, round(c.y) + inset, round(c.x + c.width) - inset, round(c.y + c.height) - inset)
    raw = shot.crop(box).convert("RGB").tobytes()
    pixels = [tuple(raw[i : i + 3]) for i in range(0, len(raw), 3)]
    fill = Counter(pixels).most_common(1)[0][0]
    text = max(pixels, key=lambda p: sum((x - y) ** 2 for x, y in zip(p, fill)))
    return fill, text


def test_a_selected_answer_stands_out_from_the_others(leader_phone):
    page, app, household_id, _ = leader_phone
    page.goto(f"{app.url}/household/{household_id}")
    enable(page)
    page.wait_for_timeout(900)
    pairs = _answer_pairs(page)
    assert pairs, "no answer buttons found on the household form"
    lines, failures = [], []
    for selected, unselected in pairs:
        _bring_into_view(page, selected)
        found = controls(page)
        selected = _same(found, selected)
        unselected = _same(found, unselected)
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        page.wait_for_timeout(400)
        shot = Image.open(io.BytesIO(page.screenshot()))
        fill_on, text_on = colours(shot, selected)
        fill_off, _ = colours(shot, unselected)
        fills, text = contrast(fill_on, fill_off), contrast(text_on, fill_on)
        line = (f"«{selected.name}» selected (fill {_hex(fill_on)}, text {_hex(text_on)}) vs «{unselected.name}» "
                f"(fill {_hex(fill_off)}): fills {fills:.2f}:1 (≥ 3), text {text:.2f}:1 (≥ 4.5)")  # fmt: skip
        lines.append(line)
        if fills < 3 or text < 4.5:
            failures.append(line)
        SHOTS.mkdir(parents=True, exist_ok=True)
        shot.save(SHOTS / "a11y-answers.png")
    _report("contrast", lines)
    assert not failures, "selected answers that do not stand out:\n" + "\n".join(failures)


def _answer_pairs(page) -> list[tuple[Control, Control]]:
    """(a selected answer, an unselected answer of the same check) for a few checks of the form."""
    found = controls(page)
    answers = [c for c in found if c.role != "textbox" and words.answer_of(c.name)]
    pairs, run = [], []
    for c in answers:  # a check's answers are neighbours in the tree, on one row
        if run and (abs(c.y - run[-1].y) > 2 or c.index != run[-1].index + 1):
            pairs += _pair(run)
            run = []
        run.append(c)
    pairs += _pair(run)
    return pairs[:4]


def _pair(run: list[Control]) -> list[tuple[Control, Control]]:
    on = [c for c in run if c.is_on]
    off = [c for c in run if not c.is_on]
    return [(on[0], off[0])] if on and off else []


def _bring_into_view(page, c: Control) -> None:
    found = controls(page)
    target = _same(found, c)
    bottom = _bottom(found)
    if target.y < 0 or target.y + target.height > bottom:
        page.mouse.move(WIDTH / 2, HEIGHT * 0.4)
        page.mouse.wheel(0, target.y - bottom / 2)
        page.wait_for_timeout(500)


def _same(found: list[Control], c: Control) -> Control:
    return next(f for f in found if f.index == c.index and f.name == c.name)


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb[:3])


def _report(name: str, lines: list[str]) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"a11y-{name}.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


def test_the_colour_formula_matches_wcag():
    assert round(contrast((0, 0, 0), (255, 255, 255)), 1) == 21.0
    assert round(contrast((118, 118, 118), (255, 255, 255)), 2) == 4.54  # the classic #767676 on white
    assert contrast((10, 20, 30), (10, 20, 30)) == 1.0


def test_colours_read_the_fill_and_the_text():
    image = Image.new("RGB", (60, 48), (33, 66, 99))
    for x in range(20, 30):
        image.putpixel((x, 24), (250, 250, 250))
    c = Control(index=0, role="button", tag="flt-semantics", name="x", x=0, y=0, width=60, height=48, disabled=False,
                checked=None, selected=None, current="true", pressed=None, expanded=None, invalid=False, focused=False,
                value=None, note="", id="", group="")  # fmt: skip
    assert colours(image, c) == ((33, 66, 99), (250, 250, 250))
