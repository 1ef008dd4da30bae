"""Errors turned into HTTP answers, in the contract's one shape: the catalogue's errors, FastAPI's request
validation, the router's own 404/405, and anything unexpected (500 `internal`, logged by type only: no
traceback, no message, since a database's message can quote personal data)."""

from __future__ import annotations

import json
import logging
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ntm_field.server import errors

log = logging.getLogger("ntm_field.server")
INTERNAL = {"error": {"code": "internal", "message": "internal error", "field": None}}


def install(app: FastAPI) -> None:
    """Answer every error of `app` in the contract's shape."""
    app.add_exception_handler(errors.ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _request_invalid)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_middleware(Unexpected)


async def _api_error(_: Request, error: errors.ApiError) -> JSONResponse:
    return error_response(error)


def error_response(error: errors.ApiError) -> JSONResponse:
    """A catalogue error as the contract's answer; a "try again later" one (429 `rate_limited`, 503
    `overloaded`) says when in `Retry-After` (whole seconds). Also an ASGI app: admission.py sends it
    from its middleware, outside the exception handlers."""
    retry_after = getattr(error, "retry_after", None)
    headers = {"Retry-After": str(retry_after)} if isinstance(retry_after, int) else None
    return JSONResponse(error.body(), status_code=error.status, headers=headers)


async def _request_invalid(_: Request, error: RequestValidationError) -> JSONResponse:
    first = error.errors()[0] if error.errors() else {}
    where = ".".join(str(part) for part in first.get("loc", ())[1:]) or None
    invalid = errors.Invalid(f"{where or 'request'}: {first.get('msg', 'invalid')}", field=where)
    return JSONResponse(invalid.body(), status_code=invalid.status)


async def _http_error(_: Request, error: StarletteHTTPException) -> JSONResponse:
    """The router's own answers (404 no such path, 405 wrong method)."""
    try:
        code = HTTPStatus(error.status_code).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        code = "http_error"
    body = {"error": {"code": code, "message": str(error.detail), "field": None}}
    return JSONResponse(body, status_code=error.status_code, headers=getattr(error, "headers", None))


class Unexpected:
    """ASGI middleware: an exception nothing else handled becomes 500 `internal`, logged by its type only.

    (An exception handler for `Exception` would not do: Starlette answers with it, then raises the
    exception again for the server to log, and uvicorn logs the whole traceback.)"""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] in ("http.response.start", "websocket.accept", "websocket.close"):
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as error:  # noqa: BLE001 — the one place that answers what nothing else did
            log.error("unexpected %s while serving a request", type(error).__name__)
            if scope["type"] != "http" or started:
                return  # too late for an answer: the client sees the connection end
            body = json.dumps(INTERNAL).encode()
            await send({"type": "http.response.start", "status": 500,
                        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})  # fmt: skip
            await send({"type": "http.response.body", "body": body})


__all__ = ["install", "error_response", "Unexpected"]
