"""The field app's web server logs a phone that left (tab closed, reload, network cut) as nothing, and
any other exception as before: the monkey and size tests fail on a traceback in the app's log."""

from __future__ import annotations

import logging
import sys

from ntm_field.ui.web import ClientGone as _ClientGone


class ClientDisconnected(Exception):
    """Named as uvicorn's own."""


def record(raise_it) -> logging.LogRecord:
    try:
        raise_it()
    except Exception:
        return logging.LogRecord("uvicorn.error", logging.ERROR, "", 0, "Exception in ASGI application", None, sys.exc_info())
    raise AssertionError("nothing raised")


def test_a_client_that_left_is_not_logged_but_other_errors_are():
    def gone_while_sending():
        try:
            raise ClientDisconnected()
        except ClientDisconnected:
            raise RuntimeError("send after close")  # noqa: B904  (as uvicorn chains it)

    def a_bug():
        raise ValueError("a bug in a handler")

    assert _ClientGone().filter(record(gone_while_sending)) is False
    assert _ClientGone().filter(record(a_bug)) is True
    assert _ClientGone().filter(logging.LogRecord("uvicorn.error", logging.INFO, "", 0, "started", None, None)) is True


def test_a_reload_before_flets_socket_was_accepted_is_not_logged():
    """Flet's web transport logs a receive on a socket not yet accepted (the tab reloaded meanwhile) as
    "Receive loop error" with a traceback: the monkey's seed 16 failed on it."""
    from starlette.websockets import WebSocketDisconnected

    def reloaded():
        raise WebSocketDisconnected('WebSocket is not connected. Need to call "accept" first.')

    gone = record(reloaded)
    gone.name = "flet_web.fastapi"
    assert "flet_web.fastapi" in _ClientGone.LOGGERS
    assert _ClientGone().filter(gone) is False


def test_a_reply_about_a_control_that_left_the_page_is_dropped_and_its_caller_told():
    import asyncio
    from types import SimpleNamespace

    from flet.messaging.session import Session

    from ntm_field.ui.app import drop_events_of_detached_controls

    drop_events_of_detached_controls()
    waiting = asyncio.Event()
    session = SimpleNamespace(_Session__index={}, _Session__method_calls={"call-1": waiting},
                              _Session__method_call_results={})  # fmt: skip
    Session.handle_invoke_method_results(session, 3418, "call-1", None, None)  # Flet 1.0.5 raised here
    assert waiting.is_set() and session._Session__method_call_results[waiting] == (None, "the control left the page")
    Session.handle_invoke_method_results(session, 3418, "call-2", None, None)  # nobody waiting: nothing to do
