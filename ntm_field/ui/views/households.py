"""Household list: search (with a clear button), filters by visit and by state, the four checks and the
state of each household at a glance."""

from __future__ import annotations

import flet as ft

from ntm_field.domain.codes import Check
from ntm_field.store import HouseholdSummary
from ntm_field.ui.context import AppContext
from ntm_field.ui.models.households import Filter, NewDraft, State, route, states
from ntm_field.ui.views.common import TALL, TOUCH, navigation, sync_chip

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

    def search(e) -> None:
        model.set_query(e.control.value)
        redraw()
        rows.update()

    def clear(_) -> None:
        model.clear_query()
        box.value = model.query
        redraw()
        box.update()
        rows.update()

    def choose(e) -> None:
        model.set_filter(e.control.selected[0])
        redraw()
        rows.update()

    def choose_state(e) -> None:
        model.set_state(e.control.selected[0])
        redraw()
        rows.update()

    model.refresh()
    redraw()
    # A screen reader reads the Semantics label; an icon button's tooltip is not read as its name.
    clear_button = ft.Semantics(label=t("list.clear"), button=True, content=ft.IconButton(
        icon=ft.Icons.CLOSE, tooltip=t("list.clear"), on_click=clear, style=ft.ButtonStyle(padding=12),
    ))  # fmt: skip
    box = ft.TextField(label=t("list.search"), value=model.query, prefix_icon=ft.Icons.SEARCH, suffix=clear_button,
                       on_change=search)  # fmt: skip
    filters = ft.SegmentedButton(
        selected=[model.filter.value],
        show_selected_icon=False,
        style=TALL,
        segments=[ft.Segment(value=f.value, label=ft.Text(t(f"list.filter.{f.value}"), size=12)) for f in Filter],
        on_change=choose,
    )
    state_filters = ft.Semantics(label=t("list.states"), content=ft.SegmentedButton(
        selected=[model.state.value],
        show_selected_icon=False,
        style=TALL,
        segments=[ft.Segment(value=s.value, label=ft.Text(t(f"list.state.{s.value}"), size=12),
                             icon=ft.Icon(STATE_LOOK[s][0], size=18) if s in STATE_LOOK else None) for s in State],
        on_change=choose_state,
    ))  # fmt: skip
    return ft.View(
        route="/households",
        padding=12,
        scroll=ft.ScrollMode.AUTO,
        navigation_bar=navigation(ctx, "/households"),
        controls=[
            sync_chip(ctx),
            box,
            ft.Row([filters], scroll=ft.ScrollMode.AUTO),
            ft.Row([state_filters], scroll=ft.ScrollMode.AUTO),
            rows,
        ],
    )


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
