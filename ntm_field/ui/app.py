"""The field app's composition root and router: builds the store, the sync service, the view-models,
and maps each route to a screen. Routes (deep-linkable): /enrol, / (home), /households,
/households/new?hamlet=CODE, /household/ID (what a household's QR label opens; its draft when one is kept),
/draft/ID (an unfinished form), /sync, /settings; for a leader /team, /team/conflicts, /team/invite."""

from __future__ import annotations

import logging
import os
from functools import partial
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import flet as ft

from ntm_field.device import device_clock, new_id, open_device_store
from ntm_field.store import LocalStore
from ntm_field.sync.engine import SyncEngine
from ntm_field.sync.enrol import enrol_device
from ntm_field.sync.leader import LeaderClient
from ntm_field.sync.service import SyncService
from ntm_field.ui.context import AppContext
from ntm_field.ui.i18n import I18n
from ntm_field.ui.models.drafts import DraftKeeper
from ntm_field.ui.models.enrol import EnrolModel
from ntm_field.ui.models.form import FormModel
from ntm_field.ui.models.home import HomeModel
from ntm_field.ui.models.households import HouseholdListModel
from ntm_field.ui.models.settings import SettingsModel
from ntm_field.ui.models.sync import SyncModel
from ntm_field.ui.models.team import TeamModel
from ntm_field.ui.views import enrol, form, home, households, settings, sync, team
from ntm_field.ui.web import quiet_clients_gone, serve_without_isolation


def default_data_dir() -> Path:
    """Where the store lives: Flet's app storage on a phone, else the user's data directory."""
    storage = os.environ.get("FLET_APP_STORAGE_DATA")
    if storage:
        return Path(storage)
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "ntm-field"


def build_context(store: LocalStore, service: SyncService) -> AppContext:
    """Every view-model, sharing one store, one sync service and one language."""
    i18n = I18n("vi")
    enrolment = store.enrolment()
    form_model = FormModel(store, i18n, clock=device_clock, new_id=new_id, on_saved=service.saved)
    return AppContext(
        store=store,
        service=service,
        i18n=i18n,
        clock=device_clock,
        enrol=EnrolModel(partial(enrol_device, store, clock=device_clock), i18n,
                         server=enrolment.server if enrolment else ""),  # fmt: skip
        home=HomeModel(store),
        households=HouseholdListModel(store),
        form=form_model,
        drafts=DraftKeeper(store, form_model),
        sync=SyncModel(store, service, i18n),
        settings=SettingsModel(store, i18n),
        team=TeamModel(store, i18n, client=LeaderClient(store), clock=device_clock, sync_now=service.sync_now),
    )


def make_main(data_dir: Path):
    """The Flet entry point for a device store in `data_dir` (one store and service per process)."""
    drop_events_of_detached_controls()
    store = open_device_store(data_dir)
    service = SyncService(SyncEngine(store), clock=device_clock)
    service.start()

    def main(page: ft.Page) -> None:
        ctx = build_context(store, service)
        page.title = ctx.i18n.t("app.title")
        page.theme_mode = ft.ThemeMode.LIGHT
        page.locale_configuration = ft.LocaleConfiguration(
            supported_locales=[ft.Locale("vi", "VN"), ft.Locale("en", "US")], current_locale=ft.Locale("vi", "VN")
        )
        Router(page, ctx).start()

    return main


class Router:
    """One screen at a time, rebuilt from its view-model on each visit."""

    def __init__(self, page: ft.Page, ctx: AppContext):
        self.page, self.ctx = page, ctx
        ctx.go = self.go
        ctx.refresh = self.show
        ctx.sync.subscribe(self._sync_changed)
        self._chip_shown: tuple | None = None
        self._form_route: str | None = None

    def start(self) -> None:
        self.page.on_route_change = lambda _: self.show()
        self.page.on_disconnect = lambda _: self._closing()
        self.page.on_close = lambda _: self._closing()
        self.show()

    def _closing(self) -> None:
        self.ctx.drafts.flush_soon()  # a closed tab or a lost connection keeps what was typed
        self.ctx.sync.close()

    def go(self, route: str) -> None:
        """Open a screen; leaving a form with unsaved changes asks first (keep a draft, or discard).

        A new household opens at /draft/ID (a fresh id): its address names it from the first keystroke,
        so a reload, or the app reopened at that address, finds its draft."""
        parts = urlsplit(route)
        if parts.path == "/households/new":
            route = f"/draft/{new_id()}" + (f"?{parts.query}" if parts.query else "")
        if self._on_form() and self.ctx.form.dirty and route != self.page.route:
            self._ask_leave(route)
            return
        self._open(route)

    def _open(self, route: str) -> None:
        if route == self.page.route:
            self.show()
        else:
            self.page.navigate(route)

    def _on_form(self) -> bool:
        path = urlsplit(self.page.route or "/").path
        return path == "/households/new" or path.startswith(("/household/", "/draft/"))

    def _ask_leave(self, route: str) -> None:
        t, drafts = self.ctx.i18n.t, self.ctx.drafts

        def choose(action):
            def chosen(_) -> None:
                self.page.pop_dialog()
                if action is not None:
                    action()
                    self._form_route = None  # the form is closed: "new household" next time starts afresh
                    self._open(route)

            return chosen

        choices = [("form.leave.stay", None), ("form.leave.discard", drafts.discard), ("form.leave.keep", drafts.flush_soon)]
        self.page.show_dialog(ft.AlertDialog(
            modal=True, title=ft.Text(t("form.leave.title")), content=ft.Text(t("form.leave.body")),
            actions=[ft.TextButton(t(key), height=48, on_click=choose(action)) for key, action in choices],
        ))  # fmt: skip

    def show(self) -> None:
        self.ctx.drafts.flush_soon()  # whatever screen comes next, the form's last keystrokes are kept
        for old in self.page.views:
            if callable(old.data):
                self.ctx.form.unsubscribe(old.data)
        self.page.views.clear()
        self.page.views.append(self._screen(self.page.route or "/"))
        self.page.update()

    def _screen(self, route: str) -> ft.View:
        ctx = self.ctx
        path = urlsplit(route).path
        if ctx.store.enrolment() is None and path != "/enrol":
            return enrol.build(ctx)
        if path == "/enrol":
            return enrol.build(ctx)
        if path == "/households":
            return households.build(ctx)
        if path == "/households/new":
            if not (ctx.form.is_new and ctx.form.dirty and self._form_route == route):  # a reload keeps the form
                hamlet = parse_qs(urlsplit(route).query).get("hamlet", [""])[0]
                ctx.form.new_household(hamlet or _first_hamlet(ctx))
            return self._form(route)
        if path.startswith("/household/"):
            household_id = path.removeprefix("/household/")
            if not (ctx.form.household_id == household_id and ctx.form.dirty) and not ctx.form.resume_draft(household_id):
                ctx.form.load(household_id)
            return self._form(route)
        if path.startswith("/draft/"):
            household_id = path.removeprefix("/draft/")
            if ctx.form.household_id == household_id and (self._form_route == route or ctx.form.dirty):
                pass  # the same form drawn again, or its draft resumed in this session: memory is the newest
            elif ctx.store.draft(household_id) is not None:
                ctx.form.resume_draft(household_id)
            elif ctx.store.get(household_id) is not None:
                ctx.form.load(household_id)
            else:  # a new household, not typed into yet
                hamlet = parse_qs(urlsplit(route).query).get("hamlet", [""])[0]
                ctx.form.new_household(hamlet or _first_hamlet(ctx), household_id)
            return self._form(route)
        if path == "/sync":
            return sync.build(ctx)
        if path == "/settings":
            return settings.build(ctx)
        if path.startswith("/team") and ctx.team.is_leader:
            return {"/team/conflicts": team.conflicts, "/team/invite": team.invite}.get(path, team.build)(ctx)
        return home.build(ctx)

    def _form(self, route: str) -> ft.View:
        self._form_route = route
        return form.build(self.ctx, route)

    def _sync_changed(self) -> None:
        # Called on the sync worker thread: redraw on the page's own loop, and only screens that show it.
        path = urlsplit(self.page.route or "/").path
        state = self.ctx.sync.state
        shown = (state.status, state.pending, state.last_success)
        # Home shows the chip only: redraw it when the chip changes, not on every progress step (a redraw
        # replaces the screen's controls, and a tap landing meanwhile would be lost).
        if path == "/sync" or (path == "/" and shown != self._chip_shown):
            self._chip_shown = shown
            self.page.run_task(self._redraw)  # raises once the session is gone: the service then drops us

    async def _redraw(self) -> None:
        self.show()


def drop_events_of_detached_controls() -> None:
    """An event for a control that has left the page is dropped instead of crashing the session.

    A tap can race a screen change: the browser sends it for a control of the screen just replaced.
    Flet 1.0.5 then raises "Control must be added to the page first" while dispatching it, and the
    whole app turns into "Error running app". Screens keep their controls while they are shown
    (see views/form.py); this covers the moment between two screens. Idempotent.
    """
    if getattr(ft.BaseControl.before_event, "_drops_detached", False):
        return
    original = ft.BaseControl.before_event

    def before_event(control: ft.BaseControl, e: ft.ControlEvent):
        if not _attached(control):
            logging.getLogger(__name__).debug("dropped %s of a control no longer shown", e.name)
            return False
        return original(control, e)

    before_event._drops_detached = True
    ft.BaseControl.before_event = before_event
    _drop_replies_for_detached_controls()


def _drop_replies_for_detached_controls() -> None:
    """The browser's answer to a method call (focus, scroll) on a control that left the page meanwhile
    (Back pressed while the form scrolled to an error) is dropped; the caller gets an error it handles.
    Flet 1.0.5 raises in its receive loop instead, which ends the session ("Working…" for ever: seen by
    the monkey test, seed 15)."""
    from flet.messaging.session import Session

    original = Session.handle_invoke_method_results
    if getattr(original, "_drops_detached", False):
        return

    def handle(session, control_id, call_id, result, error):
        try:
            return original(session, control_id, call_id, result, error)
        except RuntimeError:
            calls, results = session._Session__method_calls, session._Session__method_call_results
            waiting = calls.pop(call_id, None)
            if waiting is not None:
                results[waiting] = (None, "the control left the page")
                waiting.set()

    handle._drops_detached = True
    Session.handle_invoke_method_results = handle


def _attached(control: ft.BaseControl) -> bool:
    node = control
    while node is not None:
        if isinstance(node, ft.BasePage):
            return True
        node = node.parent
    return False


def _first_hamlet(ctx: AppContext) -> str:
    hamlets = ctx.home.hamlets()
    return hamlets[0][0] if hamlets else ""


def run(*, data_dir: Path | None = None, web: bool = False, port: int = 0, host: str = "127.0.0.1") -> None:
    """Start the app: a desktop window where Flet's client is available, or a web server with --web."""
    quiet_clients_gone()
    main = make_main(data_dir or default_data_dir())
    view = ft.AppView.WEB_BROWSER if web else ft.AppView.FLET_APP
    if web:
        serve_without_isolation()
    ft.run(main, view=view, host=host if web else None, port=port, no_cdn=True, assets_dir=str(_assets()))


def _assets() -> Path:
    return Path(__file__).resolve().parents[2] / "assets"
