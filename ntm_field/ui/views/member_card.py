"""One member's card on the household form, built once and then only shown.

Every control of the card lives as long as the form is open: when the member's
age or presence changes which checks apply, rows are shown or hidden, values
and labels change in place; nothing is rebuilt under the surveyor's finger, so
a field keeps its focus while a year is typed key by key, and no event can
reach a control that has left the page. Handlers name the member by its id
(its place in the form shifts when a member above is removed).
"""

from __future__ import annotations

import flet as ft

from ntm_field.domain.codes import ASSISTANCE_LABELS, PRESENCE_LABELS, Check
from ntm_field.ui.context import AppContext
from ntm_field.ui.models.form import FormModel
from ntm_field.ui.views.common import SELECTED_FILL, TOUCH, show_value, user_input

NO_REASON = "-"  # the dropdown's "no reason" entry (a reason can be taken back)


class CheckRow:
    """A check's question, its answers (or "not applicable at this age"), and the reason for a check not met."""

    def __init__(self, ctx: AppContext, member_id: str, check: Check):
        model, i18n = ctx.form, ctx.i18n
        self.ctx, self.check = ctx, check
        self.label = ft.Text(i18n.check(check.value), size=14, weight=ft.FontWeight.W_500)
        self.not_applicable = ft.Text(i18n.t("form.not_applicable", label=i18n.check(check.value)), size=13,
                                      italic=True, visible=False)  # fmt: skip
        # One chip per answer (a row of them wraps at 360 px, where four segments would cut their words);
        # tapping the chosen one again keeps it chosen. The check mark's place is kept on every chip (drawn
        # white on white when not chosen), so choosing never changes a chip's width or moves another.
        self.choices = {
            v: ft.Chip(label=ft.Text(i18n.value_short(check.value, v), size=14), height=TOUCH, show_checkmark=False,
                       leading=ft.Icon(ft.Icons.CHECK, size=18, color=ft.Colors.WHITE),
                       selected_color=SELECTED_FILL, bgcolor=ft.Colors.WHITE, border_side=ft.BorderSide(1, "#5F6368"),
                       label_padding=ft.Padding.only(left=2, right=4), padding=ft.Padding.symmetric(horizontal=4),
                       on_select=lambda _, v=v: model.set_check(member_id, check.value, v))  # fmt: skip
            for v in model.values(check)
        }
        self.answers = ft.Row(list(self.choices.values()), wrap=True, spacing=6, run_spacing=6)
        self.reason = ft.Dropdown(
            dense=True, expand=True, menu_width=330,
            on_select=user_input(lambda v: model.set_reason(member_id, check.value, _reason(v))),
        )  # fmt: skip
        self.reason_box = ft.Semantics(content=ft.Row([self.reason]), visible=False)
        self.error = ft.Text("", color=ft.Colors.ERROR, size=13, visible=False)
        self.control = ft.Column([self.label, self.not_applicable, self.answers, self.reason_box, self.error],
                                 spacing=4, horizontal_alignment=ft.CrossAxisAlignment.STRETCH)  # fmt: skip

    def show(self, model: FormModel, index: int, applies: bool) -> None:
        i18n, member = self.ctx.i18n, model.members[index]
        value = member.checks[self.check.value]
        self.not_applicable.visible = not applies
        self.answers.visible = applies
        for choice, chip in self.choices.items():
            chip.selected = choice == value
            chip.label.color = ft.Colors.WHITE if chip.selected else "#1A1A1A"
        asks = applies and model.needs_reason(index, self.check)
        self.reason_box.visible = asks
        if asks:
            key = "form.reason_unknown" if value == "unknown" else "form.reason"
            label = i18n.t(key, label=i18n.check_short(self.check.value))
            reasons = model.reasons(index, self.check)
            if self.reason.label != label:
                self.reason.label = label
                self.reason_box.label = label
            keys = [NO_REASON, *reasons]
            if [o.key for o in self.reason.options] != keys:
                self.reason.options = [ft.DropdownOption(key=NO_REASON, text=i18n.t("form.reason_none"))] + [
                    ft.DropdownOption(key=r, text=i18n.reason(r)) for r in reasons
                ]
            show_value(self.reason, member.reasons.get(self.check.value) or NO_REASON)
        path = f"members[{index}].{self.check.value}"
        message = model.errors.get(path) or model.errors.get(f"members[{index}].reasons.{self.check.value}")
        self.error.value, self.error.visible = message or "", bool(message)


class MemberCard:
    def __init__(self, ctx: AppContext, member_id: str, on_remove, on_all_covered):
        model, t, i18n = ctx.form, ctx.i18n.t, ctx.i18n
        self.ctx, self.id = ctx, member_id
        self.heading = ft.Text("", weight=ft.FontWeight.BOLD, size=16, expand=True)
        self.remove = ft.TextButton("", icon=ft.Icons.PERSON_REMOVE, height=TOUCH, on_click=lambda _: on_remove(member_id))
        self.name = ft.TextField(capitalization=ft.TextCapitalization.WORDS, key=ft.ScrollKey(f"{member_id}.full_name"),
                                 on_change=user_input(lambda v: model.set_member(member_id, "full_name", v)))  # fmt: skip
        self.year = ft.TextField(keyboard_type=ft.KeyboardType.NUMBER, max_length=4, key=ft.ScrollKey(f"{member_id}.birth_year"),
                                 input_filter=ft.NumbersOnlyInputFilter(),
                                 on_change=user_input(lambda v: model.set_member(member_id, "birth_year", v)))  # fmt: skip
        self.presence = ft.Dropdown(
            label=t("form.presence"), expand=True, menu_width=330,
            options=[ft.DropdownOption(key=p, text=i18n.presence(p)) for p in PRESENCE_LABELS],
            on_select=user_input(lambda v: model.set_member(member_id, "presence", v)),
        )  # fmt: skip
        self.all_covered = ft.FilledTonalButton("", icon=ft.Icons.DONE_ALL, height=TOUCH,
                                                on_click=lambda _: on_all_covered(member_id))  # fmt: skip
        self.checks = {check: CheckRow(ctx, member_id, check) for check in Check}
        self.assisted = {
            a: ft.Chip(label=ft.Text(i18n.assisted(a)), height=TOUCH, show_checkmark=True,
                       on_select=lambda _, a=a: model.toggle_assisted(member_id, a))  # fmt: skip
            for a in ASSISTANCE_LABELS
        }
        self.control = ft.Card(
            key=ft.ScrollKey(member_id),
            content=ft.Container(padding=10, content=ft.Column(spacing=6, horizontal_alignment=ft.CrossAxisAlignment.STRETCH, controls=[
                ft.Row([self.heading, self.remove], vertical_alignment=ft.CrossAxisAlignment.CENTER),
                self.name, self.year,
                ft.Semantics(label=t("form.presence"), content=ft.Row([self.presence])),
                self.all_covered,
                *(row.control for row in self.checks.values()),
                ft.ExpansionTile(title=ft.Text(t("form.assisted"), size=14),
                                 controls=[ft.Row(wrap=True, controls=list(self.assisted.values()))]),
            ])),
        )  # fmt: skip

    def show(self, model: FormModel, index: int | None) -> None:
        """Show the member at `index` of the form, or hide the card (the member was removed)."""
        self.control.visible = index is not None
        if index is None:
            return
        t, member, n = self.ctx.i18n.t, model.members[index], index + 1
        self.heading.value = t("form.member_head") if index == 0 else t("form.member", n=n)
        self.remove.visible = index > 0
        self.remove.content = t("form.remove_member", n=n)
        self.name.label, self.year.label = t("form.full_name", n=n), t("form.birth_year", n=n)
        show_value(self.name, member.full_name)
        show_value(self.year, member.birth_year)
        self.name.disabled = not model.consent
        self.name.error = model.errors.get(f"members[{index}].full_name")
        self.year.error = model.errors.get(f"members[{index}].birth_year")
        show_value(self.presence, member.presence)
        applicable = set(model.applicable(index))
        self.all_covered.disabled = not applicable
        self.all_covered.content = t("form.all_covered", n=n)
        for check, row in self.checks.items():
            row.show(model, index, check in applicable)
        for code, chip in self.assisted.items():
            chip.selected = code in member.assisted

    def field(self, name: str) -> ft.Control | None:
        """The control a field path's last part names (for scrolling to an error)."""
        return {"full_name": self.name, "birth_year": self.year, "presence": self.presence}.get(name) or next(
            (next(iter(row.choices.values())) for check, row in self.checks.items() if check.value == name), None
        )


def _reason(value: str | None) -> str | None:
    return None if value in (None, NO_REASON) else value
