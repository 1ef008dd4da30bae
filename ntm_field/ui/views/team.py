"""A team leader's screens: /team (coverage per hamlet, chart, progress per member, follow-ups),
/team/conflicts (the conflict inbox) and /team/invite (an enrolment QR for a new member)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import flet as ft
import flet_charts as fch
from flet.controls.base_control import skip_field

from ntm_field.domain.codes import Check
from ntm_field.ui.context import AppContext
from ntm_field.ui.views.common import TOUCH, follow_ups, navigation, title

# One colour per indicator, the same on every chart (contrast ≥ 4.5:1 on white).
COLOURS = {Check.CCCD: "#1565C0", Check.VNEID: "#6A1B9A", Check.SMARTPHONE: "#2E7D32", Check.SIM: "#E65100"}


def build(ctx: AppContext) -> ft.View:
    t, model = ctx.i18n.t, ctx.team
    model.refresh()
    ctx.home.refresh_follow_ups()
    cards = [_hamlet_card(ctx, h) for h in model.hamlets]
    progress = [
        ft.Text(t("team.progress_row", name=model.surveyor_name(p), surveyed=p.surveyed, today=p.today,
                  fully=p.fully_covered, last=p.last_day), size=13)  # fmt: skip
        for p in model.surveyors
    ] or [ft.Text(t("team.progress_none"))]
    return ft.View(
        route="/team",
        padding=12,
        scroll=ft.ScrollMode.AUTO,
        navigation_bar=navigation(ctx, "/team"),
        controls=[
            title(t("team.title")),
            ft.Text(t("team.offline_note"), size=12),
            ft.Row([
                ft.FilledButton(t("team.conflicts_open"), icon=ft.Icons.MERGE_TYPE, height=TOUCH,
                                on_click=lambda _: ctx.go("/team/conflicts")),
                ft.OutlinedButton(t("team.add_member"), icon=ft.Icons.QR_CODE, height=TOUCH,
                                  on_click=lambda _: ctx.go("/team/invite")),
            ], wrap=True),
            *cards,
            title(t("team.chart")),
            _chart(ctx),
            ft.Text(t("team.chart_legend"), size=12),
            title(t("team.progress")),
            *progress,
            title(t("team.followups")),
            *follow_ups(ctx),
        ],
    )  # fmt: skip


def _hamlet_card(ctx: AppContext, h) -> ft.Card:
    t, model = ctx.i18n.t, ctx.team
    vneid = h.tally.figure(Check.VNEID)
    expected = h.expected if h.expected is not None else t("team.expected_unknown")
    return ft.Card(
        content=ft.Container(
            padding=12,
            content=ft.Column([
                ft.Text(t("team.hamlet", name=h.name, code=h.code), weight=ft.FontWeight.BOLD),
                ft.Text(t("team.visits", surveyed=h.surveyed, expected=expected, **{k: v for k, v in h.visits.items() if k != "surveyed"}), size=13),
                *[ft.Text(model.rate_text(h, check), size=13, color=COLOURS[check]) for check in Check],
                ft.Text(t("team.quality", level1=vneid.level1, **{c.value: h.tally.figure(c).unknown for c in Check}), size=12),
                ft.Text(t("team.fully", n=h.tally.fully_covered), size=13, weight=ft.FontWeight.BOLD),
                ft.OutlinedButton(t("team.labels", code=h.code), icon=ft.Icons.PRINT, height=TOUCH,
                                  on_click=_save_labels(ctx, h.code)),
            ], spacing=4),
        )
    )  # fmt: skip


def _back(ctx: AppContext) -> ft.Control:
    # A screen reader reads the button's label; an icon's tooltip is not read as its name.
    return ft.TextButton(ctx.i18n.t("nav.back"), icon=ft.Icons.ARROW_BACK, height=TOUCH, on_click=lambda _: ctx.go("/team"))


def _save_labels(ctx: AppContext, hamlet_code: str):
    async def handler(_) -> None:
        sheet = await asyncio.to_thread(ctx.team.label_sheet, hamlet_code)
        if sheet is None:
            ctx.refresh()
            return
        # A download in the browser; the system's save dialog on a phone or a desktop.
        await ft.FilePicker().save_file(file_name=sheet[0], src_bytes=sheet[1])

    return handler


def _chart(ctx: AppContext) -> ft.Control:
    rows = ctx.team.chart()
    groups = [
        fch.BarChartGroup(
            x=i,
            rods=[fch.BarChartRod(to_y=rates[check], width=8, color=COLOURS[check], border_radius=0,
                                  tooltip=f"{ctx.i18n.check_short(check.value)} {rates[check]}%") for check in Check],
        )  # fmt: skip
        for i, (_, rates) in enumerate(rows)
    ]
    labels = [fch.ChartAxisLabel(value=i, label=ft.Text(code.split("-")[-1], size=11)) for i, (code, _) in enumerate(rows)]
    return ft.Container(
        height=220,
        content=fch.BarChart(
            groups=groups,
            min_y=0,
            max_y=100,
            interactive=False,
            left_axis=fch.ChartAxis(label_size=36, labels=[fch.ChartAxisLabel(value=v, label=ft.Text(str(v), size=11))
                                                           for v in (0, 25, 50, 75, 100)]),  # fmt: skip
            bottom_axis=fch.ChartAxis(label_size=24, labels=labels),
            horizontal_grid_lines=fch.ChartGridLines(interval=25, color=ft.Colors.GREY_300, width=1),
        ),
    )


@ft.control
class ConflictInbox(ft.Column):
    """The conflict list. It is fetched again each time the screen is put on the page (`did_mount`: a
    lifecycle hook, not a side effect of building the screen) and redrawn in place afterwards, so a
    redraw never fetches again and never touches a list that has left the page."""

    opened: Callable[[], None] | None = skip_field()
    mounted: bool | None = skip_field()

    def did_mount(self) -> None:
        self.mounted = True
        if self.opened is not None:
            self.opened()

    def will_unmount(self) -> None:
        self.mounted = False

    def redraw(self) -> None:
        if self.mounted:
            self.update()


def conflicts(ctx: AppContext) -> ft.View:
    t, model = ctx.i18n.t, ctx.team
    inbox = ConflictInbox(spacing=8)

    def render() -> None:
        status = [ft.Text(t("team.conflicts_loading"), size=13, italic=True)] if model.conflicts_loading else []
        inbox.controls = [*status, *_message(model), *[_conflict_card(ctx, row, ask) for row in model.conflicts]]

    async def load(_=None) -> None:
        if not model.begin_loading():
            return
        render()
        inbox.redraw()
        await asyncio.to_thread(model.load_conflicts)
        render()
        inbox.redraw()

    def ask(conflict_id: str, index: int):
        def handler(e: ft.Event) -> None:
            choice = model.choose(conflict_id, index)
            if choice is not None:
                e.page.show_dialog(_confirm_dialog(ctx, choice, resolved))

        return handler

    def resolved() -> None:
        render()
        inbox.redraw()

    inbox.opened = lambda: inbox.page.run_task(load)
    render()
    return _subscreen(ctx, "/team/conflicts", t("team.conflicts"), [
        ft.Text(t("team.conflict_intro"), size=13),
        ft.FilledButton(t("team.conflicts_load"), icon=ft.Icons.REFRESH, height=TOUCH, on_click=load),
        inbox,
    ])  # fmt: skip


def _conflict_card(ctx: AppContext, row, ask) -> ft.Card:
    """A conflict: the household and field, then each competing value with who sent it, when and from
    which revision, above the button that keeps it."""
    t = ctx.i18n.t
    options = [
        ft.Column([
            ft.Text(option.source(ctx.i18n), size=12, color=ft.Colors.ON_SURFACE_VARIANT),
            ft.OutlinedButton(t("team.choose", value=option.text), height=TOUCH, on_click=ask(row.id, i)),
        ], spacing=2)
        for i, option in enumerate(row.options)
    ]  # fmt: skip
    return ft.Card(content=ft.Container(padding=12, content=ft.Column([
        ft.Text(t("team.conflict_row", household=row.household, field=row.field), weight=ft.FontWeight.BOLD),
        *options,
        ft.TextButton(t("sync.open"), icon=ft.Icons.OPEN_IN_NEW, height=TOUCH,
                      on_click=lambda _, h=row.household_id: ctx.go(f"/household/{h}")),
    ], spacing=8)))  # fmt: skip


def _confirm_dialog(ctx: AppContext, choice, done: Callable[[], None]) -> ft.AlertDialog:
    """Asks before resolving, naming the value that will be kept; modal: a tap beside it decides nothing."""
    t, model = ctx.i18n.t, ctx.team

    def cancel(e: ft.Event) -> None:
        model.cancel_choice()
        e.page.pop_dialog()

    async def confirm(e: ft.Event) -> None:
        e.page.pop_dialog()
        await asyncio.to_thread(model.confirm_choice)
        done()

    return ft.AlertDialog(
        modal=True,
        title=ft.Text(choice.title),
        content=ft.Text(choice.body),
        actions=[
            ft.TextButton(t("team.confirm_cancel"), height=TOUCH, on_click=cancel),
            ft.FilledButton(choice.confirm, height=TOUCH, on_click=confirm),
        ],
    )


def invite(ctx: AppContext) -> ft.View:
    t, model = ctx.i18n.t, ctx.team
    units = ctx.home.hamlets()  # a new member is enrolled for one of the leader's hamlets
    chosen = ft.Dropdown(
        value=units[0][0] if units else None,
        options=[ft.DropdownOption(key=code, text=f"{name} ({code})") for code, name in units],
        expand=True,
    )

    async def create(_) -> None:
        if chosen.value:
            await asyncio.to_thread(model.new_invite, chosen.value)
            ctx.refresh()

    shown = model.invite
    return _subscreen(ctx, "/team/invite", t("team.add_member"), [
        ft.Semantics(label=t("team.invite_for"), content=ft.Row([chosen])),
        ft.FilledButton(t("team.invite_create"), icon=ft.Icons.QR_CODE, height=TOUCH, on_click=create),
        *_message(model),
        *([
            ft.Text(t("team.invite_intro", expires=model.invite_expires())),
            ft.Semantics(label=t("team.invite_qr"), content=ft.Image(src=model.invite_png, width=240, height=240)),
            ft.Text(t("team.invite_code", code=shown.code), size=20, weight=ft.FontWeight.BOLD),
            ft.Text(shown.link, size=12),
        ] if shown and model.invite_png else []),
    ])  # fmt: skip


def _subscreen(ctx: AppContext, route: str, heading: str, controls: list[ft.Control]) -> ft.View:
    """A screen under /team: a back button and its title above its controls, the Tổ tab selected."""
    return ft.View(route=route, padding=12, scroll=ft.ScrollMode.AUTO, navigation_bar=navigation(ctx, "/team"),
                   controls=[ft.Row([_back(ctx), title(heading)]), *controls])  # fmt: skip


def _message(model) -> list[ft.Control]:
    return [ft.Text(model.message, weight=ft.FontWeight.BOLD)] if model.message else []
