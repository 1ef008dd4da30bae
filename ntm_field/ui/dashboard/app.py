"""The officer dashboard's composition root: an ASGI app the central endpoint mounts under `/`.

Routes (shareable; never a token): `/` (the start unit), `/unit/CODE?structure=2024|2025`,
`/household/ID` (what a household label's QR opens), `/sign-in`. A session that has not signed in
sees the sign-in form on any route and lands on the route it asked for once signed in.
"""

from __future__ import annotations

import asyncio
import logging

import flet as ft
import flet.fastapi as flet_fastapi

from ntm_field.ui.dashboard import views
from ntm_field.ui.dashboard.models import DashboardError, DashboardModel, Source, UnitScreen, parse_route
from ntm_field.ui.i18n import I18n
from ntm_field.ui.web import flet_asgi_app, quiet_clients_gone

log = logging.getLogger("ntm_field.dashboard")


class Dashboard:
    """The dashboard's ASGI app (`asgi`) and the lifespan hooks of Flet's session manager, which a
    mounted app does not get from its host: the host calls `start()` and `stop()`."""

    def __init__(self, source: Source):
        self.source = source
        quiet_clients_gone()  # a dashboard tab reloaded is not an error of the server
        self.asgi = flet_asgi_app(self._main, no_cdn=True, app_name="Bảng theo dõi 4 phủ")

    async def start(self) -> None:
        await flet_fastapi.app_manager.start()

    async def stop(self) -> None:
        await flet_fastapi.app_manager.shutdown()

    async def _main(self, page: ft.Page) -> None:
        page.title = I18n("vi").t("dash.title")
        page.theme_mode = ft.ThemeMode.LIGHT
        page.locale_configuration = ft.LocaleConfiguration(
            supported_locales=[ft.Locale("vi", "VN"), ft.Locale("en", "US")], current_locale=ft.Locale("vi", "VN")
        )
        await DashboardPage(page, DashboardModel(self.source, I18n("vi"))).start()


def dashboard_app(source: Source) -> Dashboard:
    """The dashboard reading `source` (the server's in-process DashboardSource)."""
    return Dashboard(source)


class DashboardPage:
    """One browser session: maps the route to a screen; slow reads run off the session's loop."""

    def __init__(self, page: ft.Page, model: DashboardModel):
        self.page, self.model = page, model
        self.picker = ft.FilePicker()
        self.error: str | None = None
        self.screen = None
        self.status = ""
        self._shown = 0  # bumps on every route shown: a slow read for an old route is dropped

    async def start(self) -> None:
        self.page.services.append(self.picker)
        self.page.on_route_change = self._route_changed
        await self.show()

    async def _route_changed(self, _event) -> None:
        await self.show()

    # Actions (what views call; each schedules the work on the session's loop) -------------------

    def go(self, route: str) -> None:
        self.page.run_task(self._go, route)

    def sign_in(self, token: str) -> None:
        self.page.run_task(self._sign_in, token)

    def sign_out(self) -> None:
        self.model.sign_out()
        self.error = None
        self.go("/sign-in")

    def toggle_language(self) -> None:
        self.model.i18n.lang = "en" if self.model.i18n.lang == "vi" else "vi"
        self.page.run_task(self.show)

    def switch_structure(self, structure: str) -> None:
        self.page.run_task(self._switch_structure, structure)

    def export(self, unit: str, button: str) -> None:
        self.page.run_task(self._export, unit, button)

    # the work --------------------------------------------------------------------------------

    async def _go(self, route: str) -> None:
        if route == self.page.route:
            await self.show()
        else:
            self.page.navigate(route)

    async def show(self) -> None:
        self._shown += 1
        ticket, route = self._shown, self.page.route or "/"
        wanted, model, t = parse_route(route), self.model, self.model.i18n.t
        self.status = ""
        if wanted.kind == "enrol":
            self._put(views.message(model, self, t("dash.enrol_link"), route=route))
            return
        if not model.signed_in:
            if wanted.kind in ("unit", "household"):
                model.pending_route = route
            notice = t("dash.sign_in.then_household") if wanted.kind == "household" else None
            self._put(views.sign_in(model, self, error=self.error, notice=notice, route=route))
            return
        if wanted.kind in ("home", "sign_in"):
            try:
                target = await asyncio.to_thread(model.switch_structure, wanted.structure)
            except DashboardError as error:
                await self._failed(error, route)
                return
            if ticket == self._shown:
                await self._go(target)
            return
        self._put(views.message(model, self, t("dash.loading"), route=route, loading=True))
        try:
            if wanted.kind == "household":
                screen = await asyncio.to_thread(model.open_household, wanted.code)
                view = views.household(model, self, screen, route=route)
            else:
                screen = await asyncio.to_thread(model.open_unit, wanted.code, wanted.structure)
                view = views.unit(model, self, screen, route=route)
            self.screen = screen
        except DashboardError as error:
            if ticket == self._shown:
                await self._failed(error, route)
            return
        if ticket == self._shown:
            self._put(view)

    async def _sign_in(self, token: str) -> None:
        self.error = await asyncio.to_thread(self.model.sign_in, token)
        if self.error:
            await self.show()
            return
        try:
            target = await asyncio.to_thread(self.model.after_sign_in)
        except DashboardError as error:
            await self._failed(error, self.page.route or "/")
            return
        await self._go(target)

    async def _switch_structure(self, structure: str) -> None:
        try:
            target = await asyncio.to_thread(self.model.switch_structure, structure)
        except DashboardError as error:
            await self._failed(error, self.page.route or "/")
            return
        await self._go(target)

    async def _failed(self, error: DashboardError, route: str) -> None:
        """Say what failed; when the token was refused (revoked, expired) the session is signed out: back
        to the sign-in screen with the reason, and to this page once signed in again."""
        if self.model.signed_in:
            self._put(views.message(self.model, self, error.message, route=route))
            return
        self.error, self.screen = error.message, None
        if parse_route(route).kind in ("unit", "household"):
            self.model.pending_route = route
        await self._go("/sign-in")

    async def _export(self, unit: str, button: str) -> None:
        t = self.model.i18n.t
        self._redraw_unit(t("dash.export.working"))
        try:
            name, content = await asyncio.to_thread(self.model.export, unit, button)
        except DashboardError as error:
            if self.model.signed_in:
                self._redraw_unit(error.message)
            else:
                await self._failed(error, self.page.route or "/")
            return
        # In a browser, FilePicker.save_file with the bytes makes the browser download them.
        try:
            await self.picker.save_file(file_name=name, src_bytes=content)
        except Exception as error:  # noqa: BLE001 — a closed tab or a client refusal: say so, never crash the page
            log.error("dashboard: download failed (%s)", type(error).__name__)
            self._redraw_unit(t("dash.error.other"))
            return
        self._redraw_unit(t("dash.export.done", file=name))

    def _redraw_unit(self, status: str) -> None:
        if isinstance(self.screen, UnitScreen) and parse_route(self.page.route).kind == "unit":
            self._put(views.unit(self.model, self, self.screen, route=self.page.route, status=status))

    def _put(self, view: ft.View) -> None:
        self.page.views.clear()
        self.page.views.append(view)
        self.page.update()


__all__ = ["Dashboard", "dashboard_app"]
