"""A thumb on a 360×640 screen that counts what it does: taps on controls (what the issue's tap budget
counts), taps that only focus a text field before typing, and swipes (mouse-wheel scrolls) to bring a
control within reach. Controls are found in the semantics tree by role and accessible name."""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.e2e.semantics import Control, controls

SETTLE_MS = 400  # a tap may reshape the form: wait for the new layout, as a person would


@dataclass
class TapCounter:
    page: object
    width: int = 360
    height: int = 640
    taps: int = 0
    focuses: int = 0
    swipes: int = 0
    log: list[str] = field(default_factory=list)

    def find(self, role: str, name: str, timeout: float = 10_000) -> Control:
        """The first control of this role and exact name, wheeled within reach of a thumb."""
        waited, swiped = 0, 0
        while True:
            if self.page.get_by_text("Error running app").count():
                raise AssertionError(f"«Error running app» while looking for {role} «{name}»")
            found = controls(self.page)
            target = next((c for c in found if c.role == role and c.name == name), None)
            if target is not None:
                bottom = min((c.y for c in found if c.role == "tab"), default=self.height)
                if target.role == "tab" or (target.y >= 0 and target.y + target.height <= bottom):
                    return target
                if swiped < 12:
                    swiped += 1
                    self.swipe(round(target.y + target.height / 2 - bottom / 2))
                    continue
                raise AssertionError(f"{role} «{name}» stays out of reach ({target.describe()})")
            if waited >= timeout:
                names = sorted({f"{c.role} «{c.name}»" for c in found})
                raise AssertionError(f"no {role} «{name}» on screen; there are: {names}")
            self.page.wait_for_timeout(200)
            waited += 200

    def offered(self, name: str, role: str = "button", wait_ms: int = 600) -> bool:
        """Whether the screen offers this control at all (anywhere in the tree, on screen or not)."""
        self.page.wait_for_timeout(wait_ms)
        return any(c.role == role and c.name == name for c in controls(self.page))

    def swipe(self, dy: int) -> None:
        self.swipes += 1
        self.page.mouse.move(self.width / 2, self.height * 0.4)
        self.page.mouse.wheel(0, dy)
        self.page.wait_for_timeout(300)

    def tap(self, name: str, role: str = "button") -> None:
        target = self.find(role, name)
        self.page.mouse.click(*target.centre)
        self.taps += 1
        self.log.append(f"tap {self.taps}: {role} «{name}»")
        self.page.wait_for_timeout(SETTLE_MS)

    def type(self, label: str, text: str, delay: int = 60) -> None:
        """Focus a text field (not counted as a tap) and type key by key."""
        target = self.find("textbox", label)
        assert not target.disabled, f"«{label}» is disabled"
        self.page.mouse.click(*target.centre)
        self.focuses += 1
        self.page.wait_for_timeout(150)
        self.page.keyboard.press("Control+a")
        self.page.keyboard.type(text, delay=delay)
        self.log.append(f"type «{label}» ← {text!r}")
        self.page.wait_for_timeout(300)

    def figure(self) -> str:
        return (f"{self.taps} taps besides typing (and {self.focuses} taps that focus a field to type in it, "
                f"{self.swipes} swipes)")  # fmt: skip
