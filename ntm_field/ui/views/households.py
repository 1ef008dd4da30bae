"""Household list: search, filters, the four checks at a glance."""

from __future__ import annotations

import flet as ft

from ntm_field.domain.codes import Check
from ntm_field.domain.outbox import ChangeState
from ntm_field.store import HouseholdSummary
from ntm_field.ui.context import AppContext
from ntm_field.ui.models.households import Filter
from ntm_field.ui.views.common import TALL, navigation, sync_chip


def build(ctx: AppContext) -> ft.View:
    t, model = ctx.i18n.t, ctx.households
    rows = ft.Column(spacing=4)

    def redraw() -> None:
        rows.controls = [_row(ctx, row) for row in model.rows] or [ft.Text(t("list.empty"))]

    def search(e) -> None:
        model.set_query(e.control.value)
        redraw()
        rows.update()

    def choose(e) -> None:
        model.set_filter(e.control.selected[0])
        redraw()
        rows.update()

    model.refresh()
    redraw()
    filters = ft.SegmentedButton(
        selected=[model.filter.value],
        show_selected_icon=False,
        style=TALL,
        segments=[ft.Segment(value=f.value, label=ft.Text(t(f"list.filter.{f.value}"), size=12)) for f in Filter],
        on_change=choose,
    )
    return ft.View(
        route="/households",
        padding=12,
        scroll=ft.ScrollMode.AUTO,
        navigation_bar=navigation(ctx, "/households"),
        controls=[
            sync_chip(ctx),
            ft.TextField(label=t("list.search"), value=model.query, prefix_icon=ft.Icons.SEARCH, on_change=search),
            ft.Row([filters], scroll=ft.ScrollMode.AUTO),
            rows,
        ],
    )


def _row(ctx: AppContext, row: HouseholdSummary) -> ft.Control:
    t, i18n = ctx.i18n.t, ctx.i18n
    checks = " · ".join(
        t("list.check", short=i18n.check_short(c.value), covered=row.covered[c][0], eligible=row.covered[c][1]) for c in Check
    )
    state = {ChangeState.PENDING: t("list.pending"), ChangeState.REJECTED: t("list.rejected")}.get(row.sync_state, "")
    badges = " · ".join(s for s in (t("list.full") if row.fully_covered else "", i18n.visit_status(row.visit_status), state) if s)
    return ft.ListTile(
        title=ft.Text(row.head_name),
        subtitle=ft.Text(f"{t('list.row', house_no=row.house_no or '—', members=row.members, code=row.label_code)}\n{checks}\n{badges}"),
        on_click=lambda _: ctx.go(f"/household/{row.id}"),
        min_height=48,
    )
