"""Field-app figures in a real browser: opening the URL to an interactive home; tapping Save to
"Đã lưu" (beside a tap that writes nothing, "Đủ 4", in the same page); opening a 6-member household
to an interactive form (beside a 1-member household opened the same way, in the same run). The app
runs as its own process (`python main.py --web`) on an enrolled device store holding 50,000
households, enrolled with a real `ntm-field server`; Playwright drives Debian's Chromium
(/usr/bin/chromium). Skipped, with a message, where either is missing."""

from __future__ import annotations

import itertools
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from ntm_field.bench import Measure, memory
from ntm_field.bench.households import generate
from ntm_field.device import device_clock, open_device_store
from ntm_field.sync.enrol import enrol_device

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
FULL = {"households": 50_000, "opens": 7, "saves": 25, "forms": 9}
QUICK = {"households": 1_000, "opens": 2, "saves": 4, "forms": 2}


def run(*, quick: bool, progress: Callable[[str], None]) -> list[Measure]:
    try:
        from playwright.sync_api import sync_playwright

        from ntm_field.server.admin import open_store
    except ImportError:
        progress("browser figures skipped: install the 'test' and 'server' extras (playwright)")
        return []
    if not Path(CHROMIUM).exists():
        progress(f"browser figures skipped: {CHROMIUM} is missing (apt-get install -y chromium)")
        return []
    from ntm_field.bench.server import _start_server

    sizes = QUICK if quick else FULL
    with tempfile.TemporaryDirectory(prefix="ntm-bench-app-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'server.db'}"
        store = open_store(url)
        store.load_units((ROOT / "assets" / "units" / "binhphuoc-2024.csv").read_text(encoding="utf-8"))
        store.load_units("code,name,level,parent_code,expected_households\n"
                         + "".join(f"25216-{n:02d},Khu phố {n},hamlet,25216,300\n" for n in range(1, 4)))  # fmt: skip
        server, base = _start_server(url)
        try:
            code = store.create_enrol_code(role="surveyor", scope=["25216"], uses=1, expires_in=timedelta(hours=1), created_by="bench")
            phone = open_device_store(Path(tmp) / "phone")
            enrol_device(phone, code.code, server=base, device_name="bench", clock=device_clock)
            seeded = generate(sizes["households"], seed=77, hamlets=3, commune="25216")
            big = small = None
            while chunk := list(itertools.islice(seeded, 5_000)):
                phone.save_many(chunk)
                big = big or next((h for h in chunk if len(h.members) == 6), None)
                small = small or next((h for h in chunk if len(h.members) == 1), None)
            phone.close()
            progress(f"field app in Chromium: {sizes['opens']} opens, {sizes['saves']} saves, {sizes['forms']} × 2 households opened "
                     f"({sizes['households']} households held)…")  # fmt: skip
            app, app_url = _start_app(Path(tmp) / "phone")
            try:
                with sync_playwright() as playwright:
                    opens = [_open_home(playwright, app_url, Path(tmp) / f"profile-{i}") for i in range(sizes["opens"])]
                    saves, taps = _saves(playwright, app_url, Path(tmp) / "profile-saves", sizes["saves"])
                    forms = _open_forms(playwright, app_url, Path(tmp) / "profile-forms", (big, small), sizes["forms"])
                rss, peak = memory(app.pid)
            finally:
                os.killpg(app.pid, signal.SIGTERM)
                app.wait(timeout=20)
        finally:
            server.terminate()
            server.wait(timeout=30)
            store.close()
    opened, saved, tapped = statistics.median(opens), statistics.median(saves), statistics.median(taps)
    six, one = statistics.median(forms[0]), statistics.median(forms[1])
    held = f"{sizes['households'] // 1000}k"
    return [
        Measure("field app: open URL → interactive home, p50", "ms", opened, None, "", "≤ 3,000 ms", opened <= 3000),
        Measure("field app: tap Save → \"Đã lưu\", p50", "ms", saved, tapped, "tap \"Đủ 4\" → answers chosen, no write",
                "≤ 150 ms", saved <= 150),
        Measure("field app: tap Save → \"Đã lưu\", max", "ms", max(saves), None, "", "—", None),
        Measure("field app: open a 6-member household → form interactive, p50", "ms", six, one,
                "a 1-member household, same way", "≤ 500 ms", six <= 500),
        Measure(f"field app RSS with {held} households (after the opens and saves)", "MB", rss, None, "", "≤ 200 MB", rss <= 200),
        Measure(f"field app peak RSS with {held} households", "MB", peak, None, "", "—", None),
    ]


def _start_app(data: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    process = subprocess.Popen([sys.executable, "main.py", "--web", "--port", str(port), "--data", str(data)], cwd=ROOT,
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            with urllib.request.urlopen(url, timeout=1):
                return process, url
        except OSError:
            time.sleep(0.1)
    os.killpg(process.pid, signal.SIGKILL)
    raise RuntimeError("the field app did not start")


def _browser(playwright, profile: Path, *, height: int = 2400):
    context = playwright.chromium.launch_persistent_context(
        str(profile), executable_path=CHROMIUM, headless=True, args=ARGS, viewport={"width": 360, "height": height}
    )
    page = context.pages[0] if context.pages else context.new_page()
    page.route("**/*", lambda r: r.continue_() if r.request.url.split("/")[2].split(":")[0] in ("127.0.0.1", "localhost") else r.abort())
    return context, page


def _ready(page) -> None:
    page.wait_for_selector("#loading", state="detached", timeout=60_000)
    page.locator("flt-semantics-placeholder").dispatch_event("click")
    page.wait_for_selector("flt-semantics-host flt-semantics", timeout=30_000)


def _open_home(playwright, url: str, profile: Path) -> float:
    """Milliseconds from navigation to the home screen's buttons answering (a fresh browser profile)."""
    context, page = _browser(playwright, profile)
    try:
        started = time.perf_counter()
        page.goto(url)
        _ready(page)
        page.get_by_role("button", name="Thêm hộ").first.wait_for(timeout=30_000)
        return (time.perf_counter() - started) * 1000
    finally:
        context.close()


def _saves(playwright, url: str, profile: Path, count: int) -> tuple[list[float], list[float]]:
    """Milliseconds from the Save tap to "Đã lưu" on screen, for `count` new households; beside each,
    the same page's round trip for a tap that writes nothing ("Đủ 4" → its first answer shown chosen).

    A new household each time, as in the field (a household is saved once or twice), and because a
    second "Đã lưu" on the same form is drawn but not put back in the semantics tree the browser reads."""
    context, page = _browser(playwright, profile)
    saves, taps = [], []
    try:
        page.goto(url)
        _ready(page)
        for n in range(count):
            # Home redraws when the sync after a save changes its chip: a tap on "Thêm hộ" could be lost.
            page.evaluate(_PUSH_ROUTE, f"/households/new?hamlet=25216-01&n={n}")  # a new route each time
            page.get_by_text("Hộ mới", exact=True).wait_for(timeout=10_000)  # not the saved one ("Sửa hộ")
            page.get_by_role("checkbox", name="Hộ đồng ý cung cấp thông tin").click()  # names need consent
            page.wait_for_timeout(300)
            type_into(page, "Họ tên chủ hộ", "Nguyễn Văn Đức")
            type_into(page, "Năm sinh thành viên 1", "1968")
            type_into(page, "Số nhà", f"{n + 1}B")  # a number no generated household has: no duplicate warning
            page.wait_for_timeout(300)
            started = time.perf_counter()
            page.get_by_role("button", name="Đủ 4 — thành viên 1").click()
            page.wait_for_function(_CHOSEN, arg="Đã có", polling="raf", timeout=10_000)
            taps.append((time.perf_counter() - started) * 1000)
            page.wait_for_timeout(300)
            started = time.perf_counter()
            page.get_by_role("button", name="Lưu", exact=True).click()
            page.get_by_text("Đã lưu").wait_for(timeout=10_000)
            saves.append((time.perf_counter() - started) * 1000)
        return saves, taps
    finally:
        context.close()


# The first answer with this name is shown chosen (checked, selected, current or pressed).
_CHOSEN = """(name) => {
  const host = document.querySelector('flt-semantics-host');
  if (!host) return false;
  const answer = [...host.querySelectorAll('[role]')].find(e => (e.getAttribute('aria-label')
      || [...e.childNodes].filter(c => c.nodeType === 3 || c.tagName === 'SPAN').map(c => c.textContent).join('')).trim() === name);
  return !!answer && ['aria-checked', 'aria-selected', 'aria-current', 'aria-pressed'].some(a => answer.getAttribute(a) === 'true');
}"""


def _open_forms(playwright, url: str, profile: Path, households, count: int) -> tuple[list[float], list[float]]:
    """Milliseconds from opening a household inside the running app (its route pushed, as a list row's
    tap or a label's link does) to its form answering (the head's name field and the household's code
    drawn), for each household, alternately, `count` times each; back to the list in between."""
    context, page = _browser(playwright, profile, height=640)
    times: tuple[list[float], list[float]] = ([], [])
    try:
        page.goto(f"{url}/households")
        _ready(page)
        for _ in range(count):
            for household, out in zip(households, times):
                page.get_by_role("tab", name="Hộ gia đình").wait_for(timeout=10_000)
                page.wait_for_timeout(300)  # the list settled: nothing else draws while we measure
                started = time.perf_counter()
                page.evaluate(_PUSH_ROUTE, f"/household/{household.id}")
                page.wait_for_function(_FORM_SHOWN, arg=["Họ tên chủ hộ", household.label_code], polling="raf", timeout=10_000)
                out.append((time.perf_counter() - started) * 1000)
                page.evaluate(_PUSH_ROUTE, "/households")
                page.get_by_role("textbox", name="Tìm theo tên, số nhà, mã hộ").wait_for(timeout=10_000)
        return times
    finally:
        context.close()


# Flutter's path URL strategy follows the browser's history: a pushed route reaches the app's router.
_PUSH_ROUTE = "(route) => { history.pushState(null, '', route); dispatchEvent(new PopStateEvent('popstate', {state: null})); }"

# The form of that household answers: its head-name field, and its code in a text (not in a list row's button).
_FORM_SHOWN = """([label, code]) => {
  const host = document.querySelector('flt-semantics-host');
  if (!host || !host.querySelector(`input[aria-label="${label}"]`)) return false;
  const own = (e) => (e.getAttribute('aria-label') || '')
      + [...e.childNodes].filter(c => c.nodeType === 3 || c.tagName === 'SPAN').map(c => c.textContent).join('');
  return [...host.querySelectorAll('flt-semantics')].some(e => e.getAttribute('role') !== 'button' && own(e).includes(code));
}"""


def type_into(page, label: str, text: str) -> None:
    box = page.get_by_role("textbox", name=label)
    box.click()
    page.wait_for_timeout(100)
    box.fill(text)
    page.wait_for_timeout(200)
