"""Household form: large segmented buttons per check, "Đủ 4" per member, errors next to the fields."""

from __future__ import annotations

import asyncio

import flet as ft

from ntm_field.domain.codes import ASSISTANCE_LABELS, PRESENCE_LABELS, REASON_LABELS, VISIT_STATUS_LABELS, Check
from ntm_field.ui.context import AppContext
from ntm_field.ui.models.form import NOTICE_VERSION, FormModel
from ntm_field.ui.views.common import TALL, navigation, sync_chip, title


def build(ctx: AppContext, route: str) -> ft.View:
    t, model = ctx.i18n.t, ctx.form
    members = ft.Column(spacing=8)
    status = ft.Text("", size=16, weight=ft.FontWeight.BOLD)
    problem = ft.Text(model.failure or model.server_problem or "", color=ft.Colors.ERROR)
    fields: dict[str, ft.Control] = {}
    shown = {"layout": -1}

    def field(key: str, control: ft.Control) -> ft.Control:
        fields[key] = control
        return control

    def redraw_members() -> None:
        members.controls = [_member(ctx, model, i, field) for i in range(len(model.members))]

    def refresh() -> None:
        if model.layout != shown["layout"]:
            shown["layout"] = model.layout
            redraw_members()
        for key, control in fields.items():
            message = model.errors.get(key)
            if isinstance(control, ft.Dropdown):
                control.error_text = message
            elif hasattr(control, "error"):
                control.error = message
        status.value = t("form.saved") if model.saved else ""
        problem.value = model.failure or model.server_problem or ""
        _update(members, status, problem, *fields.values())

    async def save(_):
        await asyncio.to_thread(model.save)
        refresh()

    redraw_members()
    shown["layout"] = model.layout
    visit = ft.Dropdown(
        label=t("form.visit_status"), value=model.visit_status,
        options=[ft.DropdownOption(key=v, text=ctx.i18n.visit_status(v)) for v in VISIT_STATUS_LABELS],
        on_select=lambda e: model.set_field("visit_status", e.control.value),
    )  # fmt: skip
    view = ft.View(
        route=route,
        padding=12,
        scroll=ft.ScrollMode.AUTO,
        navigation_bar=navigation(ctx, "/households"),
        controls=[
            ft.Row([title(t("form.new") if model.is_new else t("form.edit")), sync_chip(ctx)], wrap=True),
            ft.Text(t("form.where", hamlet=model.hamlet_code, code=model.label_code)),
            problem,
            field("head_name", ft.TextField(label=t("form.head_name"), value=model.head_name,
                                            capitalization=ft.TextCapitalization.WORDS,
                                            on_change=lambda e: model.set_field("head_name", e.control.value))),
            field("house_no", ft.TextField(label=t("form.house_no"), value=model.house_no,
                                           on_change=lambda e: model.set_field("house_no", e.control.value))),
            ft.Semantics(label=t("form.visit_status"), content=field("visit_status", visit)),
            field("surveyed_on", ft.TextField(label=t("form.surveyed_on"), value=model.surveyed_on_text,
                                              keyboard_type=ft.KeyboardType.DATETIME,
                                              on_change=lambda e: model.set_surveyed_on(e.control.value))),
            field("consent", ft.Checkbox(label=t("form.consent"), value=model.consent,
                                         on_change=lambda e: model.set_field("consent", bool(e.control.value)))),
            ft.Text(t("form.consent_notice", version=NOTICE_VERSION), size=12),
            title(t("form.members")),
            members,
            ft.OutlinedButton(t("form.add_member"), icon=ft.Icons.PERSON_ADD, height=48, on_click=lambda _: model.add_member()),
            ft.ExpansionTile(
                title=ft.Text(t("form.follow_up")),
                controls=[
                    field("follow_up.due", ft.TextField(label=t("form.follow_up"), value=model.follow_up_due,
                                                        on_change=lambda e: model.set_field("follow_up_due", e.control.value))),
                    ft.TextField(label=t("form.follow_up_note"), value=model.follow_up_note,
                                 on_change=lambda e: model.set_field("follow_up_note", e.control.value)),
                    field("note", ft.TextField(label=t("form.note"), value=model.note, multiline=True,
                                               on_change=lambda e: model.set_field("note", e.control.value))),
                ],
            ),
            ft.FilledButton(t("form.save"), icon=ft.Icons.SAVE, height=56, on_click=save),
            status,
        ],
    )  # fmt: skip
    model.subscribe(refresh)
    view.data = refresh  # the router unsubscribes it when the screen is left
    return view


def _update(*controls: ft.Control) -> None:
    for control in controls:
        if control.page is not None:
            control.update()


def _member(ctx: AppContext, model: FormModel, i: int, field) -> ft.Control:
    t, i18n, member = ctx.i18n.t, ctx.i18n, model.members[i]
    n = i + 1
    applicable = model.applicable(i)
    rows: list[ft.Control] = [
        ft.Row([
            ft.Text(t("form.member_head") if i == 0 else t("form.member", n=n), weight=ft.FontWeight.BOLD),
            *([] if i == 0 else [ft.TextButton(t("form.remove_member", n=n), on_click=lambda _: model.remove_member(i))]),
        ], alignment=ft.MainAxisAlignment.SPACE_BETWEEN),
        field(f"members[{i}].full_name", ft.TextField(label=t("form.full_name", n=n), value=member.full_name,
              capitalization=ft.TextCapitalization.WORDS, on_change=lambda e: model.set_member(i, "full_name", e.control.value))),
        field(f"members[{i}].birth_year", ft.TextField(label=t("form.birth_year", n=n), value=member.birth_year,
              keyboard_type=ft.KeyboardType.NUMBER, max_length=4,
              on_change=lambda e: model.set_member(i, "birth_year", e.control.value))),
        ft.Semantics(label=t("form.presence"), content=ft.Dropdown(
            label=t("form.presence"), value=member.presence,
            options=[ft.DropdownOption(key=p, text=i18n.presence(p)) for p in PRESENCE_LABELS],
            on_select=lambda e: model.set_member(i, "presence", e.control.value))),
    ]  # fmt: skip
    if applicable:
        rows.append(ft.FilledTonalButton(t("form.all_covered", n=n), icon=ft.Icons.DONE_ALL, height=48,
                                         on_click=lambda _: model.all_covered(i)))  # fmt: skip
    for check in Check:
        if check not in applicable:
            rows.append(ft.Text(t("form.not_applicable", label=i18n.check(check.value)), size=12, italic=True))
            continue
        rows.append(ft.Text(i18n.check(check.value), size=13))
        rows.append(
            field(f"members[{i}].{check.value}", ft.SegmentedButton(
                selected=[member.checks[check.value]], show_selected_icon=False, style=TALL,
                segments=[ft.Segment(value=v, label=ft.Text(i18n.value_short(check.value, v), size=13)) for v in model.values(check)],
                on_change=lambda e, c=check.value: model.set_check(i, c, e.control.selected[0]),
            ))
        )  # fmt: skip
        if model.needs_reason(i, check):
            reason = t("form.reason", label=i18n.check_short(check.value))
            rows.append(ft.Semantics(label=reason, content=ft.Dropdown(
                label=reason, value=member.reasons.get(check.value),
                options=[ft.DropdownOption(key=r, text=i18n.reason(r)) for r in REASON_LABELS],
                on_select=lambda e, c=check.value: model.set_reason(i, c, e.control.value),
            )))  # fmt: skip
    rows.append(
        ft.ExpansionTile(
            title=ft.Text(t("form.assisted"), size=13),
            controls=[ft.Row(wrap=True, controls=[
                ft.Chip(label=i18n.assisted(a), selected=a in member.assisted,
                        on_select=lambda _, a=a: model.toggle_assisted(i, a))
                for a in ASSISTANCE_LABELS])],
        )
    )  # fmt: skip
    return ft.Card(content=ft.Container(padding=10, content=ft.Column(rows, spacing=6)))
