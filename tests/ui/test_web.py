"""The Flet apps are served without cross-origin isolation (ntm_field/ui/web.py): Flutter then draws on
the page's own thread instead of skwasm's worker, whose spin froze headless Chromium's renderer."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from ntm_field.ui.web import NotIsolated


def _isolating_app() -> Starlette:
    def page(_request):
        return PlainTextResponse("ok", headers={"Cross-Origin-Opener-Policy": "same-origin",
                                                "Cross-Origin-Embedder-Policy": "require-corp",
                                                "Access-Control-Allow-Origin": "*"})  # fmt: skip

    return Starlette(routes=[Route("/", page)])


def test_the_isolation_headers_are_dropped_and_the_others_kept():
    plain = TestClient(_isolating_app()).get("/")
    assert plain.headers["cross-origin-opener-policy"] == "same-origin"  # the app alone sets them
    reply = TestClient(NotIsolated(_isolating_app())).get("/")
    assert reply.status_code == 200 and reply.text == "ok"
    assert "cross-origin-opener-policy" not in reply.headers
    assert "cross-origin-embedder-policy" not in reply.headers
    assert reply.headers["access-control-allow-origin"] == "*"
