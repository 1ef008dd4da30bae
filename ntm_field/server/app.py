"""The central endpoint's composition root: `create_app(settings)` opens the store, sets up the limits,
installs the routes (ntm_field/server/routes), the error answers (answers.py) and the dashboard.

Handlers only translate between HTTP and the server's functions; who may do what is the access
policy's (policy.py), request dependencies are deps.py's, body guards bodies.py's.
"""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from starlette.routing import Match, Mount

from ntm_field import __version__
from ntm_field.server import answers, routes
from ntm_field.server import openapi as docs
from ntm_field.server.db import open_backend
from ntm_field.server.deps import Limits
from ntm_field.server.enrolment import enrol_link
from ntm_field.server.limits import DatabaseCounts, RateLimiter, WrongCodes
from ntm_field.server.settings import Hooks, Settings
from ntm_field.server.store import ServerStore


def create_app(
    settings: Settings, store: ServerStore | None = None, *, hooks: Hooks | None = None, dashboard: bool = True
) -> FastAPI:
    """Build the app; the store is opened (and migrated) here, never at import time. With `dashboard`,
    the officer dashboard (a Flet web app, ntm_field/ui/dashboard) is served under `/`. `hooks` are for
    tests only."""
    if store is None:
        store = ServerStore(open_backend(settings.database_url), clock=settings.clock, new_id=settings.new_id)
        store.migrate()
    pages = _dashboard(store) if dashboard else None
    app = FastAPI(title="ntm-field central endpoint", version=__version__, lifespan=_lifespan(pages))
    # Pull pages are mostly repeated keys and codes: compressed answers cost a rural downlink ~6× less.
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    app.state.store = store
    app.state.settings = settings
    app.state.hooks = hooks or Hooks()
    counts = DatabaseCounts.open(store.backend)  # shared by every server process on this database
    app.state.limits = Limits(
        per_token=RateLimiter(settings.requests_per_minute, name="token", counts=counts),
        enrolments=RateLimiter(settings.enrolments_per_minute, name="enrol", counts=counts),
        wrong_codes=WrongCodes(per_address=settings.wrong_codes_per_address, per_prefix=settings.wrong_codes_per_prefix,
                               window=settings.wrong_code_window, counts=counts),  # fmt: skip
    )
    answers.install(app)
    routes.install(app)
    docs.install(app)
    if pages is not None:
        app.router.routes.append(_PublicPages("/", app=pages.asgi))  # last: the API's routes answer first
    return app


def _dashboard(store: ServerStore):
    """The dashboard app reading this store in process (imported here: flet lives in the ui layer)."""
    from ntm_field.server.dashboard_source import DashboardSource
    from ntm_field.ui.dashboard.app import dashboard_app

    return dashboard_app(DashboardSource(store))


def _lifespan(pages):
    """Start and stop Flet's session manager with the server (a mounted app gets no lifespan of its own)."""

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        if pages is not None:
            await pages.start()
        try:
            yield
        finally:
            if pages is not None:
                await pages.stop()

    return lifespan


class _PublicPages(Mount):
    """The dashboard under `/`, but never for `/api/…`: an unknown API path or a wrong method keeps
    the router's own 404/405 in the contract's error shape instead of the dashboard's page."""

    def matches(self, scope):
        if scope["type"] in ("http", "websocket") and (scope["path"] + "/").startswith("/api/"):
            return Match.NONE, {}
        return super().matches(scope)


__all__ = ["Settings", "Hooks", "create_app", "enrol_link"]
