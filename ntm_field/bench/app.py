"""Field-app figures in a real browser: opening the URL to an interactive home, and tapping Save to
"Đã lưu". The app runs as its own process (`python main.py --web`) on an enrolled device store holding
50,000 households, enrolled with a real `ntm-field server`; Playwright drives Debian's
Chromium (/usr/bin/chromium). Skipped, with a message, where either is missing."""

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
FULL = {"households": 50_000, "opens": 7, "saves": 25}
QUICK = {"households": 1_000, "opens": 2, "saves": 4}


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
            while chunk := list(itertools.islice(seeded, 5_000)):
                phone.save_many(chunk)
            phone.close()
            progress(f"field app in Chromium: {sizes['opens']} opens, {sizes['saves']} saves ({sizes['households']} households held)…")
            app, app_url = _start_app(Path(tmp) / "phone")
            try:
                with sync_playwright() as playwright:
                    opens = [_open_home(playwright, app_url, Path(tmp) / f"profile-{i}") for i in range(sizes["opens"])]
                    saves = _saves(playwright, app_url, Path(tmp) / "profile-saves", sizes["saves"])
                rss, peak = memory(app.pid)
            finally:
                os.killpg(app.pid, signal.SIGTERM)
                app.wait(timeout=20)
        finally:
            server.terminate()
            server.wait(timeout=30)
            store.close()
    opened, saved = statistics.median(opens), statistics.median(saves)
    held = f"{sizes['households'] // 1000}k"
    return [
        Measure("field app: open URL → interactive home, p50", "ms", opened, None, "", "≤ 3,000 ms", opened <= 3000),
        Measure("field app: tap Save → \"Đã lưu\", p50", "ms", saved, None, "", "≤ 150 ms", saved <= 150),
        Measure("field app: tap Save → \"Đã lưu\", max", "ms", max(saves), None, "", "—", None),
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


def _browser(playwright, profile: Path):
    context = playwright.chromium.launch_persistent_context(
        str(profile), executable_path=CHROMIUM, headless=True, args=ARGS, viewport={"width": 360, "height": 2400}
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


def _saves(playwright, url: str, profile: Path, count: int) -> list[float]:
    """Milliseconds from the Save tap to "Đã lưu" on screen, editing one household `count` times."""
    context, page = _browser(playwright, profile)
    try:
        page.goto(f"{url}/households/new?hamlet=25216-01")
        _ready(page)
        _type(page, "Họ tên chủ hộ", "Nguyễn Văn Đức")
        _type(page, "Năm sinh thành viên 1", "1968")
        page.get_by_role("button", name="Đủ 4 — thành viên 1").click()
        times = []
        for n in range(count):
            _type(page, "Số nhà", str(n + 1))
            saved = page.get_by_text("Đã lưu")
            saved.wait_for(state="detached", timeout=10_000)
            started = time.perf_counter()
            page.get_by_role("button", name="Lưu", exact=True).click()
            saved.wait_for(timeout=10_000)
            times.append((time.perf_counter() - started) * 1000)
        return times
    finally:
        context.close()


def _type(page, label: str, text: str) -> None:
    box = page.get_by_role("textbox", name=label)
    box.click()
    page.wait_for_timeout(100)
    box.fill(text)
    page.wait_for_timeout(200)
