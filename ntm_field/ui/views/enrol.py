"""Enrol screen."""

from __future__ import annotations

import asyncio

import flet as ft

from ntm_field.ui.context import AppContext
from ntm_field.ui.views.common import title, user_input


def build(ctx: AppContext) -> ft.View:
    t, model = ctx.i18n.t, ctx.enrol
    error = ft.Text(model.error or "", color=ft.Colors.ERROR, visible=bool(model.error))

    async def submit(_):
        granted = await asyncio.to_thread(model.submit)
        if granted is not None:
            ctx.service.sync_now()
            ctx.go("/")
        else:
            error.value, error.visible = model.error or "", bool(model.error)
            error.update()

    return ft.View(
        route="/enrol",
        padding=16,
        scroll=ft.ScrollMode.AUTO,
        controls=[
            title(t("enrol.title")),
            ft.Text(t("enrol.intro")),
            ft.TextField(label=t("enrol.server"), value=model.server, keyboard_type=ft.KeyboardType.URL,
                         on_change=user_input(model.set_server)),  # fmt: skip
            ft.TextField(label=t("enrol.code"), value=model.code, on_change=user_input(model.set_code)),
            ft.TextField(label=t("enrol.name"), on_change=user_input(model.set_device_name)),
            ft.FilledButton(t("enrol.submit"), on_click=submit, height=48),
            error,
        ],
    )
