"""Bounded admission (admission.py) against real servers: when every sync slot is busy a push waits at
most NTM_ADMISSION_WAIT, then is answered 503 `overloaded` with Retry-After in the contract's error shape
and nothing of it is stored; reads and health are not held behind pushes; a slow upload holds no slot;
the request threads are bounded by NTM_THREADS."""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
import time

import anyio.to_thread
import pytest
import requests
from starlette.testclient import TestClient

from ntm_field.server.admission import lane_of
from ntm_field.server.app import create_app
from ntm_field.server.settings import DASHBOARD_THREADS, Settings, SettingsError
from tests.server.conftest import (
    ENGINES,
    _free_port,
    ntm,
    prepare_database,
    stop_server,
)
from tests.server.gate_server import RETRY_AFTER, WAIT, gated_server, hold_the_sync_slot
from tests.server.test_http import (
    assert_error,
    change,
    coverage,
    household,
    pull_page,
    push,
)


@pytest.fixture
def gated(database_url, tmp_path):
    with gated_server(database_url, tmp_path) as running:
        yield running


def test_lanes_of_paths():
    assert [lane_of(p) for p in ("/api/v1/sync/push", "/api/v1/sync/pull", "/api/v1/export", "/api/v1/coverage",
                                 "/api/v1/progress", "/api/v1/enrol", "/api/v1/conflicts/x/resolve")] == [
        "sync", "sync", "export", "read", "read", "read", "read"]  # fmt: skip
    assert [lane_of(p) for p in ("/api/v1/health", "/", "/unit/70", "/openapi.json")] == [None] * 4


@ENGINES
def test_a_saturated_server_answers_503_with_retry_after_within_the_wait_and_stores_nothing(gated):
    server, gate = gated
    first_token = server.enrol("surveyor", "25216")["token"]
    second_token = server.enrol("surveyor", "25216")["token"]
    officer = server.enrol("officer", "25216")["token"]
    thread, first, replies = hold_the_sync_slot(server, gate, first_token)
    try:
        # reads and health have their own allowance: answered at once while the push holds its slot
        started = time.monotonic()
        assert requests.get(server.api("/api/v1/health"), timeout=WAIT).status_code == 200
        assert coverage(server, officer, "25216").status_code == 200
        assert time.monotonic() - started < WAIT  # not queued behind the push (it would wait WAIT, then 503)

        refused = change(household("25216-02"))
        started = time.monotonic()
        reply = push(server, second_token, [refused])
        waited = time.monotonic() - started
        error = assert_error(reply, 503, "overloaded")
        assert error["field"] is None and "nothing was applied" in error["message"]
        retry_after = reply.headers["Retry-After"]
        assert retry_after.isdigit() and RETRY_AFTER // 2 <= int(retry_after) <= RETRY_AFTER * 3 // 2
        assert WAIT - 0.1 <= waited < WAIT + 5 < 30  # it waited its turn, then answered long before a phone's timeout
        assert_error(pull_page(server, second_token), 503, "overloaded")  # pulls share the sync lane
    finally:
        gate.close()
        thread.join(timeout=30)
    assert replies[0].status_code == 200 and replies[0].json()["results"][0]["status"] == "applied"

    # nothing of the refused push was stored: the same change is applied now, as new, not a duplicate
    [result] = push(server, second_token, [refused]).json()["results"]
    assert (result["change_id"], result["status"]) == (refused["change_id"], "applied")
    stored = {c["id"] for c in pull_page(server, second_token).json()["changes"]}
    assert stored == {first["id"], refused["id"]}


def _raw_push_head(port: int, token: str, body: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall((f"POST /api/v1/sync/push HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                  f"Content-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: {len(body)}\r\n"
                  "Connection: close\r\n\r\n").encode())  # fmt: skip
    return sock


def test_a_slow_upload_holds_no_sync_slot(database_url):
    """One sync slot; a phone sends half its push and stalls: another phone's push is served meanwhile."""
    port = _free_port()
    env = {"NTM_SYNC_SLOTS": "1", "NTM_ADMISSION_WAIT": "1"}
    from tests.server.conftest import start_server

    server = start_server(prepare_database(database_url), env=env, port=port)
    try:
        slow_token, other_token = (server.enrol("surveyor", "25216")["token"] for _ in range(2))
        slow = change(household("25216-01"))
        body = gzip.compress(json.dumps({"batch_id": "slow", "changes": [slow]}).encode())
        sock = _raw_push_head(port, slow_token, body)
        try:
            sock.sendall(body[: len(body) // 2])
            time.sleep(0.3)
            for _ in range(3):  # each would wait 1 s and get 503 if the stalled upload held the slot
                reply = push(server, other_token, [change(household("25216-02"))])
                assert reply.status_code == 200, reply.text
            sock.sendall(body[len(body) // 2 :])
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        finally:
            sock.close()
        assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
        assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["results"][0]["status"] == "applied"
    finally:
        stop_server(server.process)


def test_the_request_threads_and_the_dashboards_executor_are_bounded_per_process(tmp_path):
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'server.db'}", threads=7, sync_slots=3, read_slots=2)
    app = create_app(settings, dashboard=False)
    with TestClient(app) as client:
        assert client.portal.call(lambda: anyio.to_thread.current_default_thread_limiter().total_tokens) == 7

        async def executor_size() -> int:
            executor = asyncio.get_running_loop()._default_executor  # no public reader of it
            return executor._max_workers

        assert client.portal.call(executor_size) == DASHBOARD_THREADS
        assert client.get("/api/v1/health").status_code == 200
    app.state.store.close()


def test_capacity_settings_that_would_starve_health_or_outwait_a_phone_are_refused():
    with pytest.raises(SettingsError, match="must be below NTM_THREADS"):
        Settings.from_env({"NTM_THREADS": "8", "NTM_SYNC_SLOTS": "6", "NTM_READ_SLOTS": "1"})
    with pytest.raises(SettingsError, match="NTM_ADMISSION_WAIT"):
        Settings.from_env({"NTM_ADMISSION_WAIT": "30"})
    assert Settings.from_env({"NTM_THREADS": "9", "NTM_SYNC_SLOTS": "6", "NTM_READ_SLOTS": "1"}).threads == 9
    result = ntm("server", "--port", "1", env={"NTM_SYNC_SLOTS": "40"})
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [(
        "ntm-field: NTM_SYNC_SLOTS + NTM_READ_SLOTS + NTM_EXPORT_SLOTS (45) must be below NTM_THREADS (12): "
        "a health check needs a thread of its own")]  # fmt: skip
    result = ntm("server", "--port", "1", "--workers", "0")
    assert result.returncode == 1 and result.stderr.strip() == "ntm-field: --workers must be at least 1"
