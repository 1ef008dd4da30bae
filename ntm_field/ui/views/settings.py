"""Settings: language, server and device, the privacy notice, sign out."""

from __future__ import annotations

import flet as ft

from ntm_field.ui.context import AppContext
from ntm_field.ui.views.common import navigation, title


# 48 px segments: the browser on a desktop OS applies Flutter's compact density (-8 px), standard keeps them whole.
LANGUAGE_STYLE = ft.ButtonStyle(padding=ft.Padding.symmetric(vertical=14, horizontal=12), visual_density=ft.VisualDensity.STANDARD)


def build(ctx: AppContext) -> ft.View:
    t, model = ctx.i18n.t, ctx.settings

    def sign_out(confirmed: bool) -> None:
        if model.sign_out(confirmed=confirmed):
            ctx.go("/enrol")
        else:
            ctx.refresh()

    def cancel() -> None:
        model.cancel_sign_out()
        ctx.refresh()

    confirm = [
        ft.Text(t("settings.sign_out_warning", pending=model.unsynced()), color=ft.Colors.ERROR),
        ft.Row([
            ft.FilledButton(t("settings.sign_out_confirm"), height=48, on_click=lambda _: sign_out(True)),
            ft.OutlinedButton(t("settings.sign_out_cancel"), height=48, on_click=lambda _: cancel()),
        ]),
    ] if model.confirming else []  # fmt: skip

    def language(e) -> None:
        model.set_language(e.control.selected[0])
        ctx.refresh()

    return ft.View(
        route="/settings",
        padding=12,
        scroll=ft.ScrollMode.AUTO,
        navigation_bar=navigation(ctx, "/settings"),
        controls=[
            title(t("settings.title")),
            ft.Text(t("settings.language")),
            ft.SegmentedButton(
                selected=[ctx.i18n.lang], show_selected_icon=False, on_change=language,
                style=LANGUAGE_STYLE, segments=[ft.Segment(value="vi", label=ft.Text(t("settings.vi"))), ft.Segment(value="en", label=ft.Text(t("settings.en")))],
            ),
            *[ft.Text(line) for line in model.details()],
            *([ft.Text(device_id, size=12)] if (device_id := model.device_id()) else []),
            title(t("settings.privacy_title")),
            ft.Text(t("settings.privacy"), size=13),
            ft.OutlinedButton(t("settings.sign_out"), icon=ft.Icons.LOGOUT, height=48, on_click=lambda _: sign_out(False)),
            *confirm,
        ],
    )  # fmt: skip
