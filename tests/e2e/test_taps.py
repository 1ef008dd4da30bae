"""A 4-person household (40, 38, 16 and 10 years old, birth years from the app's own date) recorded in
the natural order at 360×640: for each member, the name and birth year typed key by key, then "Đủ 4";
at most 12 taps besides typing (tests/e2e/taps.py counts them and prints the figure), and the stored
household is what was typed."""

from __future__ import annotations

from ntm_field.bench.app import ARGS, CHROMIUM
from ntm_field.device import device_clock
from ntm_field.domain.codes import COVERED_VALUE
from ntm_field.domain.indicators import MIN_AGE
from tests.e2e import vocabulary as words
from tests.e2e.conftest import SHOTS
from tests.e2e.field_process import LoggedApp, app_root, enrol_store, stored_household
from tests.e2e.semantics import enable
from tests.e2e.taps import TapCounter
from tests.sync.conftest import enrol_code

TAP_LIMIT = 12
AGES = (40, 38, 16, 10)
NAMES = ("Nguyễn Văn Đức", "Trần Thị Hồng", "Nguyễn Thị Lan", "Nguyễn Văn Phúc")


def vi(key: str, **params) -> str:
    return words.texts(key, **params)[0]


def test_a_family_of_four_in_the_natural_order_takes_at_most_12_taps(server, tmp_path, chromium):
    today = device_clock().date()  # the app's clock: the form's visit date and ages come from it
    years = [str(today.year - age) for age in AGES]
    data = tmp_path / "phone"
    enrol_store(data, server.url, enrol_code(server, scope="25216"), name="tap counter", root=app_root())
    app = LoggedApp(data, tmp_path / "app.log", root=app_root())
    browser = chromium.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
    try:
        page = browser.new_page(viewport={"width": 360, "height": 640})
        page.route("**/*", lambda r: r.continue_() if "//127.0.0.1" in r.request.url else r.abort())
        page.goto(app.url)
        enable(page)
        _record_the_family(page, years)
        assert app.problems() is None, app.problems()
        stored = stored_household(app.db)
        assert stored is not None
        assert stored["head_name"] == NAMES[0] and stored["consent"]["given"] is True
        assert [(m["full_name"], str(m["birth_year"])) for m in stored["members"]] == list(zip(NAMES, years))
        for member, age in zip(stored["members"], AGES):
            expected = {c.value: (COVERED_VALUE[c] if age >= minimum else "unknown") for c, minimum in MIN_AGE.items()}
            assert {check: member[check] for check in expected} == expected, (member["full_name"], age)
    except AssertionError as failure:
        problem = app.problems()
        raise AssertionError(f"{failure}\n{'the app logged:' + chr(10) + problem if problem else ''}") from None
    finally:
        browser.close()
        app.stop()


def _record_the_family(page, years: list[str]) -> None:
    """Consent, then for each member the name and birth year key by key and "Đủ 4", then Save."""
    thumb = TapCounter(page)
    page.get_by_text(vi("sync.chip.idle", pending=0)).first.wait_for(timeout=30_000)
    try:
        thumb.tap(vi("home.add"))
        thumb.tap(vi("form.consent"), role="checkbox")  # first: without consent the form takes no names
        thumb.type(vi("form.head_name"), NAMES[0])  # names member 1 too
        for n, (name, year) in enumerate(zip(NAMES, years), start=1):
            if n > 1:
                thumb.tap(vi("form.add_member"))
                thumb.type(vi("form.full_name", n=n), name)
            thumb.type(vi("form.birth_year", n=n), year)
            if thumb.offered(vi("form.all_covered", n=n)):  # a form may offer nothing to cover for a child
                thumb.tap(vi("form.all_covered", n=n))
        thumb.tap(vi("form.save"))
        page.get_by_text(vi("form.saved")).first.wait_for(timeout=10_000)
    except Exception as error:  # noqa: BLE001 — say where it stopped
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SHOTS / "taps-FAILED.png")
        raise AssertionError(f"{str(error)[:500]}\nafter:\n" + "\n".join(thumb.log)) from None
    print(f"\n4-person household (40, 38, 16, 10) in the natural order: {thumb.figure()}")
    print("\n".join(thumb.log))
    assert page.get_by_text("Error running app").count() == 0
    assert thumb.taps <= TAP_LIMIT, thumb.figure()
