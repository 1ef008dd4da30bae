"""Reading Flutter's semantics tree (the accessibility DOM of a Flet web page) as plain data: every
control a person could tap, with its role, accessible name, box and state. Shared by the monkey, the
size/contrast test and the tap-count test; nothing here knows the app's screens."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Roles a person can act on. Flutter gives text fields no role: they are <input>/<textarea> elements.
TAPPABLE_ROLES = ("button", "tab", "checkbox", "radio", "switch", "menuitem", "menuitemcheckbox",
                  "menuitemradio", "option", "link", "slider", "combobox", "textbox")  # fmt: skip

_CONTROLS_JS = """(roles) => {
  const host = document.querySelector('flt-semantics-host');
  if (!host) return null;
  const own = (e) => {
    // The accessible name: aria-label, else the element's own text (not its semantic children's).
    const label = e.getAttribute('aria-label');
    if (label) return label.trim();
    let text = '';
    for (const child of e.childNodes) {
      if (child.nodeType === Node.TEXT_NODE) text += child.textContent;
      else if (child.tagName === 'SPAN') text += child.textContent;
    }
    return text.trim();
  };
  const out = [];
  const nodes = host.querySelectorAll('[role], input, textarea');
  let index = 0;
  for (const e of nodes) {
    const tag = e.tagName.toLowerCase();
    const role = (tag === 'input' || tag === 'textarea') ? 'textbox' : e.getAttribute('role');
    if (!roles.includes(role)) continue;
    const box = e.getBoundingClientRect();
    const parent = e.closest('flt-semantics:not([role])') || e.parentElement;
    out.push({
      index: index++, role, tag, name: own(e),
      x: box.x, y: box.y, width: box.width, height: box.height,
      disabled: e.getAttribute('aria-disabled') === 'true' || e.hasAttribute('disabled'),
      checked: e.getAttribute('aria-checked'), selected: e.getAttribute('aria-selected'),
      current: e.getAttribute('aria-current'), pressed: e.getAttribute('aria-pressed'),
      expanded: e.getAttribute('aria-expanded'), invalid: e.getAttribute('aria-invalid') === 'true',
      focused: document.activeElement === e,
      value: (tag === 'input' || tag === 'textarea') ? e.value : null,
      // A text field's helper, error and counter texts are semantic children of its container.
      note: (tag === 'input' || tag === 'textarea') && e.parentElement
        ? [...e.parentElement.querySelectorAll('flt-semantics')].map(own).filter(Boolean).join('\\n') : '',
      id: e.id || (e.parentElement && e.parentElement.id) || '',
      group: (e.parentElement && e.parentElement.id) || '',
    });
  }
  return out;
}"""

_SCREEN_JS = """() => {
  const host = document.querySelector('flt-semantics-host');
  const texts = [];
  if (host) {
    for (const e of host.querySelectorAll('flt-semantics, input, textarea')) {
      const label = e.getAttribute('aria-label');
      if (label) texts.push(label);
      for (const child of e.childNodes) {
        if (child.nodeType === Node.TEXT_NODE || child.tagName === 'SPAN') {
          const t = child.textContent.trim();
          if (t) texts.push(t);
        }
      }
    }
  }
  return {
    semantics: host ? host.querySelectorAll('flt-semantics').length : 0,
    loading: !!document.querySelector('#loading'),
    texts,
    body: (document.body && document.body.innerText || '').slice(0, 4000),
    url: location.href,
    width: window.innerWidth, height: window.innerHeight,
  };
}"""


_COUNTER = re.compile(r"^\d+\s*/\s*\d+$|Còn lại \d+ ký tự|characters? remaining|\d+ characters? left", re.I)


@dataclass(frozen=True, slots=True)
class Control:
    """One actionable node of the semantics tree, in document order."""

    index: int
    role: str
    tag: str
    name: str
    x: float
    y: float
    width: float
    height: float
    disabled: bool
    checked: str | None
    selected: str | None
    current: str | None
    pressed: str | None
    expanded: str | None
    invalid: bool
    focused: bool
    value: str | None
    note: str
    id: str
    group: str

    @property
    def centre(self) -> tuple[float, float]:
        return self.x + self.width / 2, self.y + self.height / 2

    @property
    def flagged(self) -> bool:
        """A text field marked wrong: aria-invalid, or a message under it (Flutter sets no aria-invalid
        for an error text); the character counter does not count."""
        lines = [line for line in self.note.splitlines() if not _COUNTER.search(line)]
        return self.invalid or bool(lines)

    @property
    def is_on(self) -> bool:
        """Selected, checked, pressed or current: how Flutter marks a chosen answer, tab or box."""
        return "true" in (self.checked, self.selected, self.current, self.pressed)

    def describe(self) -> str:
        name = self.name.splitlines()[0] + (" …" if "\n" in self.name else "")
        return f"{self.role} «{name}» {self.width:.0f}×{self.height:.0f} at ({self.x:.0f}, {self.y:.0f})"


FROZEN_S = 60  # a page whose script does not answer a read within this is frozen (a phone would be too)


class PageFrozen(AssertionError):
    """The page's script did not answer: its main thread is busy for good (the renderer spins)."""


def _read(page, script: str, arg=None):
    """`page.evaluate(script, arg)` with a limit: Playwright's `evaluate` waits for ever on a page whose main
    thread never returns to its event loop (seen once: the monkey's seed 15 stuck until pytest's 480 s
    limit), while `wait_for_function` is bounded by Playwright's own timer."""
    try:
        handle = page.wait_for_function(f"(arg) => ({{value: ({script})(arg)}})", arg=arg, timeout=FROZEN_S * 1000)
    except Exception as error:  # noqa: BLE001 — Playwright's TimeoutError, named in the message
        if "Timeout" in type(error).__name__ or "Timeout" in str(error)[:200]:
            raise PageFrozen(f"the page did not answer a read of its screen within {FROZEN_S} s (frozen)") from None
        raise
    try:
        return handle.json_value()["value"]
    finally:
        handle.dispose()


def controls(page, roles: tuple[str, ...] = TAPPABLE_ROLES) -> list[Control]:
    """Every node of the given roles in the semantics tree (on screen or in the scroll cache)."""
    found = _read(page, _CONTROLS_JS, list(roles))
    return [Control(**c) for c in found or []]


def screen(page) -> dict:
    """A snapshot of the page: node count, whether Flutter is still loading, every text and label."""
    return _read(page, _SCREEN_JS)


def visible(found: list[Control], *, width: float, height: float) -> list[Control]:
    """Controls whose centre is inside the viewport and not under the navigation bar (a finger reaches them)."""
    bars = [c for c in found if c.role == "tab"]
    bottom = min((c.y for c in bars), default=height)
    out = []
    for c in found:
        cx, cy = c.centre
        if c.width < 1 or c.height < 1 or not (0 <= cx <= width):
            continue
        limit = height if c.role == "tab" else bottom
        if 0 <= cy < limit:
            out.append(c)
    return out


def enable(page, timeout: float = 30_000) -> None:
    """After a page load: wait for Flutter's first frame, then switch on the semantics tree."""
    page.wait_for_selector("#loading", state="detached", timeout=60_000)
    page.locator("flt-semantics-placeholder").dispatch_event("click")
    page.wait_for_selector("flt-semantics-host flt-semantics", timeout=timeout)
