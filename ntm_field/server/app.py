"""The central endpoint's composition root: `create_app(settings)` opens the store, sets up the limits,
installs the routes (ntm_field/server/routes), the error answers (answers.py), admission (admission.py)
and the dashboard; `app_from_env()` is the same app for uvicorn's worker processes (`--workers N`).

Handlers only translate between HTTP and the server's functions; who may do what is the access
policy's (policy.py), request dependencies are deps.py's, body guards bodies.py's.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from starlette.routing import Match, Mount

from ntm_field import __version__
from ntm_field.server import answers, routes
from ntm_field.server.admission import Admission
from ntm_field.server import openapi as docs
from ntm_field.server.db import open_backend
from ntm_field.server.deps import Limits
from ntm_field.server.enrolment import enrol_link
from ntm_field.server.limits import DatabaseCounts, RateLimiter, WrongCodes
from ntm_field.server.settings import DASHBOARD_THREADS, Hooks, Settings
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
    app = FastAPI(title="ntm-field central endpoint", version=__version__, lifespan=_lifespan(pages, settings))
    # Pull pages are mostly repeated keys and codes: compressed answers cost a rural downlink ~6× less.
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    # Outside gzip, inside Unexpected (answers.install adds it last, outermost): a request waiting for
    # its turn holds nothing but its socket, and a refusal is sent before its body is read.
    slots = {"sync": settings.sync_slots, "read": settings.read_slots, "export": settings.export_slots}
    app.add_middleware(Admission, slots=slots, wait=settings.admission_wait, retry_after=settings.busy_retry_after)
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


def app_from_env() -> FastAPI:
    """The app of one worker process: settings from the environment (NTM_*), as `ntm-field server`
    leaves them for its workers (uvicorn's factory; the parent has already migrated the database)."""
    return create_app(Settings.from_env())


def _lifespan(pages, settings: Settings):
    """Bound this process's threads, and so its database connections (one per thread on PostgreSQL):
    the request pool to `settings.threads` (anyio's default is 40), the dashboard's reads (asyncio's
    executor, min(32, cores + 4) by default) to DASHBOARD_THREADS. Start and stop Flet's session manager
    with the server (a mounted app gets no lifespan of its own)."""

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.threads
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(DASHBOARD_THREADS, thread_name_prefix="ntm-dashboard")
        )
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


__all__ = ["Settings", "Hooks", "create_app", "app_from_env", "enrol_link"]
