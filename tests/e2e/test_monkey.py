"""Monkey test of the field app in Chromium at 360×640 (issue 12): seeded random sequences of what
people do on a phone, on the enrol, home, list, form, sync, settings and leader screens, against a real
central endpoint. After every step: no "Error running app", no exception in the app's log, the screen
answers; after every "Đã lưu", the store holds what the screen showed (tests/e2e/monkey.py).

CI runs seeds 1..20 of 60 steps (fixed: a red CI is reproducible); `--long` runs seeds 1..200.
Replay one seed: NTM_MONKEY_SEED=7; several: NTM_MONKEY_SEEDS=3-9 or 3,7; steps: NTM_MONKEY_STEPS=120.
Sequences of one kind share an app process (one per kind, a fresh one for each enrol sequence), so a
seed replayed alone starts from a store without the households the seeds before it saved: when a
replay does not fail, replay the seeds before it on the same process too (the failure names them).
Against another checkout of the app (e.g. a commit's snapshot): NTM_APP_ROOT=/path/to/it.
"""

from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest

from ntm_field.bench.app import ARGS, CHROMIUM
from ntm_field.bench.households import generate
from ntm_field.store import LocalStore
from ntm_field.sync.enrol import enrol_device
from tests.conftest import FakeClock
from tests.e2e.conftest import SHOTS  # the `chromium` fixture comes from conftest (importing it would start a second Playwright)
from tests.e2e.field_process import LoggedApp, app_root, enrol_store, stored_documents
from tests.e2e.monkey import HEIGHT, WIDTH, FormOracle, Monkey, MonkeyFailure, Values, read_form
from tests.e2e.semantics import Control
from tests.server.conftest import prepare_database, start_server, stop_server
from tests.sync.conftest import Device, enrol_code

STEPS = int(os.environ.get("NTM_MONKEY_STEPS", "60"))
SEEDED = 24  # households on the server before the first sequence (some of 6 members)


def _seeds(config) -> list[int]:
    one, many = os.environ.get("NTM_MONKEY_SEED"), os.environ.get("NTM_MONKEY_SEEDS")
    if one:
        return [int(one)]
    if many:
        out: list[int] = []
        for part in many.split(","):
            low, _, high = part.partition("-")
            out += range(int(low), int(high or low) + 1)
        return out
    return list(range(1, 201 if config.getoption("--long") else 21))


def pytest_generate_tests(metafunc):
    if "seed" in metafunc.fixturenames:
        metafunc.parametrize("seed", _seeds(metafunc.config))


def kind_of(seed: int) -> str:
    """Which app a sequence drives: a fresh store (enrol screen first), a leader's, or a surveyor's."""
    return {0: "fresh", 3: "leader"}.get(seed % 6, "surveyor")


@dataclass
class Field:
    """The module's world: one endpoint, a surveyor's and a leader's app, one browser."""

    root: Path
    tmp: Path
    server: object
    browser: object
    apps: dict[str, LoggedApp] = field(default_factory=dict)
    ran: dict[str, list[int]] = field(default_factory=dict)
    household_ids: list[str] = field(default_factory=list)
    results: list[str] = field(default_factory=list)

    def app(self, kind: str, seed: int) -> LoggedApp:
        if kind == "fresh":  # a new store every time: the enrol screen is where it starts
            data = self.tmp / f"fresh-{seed}"
            return LoggedApp(data, self.tmp / f"fresh-{seed}.log", root=self.root)
        running = self.apps.get(kind)
        if running is None or not running.alive():
            data = self.tmp / kind
            if not (data / "ntm-field.db").exists():
                code = enrol_code(self.server, role="leader" if kind == "leader" else "surveyor", scope="25216")
                enrol_store(data, self.server.url, code, name=f"{kind} monkey", root=self.root)
            running = self.apps[kind] = LoggedApp(data, self.tmp / f"{kind}.log", root=self.root)
            _wait_for_households(running, SEEDED)
        return running


def _seed_households(server, tmp: Path) -> list[str]:
    """Households a colleague already pushed: the apps pull them at their first sync."""
    clock = FakeClock()
    store = LocalStore.open(tmp / "colleague" / "ntm-field.db", clock=clock, new_id=lambda: os.urandom(16).hex())
    try:
        device = Device(store=store, clock=clock, url=server.url)
        enrol_device(store, enrol_code(server, scope="25216"), server=server.url, device_name="colleague",
                     clock=clock, connect=device.connect)  # fmt: skip
        households = list(generate(SEEDED, seed=12, hamlets=3, commune="25216"))
        store.save_many(households)
        assert device.sync().ok
        return [h.id for h in households]
    finally:
        store.close()


def _wait_for_households(app: LoggedApp, count: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if app.db.exists():
            try:
                if len(stored_documents(app.db)) >= count:
                    return
            except Exception:  # noqa: BLE001 — the app may be migrating or writing: try again
                pass
        time.sleep(0.3)
    raise RuntimeError(f"the app did not pull the {count} seeded households within 60 s:\n{app.text()[-2000:]}")


@pytest.fixture(scope="module")
def world(chromium, tmp_path_factory, request):  # noqa: F811
    tmp = tmp_path_factory.mktemp("monkey")
    # The monkey types wrong enrolment codes on purpose, all from 127.0.0.1: the server's wrong-guess limit
    # (a defence tested in tests/server/test_enrol_codes.py) would otherwise lock later fresh phones out.
    server = start_server(prepare_database(f"sqlite:///{tmp / 'server.db'}"),
                          env={"NTM_WRONG_CODES_PER_ADDRESS": "100000", "NTM_WRONG_CODES_PER_PREFIX": "100000"})
    browser = chromium.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
    world = Field(root=app_root(), tmp=tmp, server=server, browser=browser)
    try:
        world.household_ids = _seed_households(server, tmp)
        yield world
    finally:
        for app in world.apps.values():
            app.stop()
        browser.close()
        stop_server(server.process)
        if world.results:
            summary = "\n".join(["monkey: seed kind steps saves-checked seconds warnings", *world.results])
            SHOTS.mkdir(parents=True, exist_ok=True)
            (SHOTS / "monkey-summary.txt").write_text(summary + "\n", encoding="utf-8")
            reporter = request.config.pluginmanager.get_plugin("terminalreporter")
            capture = request.config.pluginmanager.get_plugin("capturemanager")
            if reporter is not None and capture is not None:
                with capture.global_and_fixture_disabled():
                    reporter.write_line("")
                    for line in summary.splitlines():
                        reporter.write_line(line)


def test_monkey(world, seed):
    kind = kind_of(seed)
    rng = random.Random(seed)
    app = world.app(kind, seed)
    values = Values(rng=rng, today=date.today(), server_url=world.server.url)
    if kind == "fresh":
        values.enrol_code = enrol_code(world.server, scope="25216")
        start = "/"
    elif kind == "leader":
        start = rng.choice(["/team", "/team", "/team/invite", "/team/conflicts", "/households/new?hamlet=25216-02"])
    else:
        start = rng.choice(["/", "/households", "/households/new?hamlet=25216-01", "/households/new?hamlet=25216-01",
                            "/sync", "/settings", f"/household/{rng.choice(world.household_ids)}"])  # fmt: skip
    before = list(world.ran.get(kind, []))
    world.ran.setdefault(kind, []).append(seed)
    context = world.browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
    outside: list[str] = []
    context.route("**/*", lambda r: _local_only(r, outside))
    page = context.new_page()
    monkey = Monkey(page, app, seed=seed, steps=STEPS, start=app.url + start, values=values, shots=SHOTS)
    started, failed = time.monotonic(), None
    try:
        monkey.run()
    except MonkeyFailure as failure:
        shared = f"\nseeds run before it on the same app process: {before}" if before and kind != "fresh" else ""
        failed = f"{failure}{shared}\nwarnings: {monkey.warnings[-5:]}"
    finally:
        took = time.monotonic() - started
        world.results.append(f"monkey: {seed} {kind} {len(monkey.all_steps)} {monkey.saves_checked} {took:.0f}"
                             f" {len(monkey.warnings)} {'FAILED ' if failed else ''}{monkey.counts}"
                             f" act {monkey.seconds['act']:.0f} s, check {monkey.seconds['check']:.0f} s")  # fmt: skip
        world.results += [f"    warning {w}" for w in monkey.warnings[:3]]
        if os.environ.get("NTM_MONKEY_SLOW"):
            world.results += [f"    {s:.1f} s step {n}: {what[:100]}" for s, n, what in sorted(monkey.slow, reverse=True)[:6]]
        context.close()
        if kind == "fresh":
            app.stop()
    if failed:
        pytest.fail(failed, pytrace=False)


def _local_only(route, outside: list[str]) -> None:
    host = route.request.url.split("/")[2].split(":")[0]
    if host in ("127.0.0.1", "localhost"):
        route.continue_()
    else:
        outside.append(route.request.url)
        route.abort()


# ----- the oracle itself, without a browser -------------------------------------------------------


def _control(index: int, name: str, *, role: str = "button", on: bool = False) -> Control:
    return Control(index=index, role=role, tag="flt-semantics", name=name, x=0, y=index * 10, width=60, height=48,
                   disabled=False, checked=None, selected=None, current="true" if on else "false", pressed=None,
                   expanded=None, invalid=False, focused=False, value=None, note="", id="", group="")  # fmt: skip


def test_read_form_gives_each_chosen_answer_to_its_member_and_check():
    names = [("Họ tên chủ hộ", "textbox", False), ("Họ tên thành viên 1", "textbox", False),
             ("Đủ 4 — thành viên 1", "button", False),
             ("Đã có", "button", True), ("Chưa có", "button", False), ("Chưa rõ", "button", False),
             ("Mức 2", "button", False), ("Mức 1", "button", True), ("Chưa có", "button", False), ("Chưa rõ", "button", False),
             ("Họ tên thành viên 2", "textbox", False),
             ("Yes", "button", False), ("No", "button", False), ("Unknown", "button", True),  # English: cccd …
             ("Level 2", "button", True), ("Level 1", "button", False), ("No", "button", False), ("Unknown", "button", False),
             ("Yes", "button", True), ("No", "button", False), ("Unknown", "button", False)]  # … and smartphone  # fmt: skip
    view = read_form([_control(i, name, role=role, on=on) for i, (name, role, on) in enumerate(names)])
    assert view.count == 2
    assert view.checks == {1: {"cccd": "yes", "vneid": "level1"}, 2: {"cccd": "unknown", "vneid": "level2", "smartphone": "yes"}}


def test_the_oracle_renumbers_members_after_a_removal_it_asked_for_and_forgets_otherwise():
    oracle = FormOracle()
    oracle.reset("25216-01/ABC123")
    oracle.counted(3)
    for n, name in ((1, "An"), (2, "Bình"), (3, "Chi")):
        oracle.typed(f"Họ tên thành viên {n}", name)
    oracle.tapped(_control(0, "Xoá thành viên 2"))
    oracle.counted(2)
    assert oracle.members == {1: {"full_name": "An"}, 2: {"full_name": "Chi"}}
    oracle.counted(3)  # a member came back (undo) without the monkey adding one: unsure, forget
    assert oracle.members == {}
    oracle.typed("Họ tên thành viên 1", "An")
    oracle.typed("Họ tên chủ hộ", "Dũng")  # the app may name member 1 after the head
    assert oracle.head == "Dũng" and oracle.members == {1: {}}
