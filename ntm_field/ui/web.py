"""How the Flet apps (the field app with --web, the officer dashboard) are served to a browser.

Pages are served without cross-origin isolation (Flet's renderer stays "auto": skwasm where the browser
has it, else CanvasKit), so skwasm draws on the page's own thread, its documented fallback on a host that
does not isolate, instead of on its worker thread. With Flet's COOP/COEP headers, headless Chromium's
renderer was seen spinning its main thread and skwasm's worker at 100 % each, the page frozen for good
(the monkey's seeds 15 and 17, the dashboard's revoke test in CI). CanvasKit avoids the worker too but
measured 2× slower here (Save → "Đã lưu" p50 299 ms against 234 ms single-threaded, same machine).

A browser tab closed or reloaded is not an error of the app: `ClientGone` keeps it out of the logs.
"""

from __future__ import annotations

import logging
from typing import Any

_ISOLATION = {b"cross-origin-opener-policy", b"cross-origin-embedder-policy"}


class NotIsolated:
    """ASGI middleware: the response without the headers that would make the page cross-origin isolated."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [(k, v) for k, v in message.get("headers", []) if k.lower() not in _ISOLATION]
            await send(message)

        await self.app(scope, receive, sending)


def flet_asgi_app(*args, **kwargs):
    """`flet.fastapi.app(...)`, served without cross-origin isolation."""
    import flet_web.fastapi

    created = _original_app(flet_web.fastapi)(*args, **kwargs)
    created.add_middleware(NotIsolated)
    return created


def serve_without_isolation() -> None:
    """Make `ft.run(..., view=WEB_BROWSER)` build its web app with `flet_asgi_app`. Idempotent."""
    import flet_web.fastapi

    _original_app(flet_web.fastapi)
    flet_web.fastapi.app = flet_asgi_app


def _original_app(module):
    if not hasattr(module, "_ntm_original_app"):
        module._ntm_original_app = module.app
    return module._ntm_original_app


class ClientGone(logging.Filter):
    """A browser tab closed, reloaded or cut off while the app was sending to it is not an error of the app:
    uvicorn would log it as "Exception in ASGI application" with a whole traceback, and Flet's web transport
    as "Receive loop error" (a reload before the socket was accepted: the monkey's seed 16)."""

    GONE = frozenset({"ClientDisconnected", "WebSocketDisconnect", "WebSocketDisconnected", "ConnectionClosed",
                      "ConnectionClosedOK", "ConnectionClosedError", "InvalidState"})  # fmt: skip
    LOGGERS = ("uvicorn.error", "flet_web.fastapi")

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        seen = 0
        while error is not None and seen < 20:
            if type(error).__name__ in self.GONE:
                return False
            error, seen = error.__cause__ or error.__context__, seen + 1
        return True


def quiet_clients_gone() -> None:
    """Install `ClientGone` on the loggers that report a browser tab gone. Idempotent."""
    for name in ClientGone.LOGGERS:
        target = logging.getLogger(name)
        if not any(isinstance(f, ClientGone) for f in target.filters):
            target.addFilter(ClientGone())
