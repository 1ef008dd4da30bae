"""The central endpoint's HTTP edge: routes, auth, limits, and errors in the contract's one shape.

Handlers only translate between HTTP and the store; the rules live in
`changes.py`, `coverage.py` and the domain.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
import zlib
from contextlib import asynccontextmanager
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http import HTTPStatus
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Mount

from ntm_field import __version__
from ntm_field.domain import enrol_code
from ntm_field.server import errors
from ntm_field.server import openapi as docs
from ntm_field.server.changes import decode_cursor, pull, push_batch
from ntm_field.server import reports
from ntm_field.server.conflicts import list_conflicts, resolve
from ntm_field.server.coverage import coverage_report, scoped_unit
from ntm_field.server.db import open_backend
from ntm_field.server.limits import RateLimited, RateLimiter, WrongCodes
from ntm_field.server.store import ROLES, Device, ServerStore

log = logging.getLogger("ntm_field.server")

MAX_BODY = 1024 * 1024
MAX_INFLATED = 8 * 1024 * 1024
MAX_CHANGES = 500


@dataclass(frozen=True)
class Settings:
    """Typed settings of the central endpoint (environment prefix NTM_)."""

    database_url: str
    public_url: str = "http://127.0.0.1:8080"
    requests_per_minute: int = 600  # per token; the contract asks for at least 120
    enrolments_per_minute: int = 30  # per client address
    # Wrong enrolment codes, per client address and per code prefix, in a sliding window: past either
    # limit, that address or prefix is refused until the window has passed (a right code too).
    wrong_codes_per_address: int = 20
    wrong_codes_per_prefix: int = 10
    wrong_code_window: int = 15 * 60  # seconds
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(timezone.utc))
    new_id: Callable[[], str] = field(default=lambda: str(uuid.uuid4()))
    # Test-only fault hook: called after each change commits, before the reply. The command
    # line never sets it; tests/server/fault_server.py does.
    after_commit: Callable[[], None] | None = None


def create_app(settings: Settings, store: ServerStore | None = None, *, dashboard: bool = True) -> FastAPI:
    """Build the app; the store is opened (and migrated) here, never at import time. With `dashboard`,
    the officer dashboard (a Flet web app, ntm_field/ui/dashboard) is served under `/`."""
    if store is None:
        store = ServerStore(open_backend(settings.database_url), clock=settings.clock, new_id=settings.new_id)
        store.migrate()
    pages = _dashboard(store) if dashboard else None
    app = FastAPI(title="ntm-field central endpoint", version=__version__, lifespan=_lifespan(pages))
    # Pull pages are mostly repeated keys and codes: compressed answers cost a rural downlink ~6× less.
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    app.state.store = store
    app.state.token_limiter = RateLimiter(settings.requests_per_minute)
    enrol_limiter = RateLimiter(settings.enrolments_per_minute)
    wrong_codes = WrongCodes(per_address=settings.wrong_codes_per_address, per_prefix=settings.wrong_codes_per_prefix,
                             window=settings.wrong_code_window)  # fmt: skip

    @app.exception_handler(errors.ApiError)
    async def api_error(_: Request, error: errors.ApiError) -> JSONResponse:
        headers = {"Retry-After": str(error.retry_after)} if isinstance(error, RateLimited) else None
        return JSONResponse(error.body(), status_code=error.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def request_invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0] if error.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ())[1:]) or None
        return JSONResponse(
            errors.Invalid(f"{where or 'request'}: {first.get('msg', 'invalid')}", field=where).body(),
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, error: StarletteHTTPException) -> JSONResponse:
        # the router's own answers (404 no such path, 405 wrong method) in the contract's one shape
        try:
            code = HTTPStatus(error.status_code).phrase.lower().replace(" ", "_").replace("-", "_")
        except ValueError:
            code = "http_error"
        body = {"error": {"code": code, "message": str(error.detail), "field": None}}
        return JSONResponse(body, status_code=error.status_code, headers=getattr(error, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(_: Request, error: Exception) -> JSONResponse:
        # the type only: messages of database errors can quote personal data
        log.error("unexpected %s while serving a request", type(error).__name__)
        body = {"error": {"code": "internal", "message": "internal error", "field": None}}
        return JSONResponse(body, status_code=500)

    @app.get("/api/v1/health", **docs.ROUTES["health"])
    def health() -> dict:
        return {"status": "ok", "version": __version__, "time": settings.clock().isoformat()}

    @app.post("/api/v1/enrol", status_code=201, **docs.ROUTES["enrol"])
    async def enrol(request: Request) -> dict:
        # The client's address as uvicorn gives it: the peer, or X-Forwarded-For when the peer is a trusted
        # proxy (uvicorn's --forwarded-allow-ips, by default 127.0.0.1 only).
        address = request.client.host if request.client else "?"
        enrol_limiter.check(address)
        body = await _json_body(request)
        code, name = body.get("code"), body.get("device_name", "")
        if not isinstance(name, str) or len(name) > 100 or any(ord(c) < 32 or ord(c) == 127 for c in name):
            # control characters too: PostgreSQL text cannot hold NUL
            raise errors.Invalid("device_name must be text of at most 100 characters, no control characters",
                                 field="device_name")
        typed = code if isinstance(code, str) else ""
        guess = wrong_codes.attempt(address, enrol_code.prefix(enrol_code.normalise(typed[:200])))
        if not typed or len(typed) > 200:
            raise errors.InvalidCode("the enrolment code is not valid")
        device, token = await run_in_threadpool(store.enrol, typed, name)
        wrong_codes.right(guess)
        return {
            "device_id": device.id,
            "token": token,
            "role": device.role,
            "scope": list(device.scope),
            "server_time": settings.clock().isoformat(),
        }

    @app.post("/api/v1/enrol-codes", status_code=201, **docs.ROUTES["enrol-codes"])
    async def enrol_codes(request: Request, device: DeviceDep) -> dict:
        if device.role not in ("leader", "admin"):
            raise errors.Forbidden("only a leader or an admin creates enrolment codes")
        body = await _json_body(request)
        role, scope = body.get("role"), body.get("scope")
        uses, days = body.get("uses", 1), body.get("expires_in_days", 7)
        if role not in ROLES:
            raise errors.Invalid("role must be surveyor, leader, officer or admin", field="role")
        if not isinstance(scope, list) or not scope or not all(isinstance(c, str) for c in scope):
            raise errors.Invalid("scope must be a non-empty list of unit codes", field="scope")
        if type(uses) is not int or not 1 <= uses <= 1000:
            raise errors.Invalid("uses must be a whole number from 1 to 1000", field="uses")
        if type(days) is not int or not 1 <= days <= 90:
            raise errors.Invalid("expires_in_days must be a whole number from 1 to 90", field="expires_in_days")
        if device.role == "leader":
            if role != "surveyor":
                raise errors.Forbidden("a leader creates codes for surveyors only")
            tree = store.tree("2024")
            for code in scope:
                if code not in tree.units:
                    raise errors.UnknownUnit(f"unit {code} is not known", field="scope")
                if not set(tree.ancestors(code)) & set(device.scope):
                    raise errors.Forbidden("the scope is outside the leader's own")
        created = await run_in_threadpool(
            lambda: store.create_enrol_code(
                role=role, scope=scope, uses=uses, expires_in=timedelta(days=days), created_by=device.id
            )
        )
        return {
            "code": created.code,
            "link": enrol_link(settings.public_url, created.code),
            "role": created.role,
            "scope": list(created.scope),
            "expires": created.expires.isoformat(),
        }

    @app.post("/api/v1/sync/push", **docs.ROUTES["push"])
    async def sync_push(request: Request, device: DeviceDep) -> dict:
        if device.role == "officer":
            raise errors.Forbidden("an officer does not write households")
        body = await _push_body(request)
        batch_id, changes = body.get("batch_id"), body.get("changes")
        if not isinstance(batch_id, str) or not 1 <= len(batch_id) <= 100:
            raise errors.ApiError("batch_id must be a string of 1–100 characters", field="batch_id", code="invalid")
        if not isinstance(changes, list) or not all(isinstance(c, dict) for c in changes):
            raise errors.ApiError("changes must be an array of objects", field="changes", code="invalid")
        if len(changes) > MAX_CHANGES:
            raise errors.ApiError(f"at most {MAX_CHANGES} changes a batch", status=413, code="too_large")

        def apply() -> list[dict]:
            hamlets = store.tree("2024")
            today = settings.clock().date()
            return push_batch(store, device, changes, hamlets=hamlets, today=today, after_commit=settings.after_commit)

        results = await run_in_threadpool(apply)
        return {"batch_id": batch_id, "server_time": settings.clock().isoformat(), "results": results}

    @app.get("/api/v1/sync/pull", **docs.ROUTES["pull"])
    def sync_pull(
        device: DeviceDep,
        cursor: Annotated[str | None, Query(max_length=200)] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 500,
        include: Annotated[str | None, Query(pattern="^surveyor$")] = None,
    ) -> dict:
        try:
            after = decode_cursor(cursor)
        except ValueError:
            raise errors.Invalid("the cursor is not one this server gave", field="cursor") from None
        return pull(store, hamlets_in_scope(store, device), after=after, limit=limit, surveyor=include == "surveyor")

    @app.get("/api/v1/coverage", **docs.ROUTES["coverage"])
    def coverage(
        device: DeviceDep,
        unit: Annotated[str | None, Query(max_length=20)] = None,
        structure: Annotated[str | None, Query(pattern="^(2024|2025)$")] = None,
    ) -> dict:
        return coverage_report(store, device, unit=unit, structure=structure)

    @app.get("/api/v1/progress", **docs.ROUTES["progress"])
    def progress_series(
        device: DeviceDep,
        unit: Annotated[str | None, Query(max_length=20)] = None,
        structure: Annotated[str | None, Query(pattern="^(2024|2025)$")] = None,
    ) -> dict:
        rollup, code, hamlets = scoped_unit(store, device, unit=unit, structure=structure)
        found = rollup.unit(code)
        return {
            "unit": {"code": code, "name": found.name, "level": str(found.level)},
            "days": reports.progress(store, hamlets),
        }

    @app.get("/api/v1/conflicts", **docs.ROUTES["conflicts"])
    def conflicts_of(
        device: DeviceDep,
        unit: Annotated[str | None, Query(max_length=20)] = None,
        include: Annotated[str | None, Query(pattern="^device$", description="`device`: name each value's device")] = None,
    ) -> dict:
        if device.role == "surveyor":
            raise errors.Forbidden("conflicts are for leaders, officers and admins")
        _, _, hamlets = scoped_unit(store, device, unit=unit, structure="2024" if unit is None else None)
        return {"conflicts": list_conflicts(store, hamlets, device_names=include == "device")}

    @app.post("/api/v1/conflicts/{conflict_id}/resolve", **docs.ROUTES["resolve"])
    async def resolve_conflict(conflict_id: str, request: Request, device: DeviceDep) -> dict:
        if device.role not in ("leader", "admin"):
            raise errors.Forbidden("only a leader or an admin resolves conflicts")
        body = await _json_body(request)
        if "value" not in body:
            raise errors.Invalid("value is required", field="value")
        allowed = set(hamlets_in_scope(store, device))
        rev = await run_in_threadpool(
            lambda: resolve(store, device, conflict_id, body["value"], allowed_hamlets=allowed,
                            today=settings.clock().date())  # fmt: skip
        )
        return {"rev": rev}

    @app.get("/api/v1/export", response_class=Response, **docs.ROUTES["export"])
    def export(
        device: DeviceDep,
        unit: Annotated[str | None, Query(max_length=20)] = None,
        format: Annotated[str, Query(pattern="^(csv|xlsx)$")] = "csv",
        kind: Annotated[str, Query(pattern="^(members|coverage)$")] = "members",
    ) -> Response:
        exported = reports.export_file(store, device, unit=unit, format=format, kind=kind)
        disposition = {"Content-Disposition": f'attachment; filename="{exported.file_name}"'}
        return Response(exported.content, media_type=exported.media_type, headers=disposition)

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


def current_device(request: Request, authorization: Annotated[str | None, Header(include_in_schema=False)] = None) -> Device:
    """The device behind the bearer token (401/403 otherwise), counted against its rate limit."""
    if not authorization or not authorization.startswith("Bearer ") or len(authorization) > 200:
        raise errors.InvalidToken("a bearer token is required")
    device = request.app.state.store.authenticate(authorization.removeprefix("Bearer ").strip())
    request.app.state.token_limiter.check(device.id)
    return device


DeviceDep = Annotated[Device, Depends(current_device)]


def hamlets_in_scope(store: ServerStore, device: Device) -> list[str]:
    tree = store.tree("2024")
    if device.role == "admin":
        return [c for c, u in tree.units.items() if str(u.level) == "hamlet"]
    found: set[str] = set()
    for code in device.scope:
        found.update(tree.hamlets_under(code))
    return sorted(found)


def enrol_link(base_url: str, code: str) -> str:
    """The link an enrolment QR holds: the server's address and the code."""
    return f"{base_url.rstrip('/')}/enrol?code={code}"


async def _json_body(request: Request) -> dict:
    raw = await _read_limited(request, MAX_BODY)
    return _parse_json(raw)


async def _push_body(request: Request) -> dict:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise errors.ApiError("send application/json", status=415, code="unsupported_media_type")
    raw = await _read_limited(request, MAX_BODY)
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding == "gzip":
        raw = _gunzip_limited(raw, MAX_INFLATED)
    elif encoding not in ("identity", ""):
        raise errors.ApiError("only gzip content encoding is accepted", status=415, code="unsupported_media_type")
    return _parse_json(raw)


def _parse_json(raw: bytes) -> dict:
    """The body as a JSON object; 400 for anything else, never a 500 for what a client sent."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise errors.ApiError("the body is not JSON", code="invalid_json") from None
    except RecursionError:
        raise errors.ApiError("the body is nested too deeply", code="invalid_json") from None
    if not isinstance(body, dict):
        raise errors.ApiError("the body must be a JSON object", code="invalid_json")
    if _SURROGATE_ESCAPE.search(raw) and not _is_unicode(body):
        # a \ud800-style escape decodes to a lone surrogate: text that no database or reply can encode
        raise errors.ApiError("the body holds text that is not valid Unicode", code="invalid_json")
    return body


# A lone surrogate can only come from a \uD800–\uDFFF escape (raw UTF-8 bytes of one fail to decode):
# walk the parsed body only when the bytes hold such an escape.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _is_unicode(value: Any) -> bool:
    """Whether every string (keys included) in a parsed JSON value is valid Unicode (no lone surrogates)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return False
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return True


async def _read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise errors.ApiError("the body is over 1 MiB", status=413, code="too_large")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise errors.ApiError("the body is over 1 MiB", status=413, code="too_large")
        chunks.append(chunk)
    return b"".join(chunks)


def _gunzip_limited(raw: bytes, limit: int) -> bytes:
    """Inflate at most `limit` bytes: a gzip bomb is refused without being inflated in memory."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(raw, limit + 1)
    except zlib.error:
        raise errors.ApiError("the gzip body is damaged", code="invalid_json") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise errors.ApiError("the body is over 8 MiB inflated", status=413, code="too_large")
    return out


__all__ = ["Settings", "create_app"]
