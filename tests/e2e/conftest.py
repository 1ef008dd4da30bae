"""Browser tests: the field app served in web mode (a real process), driven by Playwright in Debian's
Chromium (never `playwright install`), against a real central endpoint. Screenshots at 360×640 go to
tests/e2e/artifacts/ (or $NTM_SCREENSHOTS). Without Chromium they skip on a developer machine and fail in CI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from ntm_field.bench.app import ARGS, CHROMIUM
from tests.server.conftest import ROOT, _free_port, database_url, postgres_admin_url, server  # noqa: F401
from tests.sync.conftest import enrol_code  # noqa: F401

SHOTS = Path(os.environ.get("NTM_SCREENSHOTS", ROOT / "tests" / "e2e" / "artifacts"))


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing (apt-get install -y chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is missing (pip install playwright; never 'playwright install')"
    return None


@pytest.fixture(scope="session")
def chromium():
    problem = _missing()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(problem)
        pytest.skip(problem)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


class App:
    def __init__(self, data: Path):
        self.port = _free_port()
        env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
        # stderr to a file, never a pipe nobody reads: a chatty app would block on a full pipe (64 KB) mid-test
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [sys.executable, "main.py", "--web", "--port", str(self.port), "--data", str(data)],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=self.log, start_new_session=True,
        )  # fmt: skip
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.errors()
            try:
                if requests.get(self.url, timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                time.sleep(0.2)
        raise RuntimeError("the app did not answer within 60 s")

    def errors(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-3000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait()
        self.log.close()


@pytest.fixture
def app(tmp_path):
    running = App(tmp_path / "phone")
    yield running
    running.stop()


class Phone:
    """A 360-px-wide browser page on the app, with tap counting (typing is not counted)."""

    def __init__(self, context, page, name: str):
        self.context, self.page, self.name, self.taps = context, page, name, 0
        self.outside: list[str] = []

    def open(self, url: str) -> float:
        started = time.monotonic()
        self.page.goto(url)
        self.page.wait_for_selector("#loading", state="detached", timeout=60_000)
        self.page.locator("flt-semantics-placeholder").dispatch_event("click")
        self.page.wait_for_selector("flt-semantics-host flt-semantics", timeout=20_000)
        return time.monotonic() - started

    def tap(self, role: str = "button", name: str = "", **options) -> None:
        self.page.get_by_role(role, name=name, **options).first.click()
        self.taps += 1
        # A tap may reshape the screen (a member card added, checks shown): wait for the new layout
        # to be drawn, as a person would, so the next tap lands where its button now is.
        self.page.wait_for_timeout(400)

    def type(self, label: str, text: str) -> None:
        box = self.page.get_by_role("textbox", name=label)
        box.click()
        self.page.wait_for_timeout(100)
        box.fill(text)
        self.page.wait_for_timeout(200)
        if box.input_value() != text:
            # Flutter's text field sometimes misses a fill (seen with a code holding "/"): type it key by key.
            box.press("Control+a")
            box.press_sequentially(text, delay=40)
            self.page.wait_for_timeout(300)

    def keys(self, label: str, text: str) -> None:
        """Type key by key (real key events): for a field whose every keystroke matters, like search."""
        box = self.page.get_by_role("textbox", name=label)
        box.click()
        self.page.wait_for_timeout(150)
        box.press("Control+a")
        box.press_sequentially(text, delay=40)
        self.page.wait_for_timeout(300)

    def gone(self, text: str, timeout: float = 10_000) -> None:
        """Wait until no text (or accessible name) on screen holds `text`."""
        self.page.get_by_text(text).or_(self.page.get_by_label(text)).first.wait_for(state="detached", timeout=timeout)

    def see(self, text: str, timeout: float = 15_000) -> None:
        try:
            # A text, or a group's accessible name (Flutter merges a card's or a selectable text's label).
            self.page.get_by_text(text).or_(self.page.get_by_label(text)).first.wait_for(timeout=timeout)
        except Exception:
            SHOTS.mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=SHOTS / f"{self.name}-FAILED.png")  # the whole tall page, for the report
            raise

    def shot(self, screen: str) -> Path:
        SHOTS.mkdir(parents=True, exist_ok=True)
        size = self.page.viewport_size
        self.page.set_viewport_size({"width": 360, "height": 640})
        self.page.wait_for_timeout(700)
        path = SHOTS / f"{self.name}-{screen}.png"
        self.page.screenshot(path=path)
        self.page.set_viewport_size(size)
        self.page.wait_for_timeout(300)
        return path

    def unlabelled(self) -> list[str]:
        return unlabelled(self.page)

    def no_crash(self) -> None:
        assert self.page.get_by_text("Error running app").count() == 0


def unlabelled(page) -> list[str]:
    """Interactive elements on screen without an accessible name (screen readers read nothing)."""
    return page.evaluate("""() => [...document.querySelectorAll(
          'flt-semantics-host [role=button], flt-semantics-host [role=checkbox], flt-semantics-host [role=tab],'
          + ' flt-semantics-host input, flt-semantics-host textarea')]
        .filter(e => !((e.getAttribute('aria-label') || '') + (e.textContent || '')).trim())
        .map(e => e.outerHTML.slice(0, 100) + ' … near: ' + (e.parentElement.textContent || '').slice(0, 80)
             + ' @y=' + Math.round(e.getBoundingClientRect().y))""")


@contextmanager
def local_browser(chromium, profile: Path, *, width: int, height: int, outside: list[str]):
    """A fresh headless Chromium profile whose requests leave 127.0.0.1 never (recorded in `outside`).
    The viewport is tall: only what is on screen is in the semantics tree."""
    context = chromium.chromium.launch_persistent_context(
        str(profile), executable_path=CHROMIUM, headless=True, args=ARGS, accept_downloads=True,
        viewport={"width": width, "height": height},
    )  # fmt: skip
    page = context.pages[0] if context.pages else context.new_page()

    def route(r):
        host = r.request.url.split("/")[2].split(":")[0]
        if host in ("127.0.0.1", "localhost"):
            return r.continue_()
        outside.append(r.request.url)
        return r.abort()

    page.route("**/*", route)
    try:
        yield context, page
    finally:
        context.close()


@pytest.fixture
def phone(chromium, tmp_path, request):
    outside: list[str] = []
    with local_browser(chromium, tmp_path / "profile", width=360, height=4000, outside=outside) as (context, page):
        device = Phone(context, page, request.node.name)
        device.outside = outside
        yield device
        device.no_crash()


def chromium_available() -> bool:
    return shutil.which("chromium") is not None
