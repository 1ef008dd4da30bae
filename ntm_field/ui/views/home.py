"""Home screen: the sync chip, the unfinished forms (drafts), hamlets with coverage, the follow-ups due."""

from __future__ import annotations

import flet as ft

from ntm_field.domain.codes import Check
from ntm_field.ui.context import AppContext
from ntm_field.ui.models.home import DraftCard
from ntm_field.ui.views.common import TOUCH, follow_ups, navigation, sync_chip, title


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
            _drafts(ctx),
            *(cards or [ft.Text(t("home.no_hamlets"))]),
            title(t("home.followups")),
            *follow_ups(ctx),
        ],
    )


def _drafts(ctx: AppContext) -> ft.Column:
    """The "Đang nhập dở" section: each draft with "Tiếp tục" and "Bỏ nháp" (asks first); nothing without
    drafts. A discarded draft leaves the section in place (the screen is not rebuilt under the dialog)."""
    section = ft.Column(spacing=8)

    def redraw(*, shown: bool = True) -> None:
        drafts = ctx.home.drafts
        section.controls = [title(ctx.i18n.t("home.drafts")), *(_draft(ctx, d, redraw) for d in drafts)] if drafts else []
        section.visible = bool(drafts)
        if shown:
            section.update()

    redraw(shown=False)
    return section


def _draft(ctx: AppContext, draft: DraftCard, redraw) -> ft.Control:
    t, model = ctx.i18n.t, ctx.home

    def discard(e) -> None:
        model.ask_discard(draft.household_id)
        e.control.page.show_dialog(_confirm_discard(ctx, redraw))

    return ft.Card(
        content=ft.Container(
            padding=12,
            content=ft.Column([
                ft.Text(draft.head_name or t("home.draft_unnamed"), weight=ft.FontWeight.BOLD),
                ft.Text(t("home.draft_where", house_no=draft.house_no or "—", hamlet=draft.hamlet)),
                ft.Text(t("home.draft_when", when=draft.saved_at) + " · " + t("home.draft_new" if draft.is_new else "home.draft_edit"),
                        size=13),
                ft.Row([
                    ft.FilledButton(t("home.draft_resume"), icon=ft.Icons.EDIT, height=TOUCH,
                                    on_click=lambda _: ctx.go(draft.route)),
                    ft.OutlinedButton(t("home.draft_discard"), icon=ft.Icons.DELETE_OUTLINE, height=TOUCH, on_click=discard),
                ], wrap=True),
            ], spacing=4),
        )
    )  # fmt: skip


def _confirm_discard(ctx: AppContext, redraw) -> ft.AlertDialog:
    t, model = ctx.i18n.t, ctx.home
    asked = model.discarding
    name = (asked.head_name if asked else "") or t("home.draft_unnamed")

    def confirm(e) -> None:
        model.confirm_discard()
        e.control.page.pop_dialog()
        redraw()

    def cancel(e) -> None:
        model.cancel_discard()
        e.control.page.pop_dialog()

    return ft.AlertDialog(
        modal=True,
        title=ft.Text(t("home.discard_title")),
        content=ft.Text(t("home.discard_body", name=name)),
        actions=[
            ft.TextButton(t("home.discard_cancel"), height=TOUCH, on_click=cancel),
            ft.FilledButton(t("home.discard_confirm"), icon=ft.Icons.DELETE_OUTLINE, height=TOUCH, on_click=confirm,
                            style=ft.ButtonStyle(bgcolor=ft.Colors.ERROR, color=ft.Colors.ON_ERROR)),
        ],
    )  # fmt: skip
