"""Home screen: hamlets with coverage, the sync chip, the follow-ups due."""

from __future__ import annotations

import flet as ft

from ntm_field.domain.codes import Check
from ntm_field.ui.context import AppContext
from ntm_field.ui.views.common import follow_ups, navigation, sync_chip, title


def build(ctx: AppContext) -> ft.View:
    t, i18n, model = ctx.i18n.t, ctx.i18n, ctx.home
    model.refresh()
    cards = []
    for card in model.cards:
        surveyed = (
            t("home.surveyed", surveyed=card.surveyed, expected=card.expected)
            if card.expected is not None
            else t("home.surveyed_unknown", surveyed=card.surveyed)
        )
        rates = [
            ft.Text(
                t("home.rate", label=i18n.check(check.value), covered=card.figures[check][0],
                  eligible=card.figures[check][1], rate=i18n.percent(card.rate(check)))
                if card.figures[check][1] else t("home.rate_none", label=i18n.check(check.value)),
                size=13,
            )  # fmt: skip
            for check in Check
        ]
        cards.append(
            ft.Card(
                content=ft.Container(
                    padding=12,
                    content=ft.Column([
                        ft.Text(f"{card.name} ({card.code})", weight=ft.FontWeight.BOLD),
                        ft.Text(surveyed),
                        *rates,
                        ft.FilledButton(t("home.add"), icon=ft.Icons.ADD, height=48,
                                        on_click=lambda _, code=card.code: ctx.go(f"/households/new?hamlet={code}")),
                    ]),  # fmt: skip
                )
            )
        )
    return ft.View(
        route="/",
        padding=12,
        scroll=ft.ScrollMode.AUTO,
        navigation_bar=navigation(ctx, "/"),
        controls=[
            ft.Row([title(t("home.title")), sync_chip(ctx)], wrap=True),
            ft.Text(ctx.sync.last_success(), size=12),
            *(cards or [ft.Text(t("home.no_hamlets"))]),
            title(t("home.followups")),
            *follow_ups(ctx),
        ],
    )
