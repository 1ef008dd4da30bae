"""Failures by meaning, against small scripted HTTP servers on 127.0.0.1 (a captive portal, a busy
server, a refusing one): what is retried, after how long, and what stops the cycle at once."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ntm_field.domain.device import Enrolment
from ntm_field.domain.units import Level, Unit
from ntm_field.bench.households import generate
from ntm_field.sync.engine import Policy, SyncEngine
from ntm_field.sync.errors import Offline, Refused, ServerBusy
from ntm_field.sync.transport import Transport
from tests.sync.conftest import fast_policy

PAGE = {"changes": [], "cursor": "djE6MA", "has_more": False}


class Scripted:
    """An HTTP server answering each request with the next scripted (status, headers, body)."""

    def __init__(self, answers: list[tuple[int, dict, bytes]], default: tuple[int, dict, bytes] | None = None):
        self.answers, self.default, self.requests = list(answers), default, []
        scripted = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                scripted.requests.append((time.monotonic(), self.command, self.path))
                status, headers, body = scripted.answers.pop(0) if scripted.answers else scripted.default
                self.send_response(status)
                for name, value in {"Content-Length": str(len(body)), **headers}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def api(body: dict, status: int = 200, **headers) -> tuple[int, dict, bytes]:
    return status, {"Content-Type": "application/json", **headers}, json.dumps(body).encode()


def error(status: int, code: str, **headers) -> tuple[int, dict, bytes]:
    return api({"error": {"code": code, "message": code, "field": None}}, status, **headers)


@pytest.fixture
def scripted():
    servers = []

    def make(answers, default=None) -> Scripted:
        servers.append(Scripted(answers, default))
        return servers[-1]

    yield make
    for server in servers:
        server.close()


@pytest.fixture
def enrolled(store):
    def enrol(url: str):
        store.enrol(
            Enrolment(server=url, device_id="d1", token="t", role="surveyor", scope=("25216",),
                      enrolled_at=datetime(2024, 4, 12, tzinfo=timezone.utc)),  # fmt: skip
            [Unit("25216-01", "Khu phố 1", Level.HAMLET, "25216", 10)],
        )
        return store

    return enrol


def test_a_captive_portal_page_is_offline_not_an_answer(scripted):
    portal = scripted([], default=(200, {"Content-Type": "text/html"}, b"<html>Dang nhap Wi-Fi</html>"))
    with pytest.raises(Offline, match="not_the_server"), Transport(portal.url) as transport:
        transport.health()


def test_a_redirect_is_offline_and_not_followed(scripted):
    portal = scripted([(302, {"Location": "http://10.0.0.1/login"}, b"")])
    with pytest.raises(Offline), Transport(portal.url) as transport:
        transport.pull(None, 10)
    assert len(portal.requests) == 1


def test_a_tls_failure_is_offline_and_verification_stays_on(scripted):
    plain = scripted([], default=api({}))
    transport = Transport(plain.url.replace("http://", "https://"))
    assert transport._session.verify is True
    with pytest.raises(Offline, match="tls_failed"):
        transport.health()
    transport.close()
    source = "\n".join(p.read_text(encoding="utf-8") for p in Path("ntm_field").rglob("*.py"))
    assert "verify=False" not in source and "verify = False" not in source


def test_nothing_listening_is_offline():
    with Transport("http://127.0.0.1:9", connect_timeout=1) as transport, pytest.raises(Offline):
        transport.health()


def test_retry_after_is_honoured_before_the_next_attempt(scripted, enrolled):
    busy = scripted([error(429, "rate_limited", **{"Retry-After": "1"})], default=api(PAGE))
    report = SyncEngine(enrolled(busy.url), policy=fast_policy()).run()
    assert report.ok, report.problem
    (first, _, _), (second, _, path) = busy.requests
    assert path.startswith("/api/v1/sync/pull") and second - first >= 1.0


def test_server_errors_are_retried_with_backoff_then_given_up(scripted, enrolled):
    failing = scripted([], default=error(503, "unavailable"))
    report = SyncEngine(enrolled(failing.url), policy=fast_policy(attempts=4)).run()
    assert isinstance(report.problem, ServerBusy)
    assert len(failing.requests) == 4


def test_a_refused_request_is_not_retried(scripted, enrolled):
    refusing = scripted([], default=error(400, "invalid"))
    store = enrolled(refusing.url)
    store.save_many(generate(3, seed=1, hamlets=1, commune="25216"))
    report = SyncEngine(store, policy=fast_policy()).run()
    assert isinstance(report.problem, Refused) and report.problem.status == 400
    assert len(refusing.requests) == 1 and report.pending == 3


def test_backoff_grows_with_jitter_and_never_undercuts_retry_after():
    policy = Policy(backoff_base=1.0, backoff_cap=60.0)
    delays = [policy.backoff(attempt, None) for attempt in range(8)]
    assert all(0.5 * min(60, 2**a) <= d <= min(60, 2**a) for a, d in enumerate(delays))
    assert len({round(d, 6) for d in delays}) == len(delays)
    assert policy.backoff(0, 30.0) == 30.0
