"""Pieces every screen shares: the navigation bar, the sync chip, a section title."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import flet as ft

from ntm_field.ui.context import AppContext

TOUCH = 48  # px: the smallest touch target in the sun with a thumb

# A chosen answer: unmistakable in the sun. A check mark plus a dark fill with white text (8.6:1 with the
# text, and with the white of an answer not chosen; WCAG 2.2 asks 4.5:1 and 3:1), 48 px tall.
SELECTED_FILL = "#0D47A1"


# What the user changes and the view-model shows, both ways, without one undoing the other.
#
# The phone sends each keystroke (or choice) as two messages: the control's new value, applied to the
# app's copy of the control at once, and an event, handled later in its turn. A screen refresh that
# runs in between (another tap's handler, on a busy phone) sees the view-model still holding the old
# value while the control already holds the new one. Writing the old value back then loses what the
# user typed, and an event handler reading `e.control.value` afterwards reads the old value too (the
# monkey's seed 5 saved 2010 after 2008 was typed). So:
# - a handler takes the user's value from the event itself (`user_input`), and skips an event that a
#   newer keystroke has already overtaken (that keystroke's own event follows with the newer value);
# - a refresh writes a control's value only when the view-model's value changed since that control
#   last showed it (`show_value`), never merely because the control differs: it may hold newer input.

_SHOWN: weakref.WeakKeyDictionary[ft.Control, object] = weakref.WeakKeyDictionary()  # control → view-model value
_NOTHING = object()


def user_input(handler: Callable[[Any], object]) -> Callable[[ft.ControlEvent], object]:
    """An `on_change`/`on_select` handler for a text field, dropdown or checkbox: `handler(value)` gets the
    value the event carries. Before it runs, the control forgets what it last showed, so the refresh the
    change causes writes the view-model's value back only if the view-model did not take the input as is
    (a refused or normalised value)."""

    def changed(e: ft.ControlEvent) -> object:
        value = e.data
        if isinstance(e.control, ft.TextField):
            value = value if isinstance(value, str) else ""
            if (e.control.value or "") != value:
                return None  # overtaken: a newer keystroke's value is here already, and its event follows
        elif e.control.value != value:
            return None
        _SHOWN.pop(e.control, None)
        return handler(value)

    return changed


def show_value(control: ft.Control, value: object) -> None:
    """Show the view-model's value in a control the user also changes (see above): written only when it
    differs from what this control last showed of the view-model, and from what the control holds."""
    if _SHOWN.get(control, _NOTHING) == value:
        return  # the view-model did not change: the control may hold input whose event is still coming
    _SHOWN[control] = value
    current = control.value
    if isinstance(control, ft.TextField):
        current = current or ""
    if current != value:
        control.value = value


def navigation(ctx: AppContext, route: str) -> ft.NavigationBar:
    t = ctx.i18n.t
    tabs = [("/", ft.Icons.HOME, "nav.home"), ("/households", ft.Icons.LIST, "nav.households")]
    if ctx.team.is_leader:
        tabs.append(("/team", ft.Icons.GROUPS, "nav.team"))
    tabs += [("/sync", ft.Icons.SYNC, "nav.sync"), ("/settings", ft.Icons.SETTINGS, "nav.settings")]
    routes = [r for r, _, _ in tabs]
    selected = max((i for i, r in enumerate(routes) if route == r or (r != "/" and route.startswith(r))), default=0)
    return ft.NavigationBar(
        selected_index=selected,
        destinations=[ft.NavigationBarDestination(icon=icon, label=t(key)) for _, icon, key in tabs],
        on_change=lambda e: ctx.go(routes[int(e.control.selected_index)]),
    )


def sync_chip(ctx: AppContext) -> ft.Control:
    return ft.TextButton(ctx.sync.chip(), icon=ft.Icons.CLOUD_SYNC, height=TOUCH, on_click=lambda _: ctx.go("/sync"))


def title(text: str) -> ft.Text:
    return ft.Text(text, size=18, weight=ft.FontWeight.BOLD)


def follow_ups(ctx: AppContext) -> list[ft.Control]:
    """The follow-up visits of the device's hamlets, by due date (dd/mm/yyyy), each opening its household
    (`ctx.home.refresh()` has read them); a visit due before today by the app's clock is marked "Quá hạn"."""
    t, today = ctx.i18n.t, ctx.clock().date()
    buttons = []
    for f in ctx.home.follow_ups:
        late = f.overdue(today)
        text = t("home.followup_overdue" if late else "home.followup_row", due=f.due_shown, name=f.head_name, code=f.label_code)
        buttons.append(ft.TextButton(
            content=ft.Text(text, weight=ft.FontWeight.BOLD if late else None),
            icon=ft.Icons.WARNING_AMBER_ROUNDED if late else ft.Icons.EVENT,
            # 48 px at least: padding, not a fixed height, so a name that wraps to two lines is not cut
            style=ft.ButtonStyle(padding=ft.Padding.symmetric(vertical=14, horizontal=12), alignment=ft.Alignment.CENTER_LEFT,
                                 color=ft.Colors.ERROR if late else None, icon_color=ft.Colors.ERROR if late else None),
            on_click=lambda _, hid=f.household_id: ctx.go(f"/household/{hid}"),
        ))  # fmt: skip
    return buttons or [ft.Text(t("home.followups_none"))]
