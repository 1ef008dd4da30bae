"""Household form: consent first, the household, a card per member, errors where the user is.

The screen's controls are built once when the form opens and then only shown
from the view-model (`refresh`): values, labels, visibility and errors change in
place. No control is replaced while the form is open, so none can receive an
event after it left the page (the "Control must be added to the page first"
crash of a rebuilt member card), a field keeps its focus while typing, and
nothing above a tapped control moves. Dialogs (date, consent withdrawn, same
house number, undo) are the page's overlays.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import date, datetime, timedelta

import flet as ft

from ntm_field.domain.codes import VISIT_STATUS_LABELS
from ntm_field.ui.context import AppContext
from ntm_field.ui.i18n import field_label
from ntm_field.ui.models.dates import parse_date
from ntm_field.ui.models.form import NOTICE_VERSION
from ntm_field.ui.views.common import TOUCH, navigation, show_value, sync_chip, title, user_input
from ntm_field.ui.views.member_card import MemberCard



def build(ctx: AppContext, route: str) -> ft.View:
    return FormScreen(ctx, route).view


class FormScreen:
    def __init__(self, ctx: AppContext, route: str):
        self.ctx, self.model = ctx, ctx.form
        t, model = ctx.i18n.t, ctx.form
        self.cards: dict[str, MemberCard] = {}
        self.heading = title("")
        self.where = ft.Text("")
        self.problem = ft.Text("", color=ft.Colors.ERROR, visible=False)
        self.consent = ft.Checkbox(label=t("form.consent"), height=TOUCH, on_change=user_input(self._consent_changed))
        self.consent_off = ft.Text(t("form.consent_off"), size=13, italic=True)
        self.head_name = ft.TextField(label=t("form.head_name"), capitalization=ft.TextCapitalization.WORDS,
                                      key=ft.ScrollKey("head_name"),
                                      on_change=user_input(lambda v: model.set_field("head_name", v)))  # fmt: skip
        self.house_no = ft.TextField(label=t("form.house_no"), key=ft.ScrollKey("house_no"),
                                     on_change=user_input(lambda v: model.set_field("house_no", v)))  # fmt: skip
        self.visit = ft.Dropdown(
            label=t("form.visit_status"), expand=True, key=ft.ScrollKey("visit_status"),
            options=[ft.DropdownOption(key=v, text=ctx.i18n.visit_status(v)) for v in VISIT_STATUS_LABELS],
            on_select=user_input(lambda v: model.set_field("visit_status", v)),
        )  # fmt: skip
        self.surveyed_on = _date_field(t("form.surveyed_on"), "surveyed_on",
                                       on_change=user_input(model.set_surveyed_on))  # fmt: skip
        self.follow_up_due = _date_field(t("form.follow_up"), "follow_up.due",
                                         on_change=user_input(lambda v: model.set_field("follow_up_due", v)))  # fmt: skip
        self.follow_up_note = ft.TextField(label=t("form.follow_up_note"),
                                           on_change=user_input(lambda v: model.set_field("follow_up_note", v)))  # fmt: skip
        self.note = ft.TextField(label=t("form.note"), multiline=True, key=ft.ScrollKey("note"),
                                 on_change=user_input(lambda v: model.set_field("note", v)))  # fmt: skip
        self.members = ft.Column(spacing=8)
        self.status = ft.Text("", size=16, weight=ft.FontWeight.BOLD)
        # The errors bar: at the bottom of the screen while the form has errors; a tap goes to the first.
        # A floating button, not a SnackBar: a SnackBar takes the keyboard focus the first field was given.
        self.errors_text = ft.Text("", color=ft.Colors.ON_ERROR_CONTAINER, size=14, max_lines=3,
                                   overflow=ft.TextOverflow.ELLIPSIS, expand=True)  # fmt: skip
        self.errors_bar = ft.FloatingActionButton(
            content=ft.Row([ft.Icon(ft.Icons.ERROR_OUTLINE, color=ft.Colors.ON_ERROR_CONTAINER), self.errors_text]),
            bgcolor=ft.Colors.ERROR_CONTAINER, width=336, visible=False, on_click=self._go_to_first_error,
        )  # fmt: skip
        self.view = ft.View(
            route=route,
            padding=12,
            scroll=ft.ScrollMode.AUTO,
            horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
            navigation_bar=navigation(ctx, "/households"),
            floating_action_button=self.errors_bar,
            floating_action_button_location=ft.FloatingActionButtonLocation.CENTER_FLOAT,
            controls=[
                ft.Row([self.heading, sync_chip(ctx)], wrap=True),
                self.where,
                self.problem,
                self.consent,
                ft.Text(t("form.consent_notice", version=NOTICE_VERSION), size=12),
                self.consent_off,
                self.head_name,
                self.house_no,
                ft.Semantics(label=t("form.visit_status"), content=ft.Row([self.visit])),
                _with_picker(self.surveyed_on, t("form.pick_date"),
                             lambda _: self._pick(model.surveyed_on_text, model.pick_surveyed_on)),
                title(t("form.members")),
                self.members,
                ft.OutlinedButton(t("form.add_member"), icon=ft.Icons.PERSON_ADD, height=TOUCH, on_click=self._add_member),
                ft.ExpansionTile(title=ft.Text(t("form.follow_up")), controls=[
                    _with_picker(self.follow_up_due, t("form.pick_follow_up"),
                                 lambda _: self._pick(model.follow_up_due, model.pick_follow_up)),
                    self.follow_up_note, self.note]),
                ft.FilledButton(t("form.save"), icon=ft.Icons.SAVE, height=56, on_click=self._save),
                self.status,
            ],
        )  # fmt: skip
        self._ui_thread = threading.get_ident()
        self.refresh()
        model.subscribe(self.refresh)
        self.view.data = self.refresh  # the router unsubscribes it when the screen is left

    # ----- showing the view-model ---------------------------------------------------------

    def refresh(self) -> None:
        if threading.get_ident() != self._ui_thread:
            return  # a save on a worker thread tells the listeners too: the controls are the loop's alone
        model, t = self.model, self.ctx.i18n.t
        self.heading.value = t("form.new") if model.is_new else t("form.edit")
        self.where.value = t("form.where", hamlet=model.hamlet_code, code=model.label_code)
        # Above the form only what is known when it opens (a refusal by the server, a household not found):
        # a save's errors are said below the Save button and in the bar, so nothing above the finger moves.
        problem = model.server_problem or ("" if model.errors else model.failure) or ""
        if problem != self.problem.value:
            self.problem.value, self.problem.visible = problem, bool(problem)
        show_value(self.consent, model.consent)
        self.consent_off.visible = not model.consent
        for control, value in ((self.head_name, model.head_name), (self.house_no, model.house_no),
                               (self.surveyed_on, model.surveyed_on_text), (self.follow_up_due, model.follow_up_due),
                               (self.follow_up_note, model.follow_up_note), (self.note, model.note)):  # fmt: skip
            show_value(control, value)
        for control in (self.head_name, self.follow_up_note, self.note):
            control.disabled = not model.consent
        show_value(self.visit, model.visit_status)
        errors = model.errors
        self.head_name.error, self.house_no.error = errors.get("head_name"), errors.get("house_no")
        self.surveyed_on.error, self.follow_up_due.error = errors.get("surveyed_on"), errors.get("follow_up.due")
        self.note.error, self.visit.error_text = errors.get("note"), errors.get("visit_status")
        self._show_members()
        self.status.value = t("form.saved") if model.saved else (model.failure if model.errors else "")
        self.status.color = ft.Colors.ERROR if model.errors else None
        # Hidden when empty: a Text that went "" → "Đã lưu" a second time stayed out of the semantics tree.
        self.status.visible = bool(self.status.value)
        path = model.first_error
        self.errors_bar.visible = path is not None
        if path is not None:
            self.errors_text.value = t("form.errors_bar", count=len(model.errors), field=_field_name(self.ctx, path),
                                       message=model.errors[path])  # fmt: skip

    def _show_members(self) -> None:
        model = self.model
        for member in model.members:
            if member.id not in self.cards:  # a new member: its card is added, none is replaced
                card = MemberCard(self.ctx, member.id, on_remove=self._remove_member, on_all_covered=model.all_covered)
                self.cards[member.id] = card
                self.members.controls.append(card.control)
        order = [self.cards[m.id].control for m in model.members]
        shown = [c for c in self.members.controls if c in order]
        if shown != order:  # an undo put a member back before another: keep the cards in the form's order
            hidden = [c for c in self.members.controls if c not in order]
            self.members.controls = order + hidden
        for member_id, card in self.cards.items():
            card.show(model, model.index(member_id))

    def _control_of(self, path: str) -> ft.Control | None:
        if path.startswith("members[") and "]." in path:
            index, rest = path.removeprefix("members[").split("].", 1)
            if not index.isdigit() or int(index) >= len(self.model.members):
                return None
            card = self.cards[self.model.members[int(index)].id]
            return card.field(rest.split(".")[-1]) or card.name
        return {"head_name": self.head_name, "house_no": self.house_no, "visit_status": self.visit,
                "surveyed_on": self.surveyed_on, "consent": self.consent, "follow_up.due": self.follow_up_due,
                "follow_up.note": self.follow_up_note, "note": self.note}.get(path)  # fmt: skip

    # ----- events --------------------------------------------------------------------------

    async def _save(self, _) -> None:
        had_errors = bool(self.model.errors)
        saved = await asyncio.to_thread(self.ctx.drafts.saving, self.model.save)
        self.refresh()
        if saved and not had_errors:  # only the heading, the status and the line above can have changed
            self.view.page.update(self.heading, self.problem, self.status)
            return
        self.view.update()
        if saved:
            return
        if self.model.duplicate is not None:
            self._ask_duplicate()
        elif self.model.errors:
            await self._show_first_error()

    async def _go_to_first_error(self, _) -> None:
        await self._show_first_error()

    async def _show_first_error(self) -> None:
        path = self.model.first_error
        if path is None:
            return
        control, card = self._control_of(path), self._card_of(path)
        target = control.key if control is not None and control.key is not None else (card and card.control.key)
        try:
            # Scrolled to, not focused: Flet 1.0.5's client gives a programmatically focused field the focus
            # again whenever it is redrawn later, and the monkey saw a year typed into that member's name
            # (seed 8). Keystrokes in the wrong field are worse than one tap on the right one.
            if target is not None:
                await asyncio.wait_for(self.view.scroll_to(scroll_key=target, duration=300), 5)
        except (RuntimeError, TimeoutError):
            pass  # the screen was left meanwhile: nothing to scroll to

    def _card_of(self, path: str) -> MemberCard | None:
        if not path.startswith("members["):
            return None
        index = path.removeprefix("members[").split("]", 1)[0]
        if index.isdigit() and int(index) < len(self.model.members):
            return self.cards[self.model.members[int(index)].id]
        return None

    async def _add_member(self, _) -> None:
        self.model.add_member()
        card = self.cards[self.model.members[-1].id]
        self.view.update()
        try:
            await self.view.scroll_to(scroll_key=card.control.key, duration=200)
        except (RuntimeError, TimeoutError):
            pass

    def _remove_member(self, member_id: str) -> None:
        model, t = self.model, self.ctx.i18n.t
        index = model.index(member_id)
        if index is None:
            return
        name = model.members[index].full_name.strip() or t("form.member", n=index + 1)
        model.remove_member(member_id)
        self.view.update()  # showing a dialog ends Flet's automatic update after this handler
        page = self.view.page

        def undo(_) -> None:
            # The bar outlives the screen for a few seconds: tapped on another screen (or on this household
            # opened again) it undoes nothing, else it would bring a left or discarded form back as a draft.
            if self.view in page.views:
                model.undo_remove(member_id)

        page.show_dialog(ft.SnackBar(
            ft.Text(t("form.removed", who=name)), action=t("form.undo"), duration=ft.Duration(seconds=8), on_action=undo,
        ))  # fmt: skip

    def _consent_changed(self, value) -> None:
        given = bool(value)
        if given or not self.model.holds_personal_data:
            self.model.set_consent(given)
            return
        self.consent.value = True  # withdrawn only once the user confirms that the names go
        self.view.update()
        t = self.ctx.i18n.t
        self._dialog(t("form.consent_withdraw.title"), t("form.consent_withdraw.body"), [
            (t("form.cancel"), lambda: None),
            (t("form.consent_withdraw.confirm"), lambda: self.model.set_consent(False)),
        ])  # fmt: skip

    def _ask_duplicate(self) -> None:
        other, t = self.model.duplicate, self.ctx.i18n.t
        name = other.head_name or t("form.duplicate.unnamed")

        async def save_anyway() -> None:
            await asyncio.to_thread(self.ctx.drafts.saving, lambda: self.model.save(despite_duplicate=True))
            self.refresh()
            self.view.update()

        self._dialog(t("form.duplicate.title", house_no=other.house_no),
                     t("form.duplicate.body", name=name, code=other.label_code), [
            (t("form.duplicate.open"), lambda: self.ctx.go(f"/household/{other.id}")),
            (t("form.duplicate.save"), save_anyway),
        ])  # fmt: skip

    def _dialog(self, heading: str, body: str, choices: list) -> None:
        page = self.view.page

        def choose(action):
            async def chosen(_) -> None:
                page.pop_dialog()
                result = action()
                if asyncio.iscoroutine(result):
                    await result
                if self.view in page.views:  # still shown (not left for the other household)
                    self.view.update()  # closing a dialog ends Flet's automatic update after this handler

            return chosen

        page.show_dialog(ft.AlertDialog(
            modal=True, title=ft.Text(heading), content=ft.Text(body),
            actions=[ft.TextButton(label, height=TOUCH, on_click=choose(action)) for label, action in choices],
        ))  # fmt: skip

    def _pick(self, current: str, chosen) -> None:
        today = self.ctx.clock().date()

        def picked(e) -> None:
            if e.control.value is not None:
                chosen(_local_date(e.control.value))

        self.view.page.show_dialog(ft.DatePicker(
            value=parse_date(current) or today, first_date=date(today.year - 2, 1, 1),
            last_date=today + timedelta(days=366), on_change=picked,
        ))  # fmt: skip


def _date_field(label: str, key: str, *, on_change) -> ft.TextField:
    return ft.TextField(label=label, key=ft.ScrollKey(key), keyboard_type=ft.KeyboardType.DATETIME, on_change=on_change,
                        expand=True)  # fmt: skip


def _with_picker(field: ft.TextField, label: str, on_pick) -> ft.Control:
    """A date field and, beside it, the button that opens the date picker (typing still works)."""
    # A labelled tappable icon (Flutter gives an IconButton's own node no name, whatever wraps it).
    button = ft.Container(ft.Icon(ft.Icons.CALENDAR_MONTH), width=TOUCH, height=TOUCH + 8, ink=True,
                          border_radius=TOUCH // 2, on_click=on_pick)  # fmt: skip
    return ft.Row([field, ft.Semantics(label=label, button=True, content=button)],
                  vertical_alignment=ft.CrossAxisAlignment.START)  # fmt: skip


def _local_date(value: datetime | date) -> date:
    """The day the user picked (the client sends midnight of that day; a UTC time may say the day before)."""
    if isinstance(value, datetime):
        if value.tzinfo is not None and value.utcoffset():
            value = value.astimezone()
        if value.hour >= 12:  # midnight local sent as UTC on a zone east of Greenwich
            return (value + timedelta(hours=12)).date()
        return value.date()
    return value


def _field_name(ctx: AppContext, path: str) -> str:
    """The field in words, without the wire path (the user does not need it)."""
    return field_label(ctx.i18n, path).rsplit(" (", 1)[0]
