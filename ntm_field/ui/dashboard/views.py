"""The dashboard's screens: controls from the view-model's dataclasses; each event one call into `Actions`."""

from __future__ import annotations

from typing import Protocol

import flet as ft
import flet_charts as fch

from ntm_field.ui.dashboard.models import CHECKS, DashboardModel, HouseholdScreen, UnitRow, UnitScreen, unit_route

INK = "#1A1C1E"  # body text on white: contrast well above 7:1
LINE_COLORS = ["#0B57D0", "#146C2E", "#8E4EC6", "#B3261E", "#7D5700"]  # surveyed, cccd, vneid, smartphone, sim


class Actions(Protocol):
    def go(self, route: str) -> None: ...
    def sign_in(self, token: str) -> None: ...
    def sign_out(self) -> None: ...
    def toggle_language(self) -> None: ...
    def switch_structure(self, structure: str) -> None: ...
    def export(self, unit: str, button: str) -> None: ...


def app_bar(model: DashboardModel, actions: Actions) -> ft.AppBar:
    t = model.i18n.t
    items: list[ft.Control] = [
        ft.TextButton(t("dash.language"), icon=ft.Icons.TRANSLATE, on_click=lambda _: actions.toggle_language())
    ]
    if model.signed_in:
        items.append(ft.TextButton(t("dash.sign_out"), icon=ft.Icons.LOGOUT, on_click=lambda _: actions.sign_out()))
    # 18 px: the title and both actions fit a 390-px phone
    return ft.AppBar(title=ft.Text(t("dash.title"), size=18, weight=ft.FontWeight.BOLD), actions=items,
                     bgcolor="#D3E3FD", title_spacing=12)  # fmt: skip


def sign_in(model: DashboardModel, actions: Actions, *, error: str | None, notice: str | None, route: str) -> ft.View:
    t = model.i18n.t
    typed = {"token": ""}  # the latest input: a click may come before the control's value is read back

    def submit(_=None) -> None:
        actions.sign_in(typed["token"])

    def changed(e) -> None:
        typed["token"] = e.control.value or ""

    box = ft.TextField(label=t("dash.sign_in.token"), password=True, autofocus=True,
                       on_change=changed, on_submit=submit, width=480)  # fmt: skip

    def reveal(e) -> None:
        box.password = not e.control.value
        box.update()

    # A labelled checkbox, not the field's eye icon: a screen reader names it.
    show = ft.Checkbox(label=t("dash.sign_in.show"), value=False, on_change=reveal)
    controls: list[ft.Control] = [
        ft.Text(t("dash.sign_in.title"), size=24, weight=ft.FontWeight.BOLD, color=INK),
        ft.Text(t("dash.sign_in.intro"), color=INK),
    ]
    if notice:
        controls.append(ft.Text(notice, color=INK, weight=ft.FontWeight.W_500))
    controls += [box, show, ft.FilledButton(t("dash.sign_in.submit"), icon=ft.Icons.LOGIN, height=48, on_click=submit)]
    if error:
        controls.append(ft.Text(error, color="#B3261E", weight=ft.FontWeight.BOLD))
    return ft.View(route=route, appbar=app_bar(model, actions), padding=24, scroll=ft.ScrollMode.AUTO,
                   controls=[ft.Container(ft.Column(controls, spacing=16), width=560)])  # fmt: skip


def message(model: DashboardModel, actions: Actions, text: str, *, route: str, loading: bool = False) -> ft.View:
    t = model.i18n.t
    controls: list[ft.Control] = [ft.ProgressRing(width=32, height=32)] if loading else []
    controls.append(ft.Text(text, size=16, color=INK))
    if not loading and model.signed_in:
        controls.append(ft.OutlinedButton(t("dash.back_to_start"), icon=ft.Icons.HOME,
                                          on_click=lambda _: actions.go(f"/?structure={model.structure}")))  # fmt: skip
    return ft.View(route=route, appbar=app_bar(model, actions), padding=24, controls=controls)


def unit(model: DashboardModel, actions: Actions, screen: UnitScreen, *, route: str, status: str = "") -> ft.View:
    t, row = model.i18n.t, screen.unit
    crumbs: list[ft.Control] = []
    for n, (code, name) in enumerate(screen.trail):
        if n:
            crumbs.append(ft.Icon(ft.Icons.CHEVRON_RIGHT, size=18, color=INK))
        if code == row.code:
            crumbs.append(ft.Text(name, weight=ft.FontWeight.BOLD, color=INK))
        else:
            crumbs.append(ft.TextButton(name, on_click=lambda _, c=code: actions.go(unit_route(c, screen.structure))))
    structure = ft.SegmentedButton(
        selected=[screen.structure], show_selected_icon=False,
        segments=[ft.Segment(value=s, label=ft.Text(t(f"dash.structure.{s}"))) for s in ("2024", "2025")],
        on_change=lambda e: actions.switch_structure(e.control.selected[0]),
    )  # fmt: skip
    exports = [
        ft.OutlinedButton(t(f"dash.export.{button}"), icon=icon, height=44,
                          on_click=lambda _, b=button: actions.export(row.code, b))  # fmt: skip
        for button, icon in (("members_csv", ft.Icons.PEOPLE), ("coverage_csv", ft.Icons.TABLE_CHART),
                             ("xlsx", ft.Icons.GRID_ON))  # fmt: skip
    ]
    controls: list[ft.Control] = [
        ft.Row([ft.Text(t("dash.structure"), color=INK), structure, ft.Text(model.who(), size=12, color=INK)],
               wrap=True, spacing=12),  # fmt: skip
        ft.Row(crumbs, wrap=True, spacing=2),
        ft.Text(t("dash.unit.heading", level=model.level_label(row.level), name=row.name, code=row.code),
                size=22, weight=ft.FontWeight.BOLD, color=INK),  # fmt: skip
        ft.Text(model.visits_text(row), color=INK),
        ft.Text(t("dash.table.title"), size=18, weight=ft.FontWeight.BOLD, color=INK),
        ft.Text(t("dash.table.hint" if screen.drillable else "dash.table.hint_hamlet"), color=INK),
        ft.Row([figures_table(model, actions, screen)], scroll=ft.ScrollMode.AUTO),
    ]
    if any(r.expected is None for r in [row, *screen.children]):
        controls.append(ft.Text(t("dash.expected_unknown"), size=12, color=INK))
    if not screen.children and screen.drillable:
        controls.append(ft.Text(t("dash.no_children"), color=INK))
    controls += [
        ft.Text(t("dash.export.title", name=row.name), size=18, weight=ft.FontWeight.BOLD, color=INK),
        ft.Row(exports, wrap=True),
    ]
    if status:
        controls.append(ft.Text(status, color=INK, weight=ft.FontWeight.W_500))
    controls += progress(model, screen)
    return ft.View(route=route, appbar=app_bar(model, actions), padding=16, scroll=ft.ScrollMode.AUTO,
                   controls=controls, spacing=12)  # fmt: skip


def figures_table(model: DashboardModel, actions: Actions, screen: UnitScreen) -> ft.DataTable:
    t = model.i18n.t
    columns = ["dash.col.unit", "dash.col.households", *(f"dash.col.{c.value}" for c in CHECKS), "dash.col.fully"]

    def row_of(row: UnitRow, *, total: bool) -> ft.DataRow:
        weight = ft.FontWeight.BOLD if total else None
        if total:
            name: ft.Control = ft.Text(t("dash.row.total", name=row.name), weight=weight, color=INK)
        else:
            name = ft.TextButton(f"{row.name} ({row.code})",
                                 on_click=lambda _, c=row.code: actions.go(unit_route(c, screen.structure)))  # fmt: skip
        cells = [ft.DataCell(name), ft.DataCell(ft.Text(model.households_text(row), weight=weight, color=INK))]
        for check in CHECKS:
            figure = row.indicators[check.value]
            cells.append(ft.DataCell(ft.Column([
                ft.Text(model.indicator_text(figure), weight=weight, color=INK),
                ft.Text(model.indicator_detail(check.value, figure), size=12, color=INK),
            ], spacing=0, alignment=ft.MainAxisAlignment.CENTER)))  # fmt: skip
        cells.append(ft.DataCell(ft.Text(model.number(row.fully_covered), weight=weight, color=INK)))
        return ft.DataRow(cells=cells, color="#F1F4F9" if total else None)

    return ft.DataTable(
        columns=[ft.DataColumn(ft.Text(t(key), weight=ft.FontWeight.BOLD, color=INK)) for key in columns],
        rows=[row_of(screen.unit, total=True), *(row_of(child, total=False) for child in screen.children)],
        data_row_min_height=52, data_row_max_height=60, column_spacing=20, heading_row_color="#E8EEF7",
    )  # fmt: skip


def progress(model: DashboardModel, screen: UnitScreen) -> list[ft.Control]:
    t, i18n = model.i18n.t, model.i18n
    title = ft.Text(t("dash.progress.title"), size=18, weight=ft.FontWeight.BOLD, color=INK)
    if not screen.days:
        return [title, ft.Text(t("dash.progress.none"), color=INK)]
    days = screen.days
    names = [t("dash.progress.surveyed"), *(t("dash.progress.covered", label=i18n.check(c.value)) for c in CHECKS)]
    series = [[d.surveyed for d in days], *([d.covered[c.value][0] for d in days] for c in CHECKS)]
    top, spacing = _scale(max(max(values) for values in series))
    step = max(1, len(days) // 6)
    chart = fch.LineChart(
        data_series=[
            fch.LineChartData(points=[fch.LineChartDataPoint(x, y) for x, y in enumerate(values)],
                              color=color, stroke_width=3, curved=False)  # fmt: skip
            for values, color in zip(series, LINE_COLORS)
        ],
        min_y=0, max_y=top, min_x=0, max_x=max(1, len(days) - 1),
        left_axis=fch.ChartAxis(label_size=48, label_spacing=spacing, show_max=False),
        bottom_axis=fch.ChartAxis(label_size=32, labels=[
            fch.ChartAxisLabel(value=x, label=ft.Text(days[x].date[5:], size=11)) for x in range(0, len(days), step)
        ]),
        horizontal_grid_lines=fch.ChartGridLines(color="#E0E0E0", width=1),
        height=280, expand=True,
    )  # fmt: skip
    legend = ft.Row([
        ft.Row([ft.Container(width=14, height=14, bgcolor=color), ft.Text(name, color=INK)], spacing=6)
        for name, color in zip(names, LINE_COLORS)
    ], wrap=True)  # fmt: skip
    summary = t("dash.progress.chart", days=len(days), last=days[-1].date, surveyed=model.number(days[-1].surveyed))
    table = ft.DataTable(
        columns=[ft.DataColumn(ft.Text(t(k), weight=ft.FontWeight.BOLD, color=INK))
                 for k in ("dash.col.date", "dash.progress.surveyed", *(f"dash.col.{c.value}" for c in CHECKS))],
        rows=[ft.DataRow(cells=[ft.DataCell(ft.Text(v, color=INK)) for v in model.day_text(d)]) for d in days],
        data_row_min_height=36, data_row_max_height=40, heading_row_color="#E8EEF7",
    )  # fmt: skip
    return [
        title,
        ft.Semantics(label=summary, container=True, content=ft.Container(chart, height=300, padding=8)),
        legend,
        ft.Text(t("dash.progress.table"), weight=ft.FontWeight.BOLD, color=INK),
        ft.Row([table], scroll=ft.ScrollMode.AUTO),
    ]


def _scale(highest: int) -> tuple[int, int]:
    """A round top for the y axis and the spacing of its labels (1, 2 or 5 × a power of ten)."""
    spacing = 1
    while highest / spacing > 6:
        for step in (2, 5, 10):
            if highest / (spacing * step) <= 6 or step == 10:
                spacing *= step
                break
    return (highest // spacing + 1) * spacing, spacing


def household(model: DashboardModel, actions: Actions, screen: HouseholdScreen, *, route: str) -> ft.View:
    t, i18n = model.i18n.t, model.i18n
    members: list[ft.Control] = []
    for m in screen.members:
        members.append(ft.Container(
            padding=12, border=ft.Border.all(1, "#C4C7C5"), border_radius=8,
            content=ft.Column([
                ft.Text(t("dash.household.member", name=m.name, year=m.birth_year, presence=m.presence),
                        weight=ft.FontWeight.BOLD, color=INK),
                *(ft.Text(f"{i18n.check(c.value)}: {m.checks[c.value]}", color=INK) for c in CHECKS),
            ], spacing=4),
        ))  # fmt: skip
    controls: list[ft.Control] = [
        ft.Text(t("dash.household.title", label=screen.label_code), size=22, weight=ft.FontWeight.BOLD, color=INK),
        ft.Text(t("dash.household.read_only"), size=12, color=INK),
        ft.Text(t("dash.household.hamlet", hamlet=screen.hamlet), color=INK),
        ft.Text(t("dash.household.house_no", house_no=screen.house_no, address=screen.address), color=INK),
        ft.Text(t("dash.household.head", name=screen.head_name), color=INK),
        ft.Text(t("dash.household.visit", status=screen.visit_status, date=screen.surveyed_on), color=INK),
        ft.Text(t("dash.household.members"), size=18, weight=ft.FontWeight.BOLD, color=INK),
        *(members or [ft.Text(t("dash.household.no_members"), color=INK)]),
        ft.OutlinedButton(t("dash.back_to_start"), icon=ft.Icons.HOME,
                          on_click=lambda _: actions.go(f"/?structure={model.structure}")),
    ]  # fmt: skip
    return ft.View(route=route, appbar=app_bar(model, actions), padding=16, scroll=ft.ScrollMode.AUTO,
                   controls=[ft.Container(ft.Column(controls, spacing=10), width=720)])  # fmt: skip
