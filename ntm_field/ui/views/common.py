"""Pieces every screen shares: the navigation bar, the sync chip, a section title."""

from __future__ import annotations

import flet as ft

from ntm_field.ui.context import AppContext

TOUCH = 48  # px: the smallest touch target in the sun with a thumb

# A chosen answer: unmistakable in the sun. A check mark plus a dark fill with white text (8.6:1 with the
# text, and with the white of an answer not chosen; WCAG 2.2 asks 4.5:1 and 3:1), 48 px tall.
SELECTED_FILL = "#0D47A1"


def set_text(field: ft.TextField, value: str) -> None:
    """Show the view-model's text in a field without echoing what the user is typing back into it."""
    if (field.value or "") != value:
        field.value = value


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
