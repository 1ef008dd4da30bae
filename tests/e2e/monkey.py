"""A seeded monkey for the field app in Chromium: it does what people do on a phone — taps whatever the
accessibility tree offers, types plausible and implausible values, scrolls, switches tabs, goes back,
reloads — and checks after every step that the app did not crash, logged no exception, still answers,
and that every household it saw saved ("Đã lưu") is in the store as the screen showed it.

Generic by design: actions come from the semantics tree (roles and accessible names), not from the
layout of a screen. Only the oracle reads a few labels, from the app's own catalogue (vocabulary.py).
"""

from __future__ import annotations

import json
import random
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from ntm_field.domain.codes import Check
from ntm_field.ui.i18n import LANGUAGES
from tests.e2e import vocabulary as words
from tests.e2e.field_process import LoggedApp, stored_household
from tests.e2e.semantics import Control, controls, enable, screen, visible

WIDTH, HEIGHT = 360, 640
SETTLE_MS = 200  # a tap's round trip to Python and back, drawn (measured ≈ 100-130 ms here)
ANSWER_S = 5.0  # "the screen answers": a tab or button reacts within this many seconds
CRASH = "Error running app"
ORDER = [c.value for c in Check]

# Never tapped: they wipe the device or leave it (a person may, but then the run tests nothing more).
DESTRUCTIVE = ("settings.sign_out", "settings.sign_out_confirm")
DESTRUCTIVE_WORDS = ("đăng xuất", "sign out", "unenrol", "huỷ đăng ký", "thu hồi", "revoke", "wipe", "xoá dữ liệu")


class MonkeyFailure(AssertionError):
    """An invariant broke; the message holds the seed, the problem and the last actions."""


@dataclass
class Values:
    """What the monkey types: plausible values mostly, implausible ones often enough."""

    rng: random.Random
    today: date
    server_url: str = ""
    enrol_code: str = ""

    def years(self) -> list[str]:
        y = self.today.year
        plausible = [y - a for a in (40, 38, 16, 10, 13, 14, 15, 17, 18, 19, 70, 90, 0)]
        return [str(v) for v in plausible]

    def implausible_years(self) -> list[str]:
        y = self.today.year
        # Other scripts' digits pass str.isdigit(): full-width ones convert, superscripts make int() raise.
        return ["", "2", "20", "198", "1800", str(y + 1), "19x5", "abcd", "19855", " 1985", "２０１０", "²⁰¹⁰", "-1"]

    def crossing(self) -> list[str]:
        """Birth years typed one after another, crossing the 14/15/18 thresholds and back (2010→2012→1985)."""
        y = self.today.year
        ages = self.rng.choice([(14, 12, 40), (13, 15, 18), (19, 17, 14, 40), (16, 10, 38), (18, 13), (40, 16, 10)])
        return [str(y - a) for a in ages]

    def names(self) -> list[str]:
        return ["Nguyễn Thị Ánh Tuyết", "Trần Văn Bình", "Lê Hoàng Phúc", "Đặng Thị Ngọc Hân", "Hồ Quý Ly",
                "Điểu Thị Mai", "Ngô Bảo Châu", "Phạm Thị Thu Hường"]  # fmt: skip

    def odd_names(self) -> list[str]:
        return ["", "A", "  Lê Văn Tám  ", "Nguyễn 😀 An", "Tôn Nữ " + "Huyền " * 12, "O'Brien-Ngô", "Ỷ Lan", "123"]

    def house_numbers(self) -> list[str]:
        return ["12", "12A", "3/4", "24", "", "Số 7 hẻm 3", "7😀", "0" * 41, "Tổ 5"]

    def dates(self) -> list[str]:
        t = self.today
        return [t.isoformat(), (t - timedelta(days=2)).isoformat(), "", "2024-02-30", t.strftime("%d/%m/%Y"),
                (t + timedelta(days=400)).isoformat(), "hôm nay"]  # fmt: skip

    def searches(self) -> list[str]:
        return ["nguyen", "Nguyễn", "tran van binh", "", "12", "25216-01", "%", "'", "😀", "ánh tuyết"]

    def sensible(self, label: str) -> str:
        """A value the form should accept for a field with this accessible name."""
        if words.match("form.birth_year", label):
            return self.rng.choice(self.years())
        if words.match("form.surveyed_on", label) or words.match("form.follow_up", label):
            return self.today.isoformat() if "YYYY-MM-DD" in label else self.today.strftime("%d/%m/%Y")
        if words.match("form.house_no", label):
            return self.rng.choice(["12", "12A", "24"])
        return self.rng.choice(self.names())

    def value_for(self, label: str) -> tuple[str, str]:
        """(value, how) for a field with this accessible name; how is "keys" or "fill"."""
        pick, r = self.rng.choice, self.rng.random()
        how = "keys" if self.rng.random() < 0.5 else "fill"
        if words.match("form.birth_year", label):
            return (pick(self.years()) if r < 0.7 else pick(self.implausible_years())), "keys"
        if words.match("form.full_name", label) or words.match("form.head_name", label):
            return (pick(self.names()) if r < 0.7 else pick(self.odd_names())), how
        if words.match("form.house_no", label):
            return pick(self.house_numbers()), how
        if words.match("form.surveyed_on", label) or words.match("form.follow_up", label):
            return pick(self.dates()), how
        if words.match("list.search", label):
            return pick(self.searches()), "keys"
        if words.match("enrol.server", label):
            return (self.server_url if r < 0.6 else pick(["", "http://127.0.0.1:9", "127.0.0.1", self.server_url + "/"])), how
        if words.match("enrol.code", label):
            link = f"{self.server_url}/enrol?code={self.enrol_code}"
            return (self.enrol_code if r < 0.5 else pick([link, "", "ABCD-EFGH", f"  {self.enrol_code.lower()}  "])), how
        everything = self.names() + self.odd_names() + self.years() + self.implausible_years() + self.dates()
        return pick(everything), how


@dataclass
class FormOracle:
    """What the monkey knows the open household form shows, from what it typed there itself.

    Forgotten whenever it cannot be sure: the form left, reloaded, another household, consent
    changed (names may be cleared), a member count change it did not cause."""

    code: str | None = None
    head: str | None = None
    house: str | None = None
    members: dict[int, dict[str, str]] = field(default_factory=dict)
    count: int | None = None
    pending_remove: int | None = None
    pending_add: bool = False

    def reset(self, code: str | None = None) -> None:
        self.code, self.head, self.house, self.members, self.count = code, None, None, {}, None
        self.pending_remove, self.pending_add = None, False

    def typed(self, label: str, shown: str) -> None:
        if words.match("form.head_name", label):
            self.head = shown
            self.members.get(1, {}).pop("full_name", None)  # the app may name member 1 after the head
        elif words.match("form.house_no", label):
            self.house = shown
        else:
            numbered = words.member_number(label)
            if numbered and numbered[0] in ("form.full_name", "form.birth_year"):
                self.members.setdefault(numbered[1], {})[numbered[0].removeprefix("form.")] = shown

    def tapped(self, control: Control) -> None:
        numbered = words.member_number(control.name)
        if numbered and numbered[0] == "form.remove_member":
            self.pending_remove = numbered[1]
        elif words.match("form.add_member", control.name):
            self.pending_add = True
        elif words.match("form.consent", control.name):
            self.head = None
            for member in self.members.values():
                member.pop("full_name", None)

    def counted(self, count: int) -> None:
        """The number of member cards now on screen: apply a removal the monkey asked for, else forget."""
        if self.count is not None and count != self.count:
            if count == self.count - 1 and self.pending_remove is not None:
                gone = self.pending_remove
                self.members = {(n if n < gone else n - 1): v for n, v in self.members.items() if n != gone}
            elif count == self.count + 1 and self.pending_add:
                pass
            else:
                self.members = {}
            self.pending_remove, self.pending_add = None, False
        self.count = count


@dataclass
class FormView:
    """The household form as the semantics tree shows it: member cards and each check's chosen answer."""

    count: int
    checks: dict[int, dict[str, str | None]]


def read_form(found: list[Control]) -> FormView | None:
    """Member cards and chosen answers, attributed by document order: an answer belongs to the member
    whose numbered control («Họ tên thành viên 2», «Đủ 4 — thành viên 2») came last before it, and to
    the check whose set of answers its run of buttons completes (or whose name it carries)."""
    if not any(words.match("form.head_name", c.name) or words.member_number(c.name) for c in found):
        return None
    count, member, run = 0, None, []
    checks: dict[int, dict[str, str | None]] = {}
    sets = words.answer_sets()
    for c in found:
        numbered = words.member_number(c.name)
        if numbered:
            member, run = numbered[1], []
            count = max(count, member)
            continue
        meanings = words.answer_of(c.name) if c.role != "textbox" else []
        if not meanings or member is None:
            run = []
            continue
        if len(meanings) == 1 and any(label in c.name for label in words.check_names()):
            check, value = meanings[0]
            if c.is_on:
                checks.setdefault(member, {})[check] = value
            continue
        run.append(c)
        for start in range(len(run)):
            names = frozenset(r.name for r in run[start:])
            # English says "Yes / No / Unknown" for two checks: the checks come in their order in a card.
            done = checks.get(member, {})
            last = max((ORDER.index(k) for k in done), default=-1)
            candidates = [k for k in ORDER if any(names == sets[f"{k}/{lang}"] for lang in LANGUAGES)]
            later = [k for k in candidates if ORDER.index(k) > last]
            if candidates and len(names) == len(run) - start:
                if later:
                    on = [r for r in run[start:] if r.is_on]
                    value = words.answers()[later[0]][on[0].name] if len(on) == 1 else None
                    checks.setdefault(member, {})[later[0]] = value
                run = []
                break
    return FormView(count=count, checks=checks)


@dataclass
class Step:
    do: str
    detail: str
    data: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.do}: {self.detail}"


class Monkey:
    """One seeded sequence on one page; `run()` raises MonkeyFailure when an invariant breaks."""

    def __init__(self, page, app: LoggedApp, *, seed: int, steps: int, start: str, values: Values, shots: Path):
        self.page, self.app, self.seed, self.steps, self.start = page, app, seed, steps, start
        self.values, self.shots = values, shots
        self.rng = values.rng
        self.history: deque[Step] = deque(maxlen=15)
        self.all_steps: list[Step] = []
        self.log_start = app.size()
        self.form = FormOracle()
        self.saves_checked = 0
        self.warnings: list[str] = []
        self.counts: dict[str, int] = {}
        self.seconds = {"act": 0.0, "check": 0.0}
        self.slow: list[tuple[float, int, str]] = []

    # ----- the run -------------------------------------------------------------------------

    def run(self) -> None:
        try:
            self._run()
        except MonkeyFailure:
            raise
        except Exception as error:  # noqa: BLE001 — e.g. a page that never boots again: reported like the rest
            self.fail(f"{type(error).__name__}: {str(error)[:1500]}")

    def _run(self) -> None:
        self._record(Step("open", self.start))
        self.page.goto(self.start)
        enable(self.page)
        self.check()
        for number in range(1, self.steps + 1):
            self.number = number
            started = time.perf_counter()
            self.act()
            acted = time.perf_counter()
            self.check()
            self.seconds["act"] += acted - started
            self.seconds["check"] += time.perf_counter() - acted
            self.slow.append((time.perf_counter() - started, number, str(self.all_steps[-1]) if self.all_steps else ""))
        self.probe()
        self.check()

    def act(self) -> None:
        found = controls(self.page)
        reachable = [c for c in visible(found, width=WIDTH, height=HEIGHT) if not c.disabled and not _destructive(c)]
        boxes = [c for c in reachable if c.role == "textbox"]
        years = [c for c in boxes if words.match("form.birth_year", c.name)]
        tabs = [c for c in reachable if c.role == "tab" and c.selected != "true"]
        taps = [c for c in reachable if c.role not in ("textbox", "tab")]
        favoured = [c for c in taps if _favoured(c.name)]
        invalid = [c for c in found if c.role == "textbox" and c.flagged and not c.disabled]
        form = read_form(found) is not None
        # On the form (where the bugs are) the monkey mostly stays and works; elsewhere it wanders.
        choices = [
            (25 if form else 35, "tap", bool(taps)),
            (15 if form else 10, "tap_favoured", bool(favoured)),
            (20 if form else 15, "type", bool(boxes)),
            (12, "years", bool(years)),
            (14 if form else 10, "wheel", True),
            (2 if form else 8, "tab", bool(tabs)),
            (8, "save", form),
            (6, "fix", form and bool(invalid)),
            (1 if form else 2, "back", True),
            (1 if form else 2, "reload", True),
        ]
        kind = self._weighted([(w, k) for w, k, ok in choices if ok])
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if kind == "tap":
            self.tap(self.rng.choice(taps))
        elif kind == "tap_favoured":
            self.tap(self.rng.choice(favoured))
        elif kind == "type":
            box = self.rng.choice(boxes)
            text, how = self.values.value_for(box.name)
            self.type(box, [text], how)
        elif kind == "years":
            self.type(self.rng.choice(years), self.values.crossing(), "keys")
        elif kind == "wheel":
            self.wheel(self.rng.choice([-1, 1, 1, 1]) * self.rng.choice([150, 300, 500, 800]))
        elif kind == "tab":
            self.switch_tab(self.rng.choice(tabs))
        elif kind == "save":
            self.reach(lambda c: bool(words.match("form.save", c.name)), self.tap)
        elif kind == "fix":
            name = self.rng.choice(invalid).name
            self.reach(lambda c: c.name == name and c.role == "textbox", self.fix)
        elif kind == "back":
            self.back()
        else:
            self.reload()

    # ----- actions -------------------------------------------------------------------------

    def tap(self, control: Control, *, settle: int = SETTLE_MS) -> None:
        self._record(Step("tap", control.describe(), {"role": control.role, "name": control.name}))
        self.form.tapped(control)
        x, y = control.centre
        self.page.mouse.click(x, y)
        self.page.wait_for_timeout(settle)
        if words.match("form.save", control.name):
            self.after_save()

    def type(self, box: Control, texts: list[str], how: str) -> None:
        self._record(Step("type", f"«{box.name}» ← {' → '.join(repr(t) for t in texts)} ({how})",
                          {"name": box.name, "texts": texts, "how": how}))  # fmt: skip
        x, y = box.centre
        self.page.mouse.click(x, y)
        self.page.wait_for_timeout(120)
        keyboard = self.page.keyboard
        for text in texts:
            keyboard.press("Control+a")
            if not text:
                keyboard.press("Backspace")
            elif how == "keys":
                keyboard.type(text, delay=50)
            else:
                keyboard.insert_text(text)
            self.page.wait_for_timeout(150)
        focused = [c for c in controls(self.page, ("textbox",)) if c.focused]
        if not focused:
            self._warn(f"focus left «{box.name}» while typing {texts!r}")
            return
        if focused[0].name != box.name:
            self._warn(f"focus moved from «{box.name}» to «{focused[0].name}» while typing {texts!r}")
            return
        shown = focused[0].value or ""
        if shown != texts[-1]:
            self._warn(f"«{box.name}» shows {shown!r} after typing {texts[-1]!r}")
        self.form.typed(box.name, shown)

    def wheel(self, dy: int) -> None:
        self._record(Step("wheel", f"{dy:+d} px", {"dy": dy}))
        self.page.mouse.move(WIDTH / 2, HEIGHT * 0.45)
        self.page.mouse.wheel(0, dy)
        self.page.wait_for_timeout(SETTLE_MS)

    def switch_tab(self, tab: Control) -> None:
        """A tab tap must change the screen within a few seconds (the screen answers)."""
        before = _fingerprint(self.page)
        self.tap(tab, settle=100)
        self._answers(before, f"tab «{tab.name}»")

    def reach(self, wanted, then) -> None:
        """Wheel towards the first control `wanted` accepts until a thumb reaches it, then `then(it)`."""
        for _ in range(12):
            found = controls(self.page)
            targets = [c for c in found if wanted(c)]
            if not targets:
                return
            bottom = min((c.y for c in found if c.role == "tab"), default=HEIGHT)
            target = targets[0]
            if target.y >= 0 and target.y + target.height <= bottom:
                then(target)
                return
            self.wheel(max(-800, min(800, round(target.y - bottom / 2))))

    def fix(self, box: Control) -> None:
        """What a person does about a field marked wrong: type something sensible into it."""
        text = self.values.sensible(box.name)
        self.type(box, [text], "keys")

    def back(self) -> None:
        self._record(Step("back", "browser back"))
        self.page.go_back(wait_until="commit", timeout=10_000)
        self.page.wait_for_timeout(400)
        self._recover()

    def reload(self) -> None:
        self._record(Step("reload", "reload the page"))
        self.page.reload(wait_until="commit")
        enable(self.page)
        self.page.wait_for_timeout(200)

    def probe(self) -> None:
        """At the end: a tab (or, on a screen without tabs, the first button) still reacts."""
        found = visible(controls(self.page), width=WIDTH, height=HEIGHT)
        tabs = [c for c in found if c.role == "tab" and c.selected != "true"]
        if tabs:
            self.switch_tab(tabs[0])

    # ----- invariants ----------------------------------------------------------------------

    def check(self) -> None:
        deadline = time.monotonic() + ANSWER_S
        while True:
            snap = screen(self.page)
            if snap["semantics"] > 0 and not snap["loading"]:
                break
            if time.monotonic() > deadline:
                self.fail("the screen does not answer: no semantics tree after 5 s")
            if self.page.locator("flt-semantics-placeholder").count():
                self.page.locator("flt-semantics-placeholder").dispatch_event("click")
            self.page.wait_for_timeout(200)
        if any(CRASH in t for t in snap["texts"]) or CRASH in snap["body"]:
            self.page.wait_for_timeout(300)  # let the traceback reach the log
            detail = self.app.problems(self.log_start) or _crash_text(snap)
            self.fail(f"«{CRASH}» on screen\n{detail}")
        problem = self.app.problems(self.log_start)
        if problem:
            self.fail(f"exception in the app's log\n{problem}")
        if not self.app.alive():
            self.fail("the app process died")
        self._follow_form(snap)

    def _follow_form(self, snap: dict) -> None:
        code = next((m.group("code") for t in snap["texts"] if (m := words.search("form.where", t))), None)
        view = read_form(controls(self.page)) if code else None
        if view is None:
            self.form.reset()
            return
        if code != self.form.code:
            self.form.reset(code)
        self.form.counted(view.count)

    def after_save(self) -> None:
        """After a tap on Save: once "Đã lưu" shows, the stored household equals what the screen showed."""
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:
            snap = screen(self.page)
            if any(t.startswith(saved) for t in snap["texts"] for saved in words.texts("form.saved")):
                break
            if any(CRASH in t or words.search("form.errors", t) or _says("form.errors_bar", t) for t in snap["texts"]):
                return  # refused (check() reports a crash)
            self.page.wait_for_timeout(100)
        else:
            return  # not saved: nothing to compare
        code = next((m.group("code") for t in snap["texts"] if (m := words.search("form.where", t))), None)
        view = read_form(controls(self.page))
        stored = stored_household(self.app.db, label_code=code)
        if stored is None or view is None:
            self.fail(f"«Đã lưu» shown but household {code} is not in the store")
        self.compare(stored, view)
        self.saves_checked += 1

    def compare(self, stored: dict, view: FormView) -> None:
        oracle, problems = self.form, []
        if oracle.head is not None and stored["head_name"] != oracle.head.strip():
            problems.append(f"head name: stored {stored['head_name']!r}, typed {oracle.head!r}")
        if oracle.house is not None and stored["house_no"] != oracle.house.strip():
            problems.append(f"house number: stored {stored['house_no']!r}, typed {oracle.house!r}")
        members = stored["members"]
        if stored["visit_status"] == "surveyed":
            if len(members) != view.count:
                problems.append(f"member count: stored {len(members)}, the screen shows {view.count}")
            for n, typed in sorted(oracle.members.items()):
                if n > len(members):
                    continue
                m = members[n - 1]
                if "full_name" in typed and m["full_name"] != typed["full_name"].strip():
                    problems.append(f"member {n} name: stored {m['full_name']!r}, typed {typed['full_name']!r}")
                if "birth_year" in typed and str(m["birth_year"]) != typed["birth_year"].strip():
                    problems.append(f"member {n} birth year: stored {m['birth_year']!r}, typed {typed['birth_year']!r}")
            for n, checks in sorted(view.checks.items()):
                if n > len(members):
                    continue
                for check, value in checks.items():
                    if value is not None and members[n - 1][check] != value:
                        problems.append(f"member {n} {check}: stored {members[n - 1][check]!r}, the screen shows {value!r}")
        if problems:
            self.fail("the saved household differs from the screen:\n  " + "\n  ".join(problems))

    # ----- helpers -------------------------------------------------------------------------

    def _answers(self, before: str, what: str) -> None:
        deadline = time.monotonic() + ANSWER_S
        while time.monotonic() < deadline:
            if _fingerprint(self.page) != before:
                self.page.wait_for_timeout(150)
                return
            self.page.wait_for_timeout(100)
        if any(CRASH in t for t in screen(self.page)["texts"]):
            return  # check() reports the crash itself
        self.fail(f"the screen does not answer: {what} changed nothing in {ANSWER_S:.0f} s")

    def _recover(self) -> None:
        """Back past the app's first page leaves it: open the app again, as a person would."""
        base = self.start.split("/", 3)
        base = "/".join(base[:3])
        if not self.page.url.startswith(base):
            self._record(Step("open", f"{base}/ (back left the app)"))
            self.page.goto(base + "/")
            enable(self.page)
        elif self.page.locator("flt-semantics-placeholder").count() and not screen(self.page)["semantics"]:
            enable(self.page)

    def _record(self, step: Step) -> None:
        self.history.append(step)
        self.all_steps.append(step)

    def _warn(self, text: str) -> None:
        self.warnings.append(f"step {getattr(self, 'number', 0)}: {text}")

    def _weighted(self, options: list[tuple[int, str]]) -> str:
        total = sum(w for w, _ in options)
        r = self.rng.uniform(0, total)
        for w, k in options:
            r -= w
            if r <= 0:
                return k
        return options[-1][1]

    def fail(self, problem: str) -> None:
        self.shots.mkdir(parents=True, exist_ok=True)
        shot = self.shots / f"monkey-seed-{self.seed}.png"
        try:
            self.page.screenshot(path=shot)
        except Exception:  # noqa: BLE001 — the report matters more than the picture
            pass
        (self.shots / f"monkey-seed-{self.seed}.json").write_text(
            json.dumps([{"do": s.do, "detail": s.detail, **s.data} for s in self.all_steps], ensure_ascii=False, indent=1),
            encoding="utf-8",
        )
        first = len(self.all_steps) - len(self.history)  # step 0 opens the app
        last = "\n".join(f"  {i:>3}. {s}" for i, s in enumerate(self.history, start=first))
        raise MonkeyFailure(
            f"monkey seed {self.seed}, step {getattr(self, 'number', 0)} of {self.steps}: {problem}\n"
            f"last actions:\n{last}\n"
            f"replay: NTM_MONKEY_SEED={self.seed} .venv/bin/python -m pytest tests/e2e/test_monkey.py -q\n"
            f"screenshot: {shot}"
        )


def _destructive(control: Control) -> bool:
    name = control.name.lower()
    if any(w in name for w in DESTRUCTIVE_WORDS):
        return True
    return any(words.match(key, control.name) for key in DESTRUCTIVE)


def _favoured(name: str) -> bool:
    """What the form's bugs hide behind: adding and removing members, "Đủ 4", answers, consent."""
    numbered = words.member_number(name)
    return bool(
        (numbered and numbered[0] in ("form.all_covered", "form.remove_member"))
        or words.match("form.add_member", name)
        or words.match("form.consent", name)
        or words.match("home.add", name)
        or words.answer_of(name)
    )


def _says(key: str, text: str) -> bool:
    return words.search(key, text) is not None


def _fingerprint(page) -> str:
    found = controls(page)
    return "|".join(f"{c.role}:{c.name}:{c.is_on}:{round(c.y)}" for c in found) + f"@{page.url}"


def _crash_text(snap: dict) -> str:
    return "\n".join(t for t in snap["texts"] if len(t) > 20)[:3000]
