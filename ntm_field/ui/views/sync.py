"""Sync screen: progress, last results, the needs-fix list."""

from __future__ import annotations

import flet as ft

from ntm_field.ui.context import AppContext
from ntm_field.ui.views.common import navigation, title


def build(ctx: AppContext) -> ft.View:
    t, model = ctx.i18n.t, ctx.sync
    progress = model.progress()
    fixes = [
        ft.Column([
            ft.Text(row.text, size=13),
            ft.TextButton(t("sync.open"), icon=ft.Icons.EDIT, on_click=lambda _, h=row.household_id: ctx.go(f"/household/{h}")),
        ], spacing=0)
        for row in model.needs_fix()
    ] or [ft.Text(t("sync.needs_fix_none"))]  # fmt: skip
    return ft.View(
        route="/sync",
        padding=12,
        scroll=ft.ScrollMode.AUTO,
        navigation_bar=navigation(ctx, "/sync"),
        controls=[
            title(t("sync.title")),
            ft.Text(model.chip(), weight=ft.FontWeight.BOLD),
            ft.Text(model.last_success()),
            *([ft.ProgressBar(value=progress[1]), ft.Text(progress[0])] if progress else []),
            ft.Row([
                ft.FilledButton(t("sync.now"), icon=ft.Icons.SYNC, height=48, on_click=lambda _: model.sync_now()),
                ft.OutlinedButton(t("sync.cancel"), height=48, on_click=lambda _: model.cancel(), visible=progress is not None),
            ], wrap=True),
            *([ft.Text(model.result())] if model.result() else []),
            title(t("sync.needs_fix")),
            *fixes,
        ],
    )  # fmt: skip
