"""Household list: search (with a clear button), filters by visit and by state, the four checks and the
state of each household at a glance."""

from __future__ import annotations

import flet as ft

from ntm_field.domain.codes import Check
from ntm_field.store import HouseholdSummary
from ntm_field.ui.context import AppContext
from ntm_field.ui.models.households import Filter, NewDraft, State, route, states
from ntm_field.ui.views.common import TOUCH, navigation, sync_chip, user_input

# Each state in words, with an icon and a colour of at least 4.5:1 on white (WCAG AA) for the sun.
STATE_LOOK: dict[State, tuple[str, str]] = {
    State.DRAFT: (ft.Icons.EDIT_NOTE, "#0D47A1"),
    State.PENDING: (ft.Icons.CLOUD_UPLOAD_OUTLINED, "#8A4B00"),
    State.SYNCED: (ft.Icons.CLOUD_DONE_OUTLINED, "#1B5E20"),
    State.REJECTED: (ft.Icons.ERROR_OUTLINE, "#B3261E"),
    State.CONFLICT: (ft.Icons.CALL_SPLIT, "#6A1B9A"),
}


def build(ctx: AppContext) -> ft.View:
    t, model = ctx.i18n.t, ctx.households
    rows = ft.Column(spacing=4)

    def redraw() -> None:
        drafts = [_new_draft(ctx, draft) for draft in model.new_drafts]
        rows.controls = drafts + [_row(ctx, row) for row in model.rows] if not model.empty else [ft.Text(t("list.empty"))]

    def search(text: str) -> None:
        model.set_query(text)
        redraw()
        rows.update()

    def clear(_) -> None:
        model.clear_query()
        box.value = model.query
        redraw()
        box.update()
        rows.update()

    def choose(value: str) -> None:
        model.set_filter(value)
        redraw()
        _mark(filters, model.filter.value)
        rows.update()

    def choose_state(value: str) -> None:
        model.set_state(value)
        redraw()
        _mark(state_filters, model.state.value)
        rows.update()

    model.refresh()
    redraw()
    # An icon button's tooltip is not read as its name: the Semantics node stands for it (named, a button,
    # tapped by a screen reader or a test); a finger's tap reaches the icon button itself.
    clear_button = ft.Semantics(label=t("list.clear"), button=True, exclude_semantics=True, on_tap=clear,
                                content=ft.IconButton(icon=ft.Icons.CLOSE, tooltip=t("list.clear"), on_click=clear,
                                                      width=TOUCH, height=TOUCH))  # fmt: skip
    box = ft.TextField(label=t("list.search"), value=model.query, prefix_icon=ft.Icons.SEARCH, suffix_icon=clear_button,
                       on_change=user_input(search), expand=True)  # fmt: skip
    filters = _chips([(f.value, t(f"list.filter.{f.value}"), None) for f in Filter], model.filter.value, choose)
    state_filters = _chips([(s.value, t(f"list.state.{s.value}"), STATE_LOOK.get(s, (None,))[0]) for s in State],
                           model.state.value, choose_state)  # fmt: skip
    return ft.View(
        route="/households",
        padding=12,
        scroll=ft.ScrollMode.AUTO,
        navigation_bar=navigation(ctx, "/households"),
        controls=[
            sync_chip(ctx),
            ft.Row([box]),  # the whole width: the label fits on one line at 360 px
            filters,
            state_filters,
            rows,
        ],
    )


def _chips(choices: list[tuple[str, str, str | None]], chosen: str, pick) -> ft.Row:
    """Filter chips, one chosen, 48 px tall, in a row that scrolls sideways on a narrow phone."""
    return ft.Row(
        [ft.Chip(label=ft.Text(label, size=13), data=value, selected=value == chosen, height=TOUCH, show_checkmark=True,
                 leading=ft.Icon(icon, size=18) if icon else None, on_select=lambda _, v=value: pick(v))
         for value, label, icon in choices],
        spacing=6, scroll=ft.ScrollMode.AUTO,
    )  # fmt: skip


def _mark(chips: ft.Row, chosen: str) -> None:
    """Show the view-model's choice on the chips (a tap on the chosen one must not unselect it)."""
    for chip in chips.controls:
        chip.selected = chip.data == chosen
    chips.update()


def _badge(ctx: AppContext, state: State) -> ft.Control:
    icon, colour = STATE_LOOK[state]
    return ft.Row([ft.Icon(icon, size=18, color=colour),
                   ft.Text(ctx.i18n.t(f"list.state.{state.value}"), color=colour, weight=ft.FontWeight.BOLD, size=13)],
                  spacing=4, tight=True)  # fmt: skip


def _row(ctx: AppContext, row: HouseholdSummary) -> ft.Control:
    t, i18n = ctx.i18n.t, ctx.i18n
    checks = " · ".join(
        t("list.check", short=i18n.check_short(c.value), covered=row.covered[c][0], eligible=row.covered[c][1]) for c in Check
    )
    badges = " · ".join(s for s in (t("list.full") if row.fully_covered else "", i18n.visit_status(row.visit_status)) if s)
    return ft.ListTile(
        title=ft.Text(row.head_name),
        subtitle=ft.Column([
            ft.Text(f"{t('list.row', house_no=row.house_no or '—', members=row.members, code=row.label_code)}\n{checks}\n{badges}"),
            ft.Row([_badge(ctx, state) for state in states(row)], spacing=12, wrap=True),
        ], spacing=2, tight=True),
        on_click=lambda _, to=route(row): ctx.go(to),
        min_height=TOUCH,
    )  # fmt: skip


def _new_draft(ctx: AppContext, draft: NewDraft) -> ft.Control:
    t = ctx.i18n.t
    return ft.ListTile(
        title=ft.Text(draft.head_name or t("home.draft_unnamed")),
        subtitle=ft.Column([
            ft.Text(t("home.draft_where", house_no=draft.house_no or "—", hamlet=draft.hamlet)),
            ft.Row([_badge(ctx, State.DRAFT), ft.Text(t("home.draft_new"), size=13)], spacing=12, wrap=True),
        ], spacing=2, tight=True),
        on_click=lambda _, to=draft.route: ctx.go(to),
        min_height=TOUCH,
    )  # fmt: skip
