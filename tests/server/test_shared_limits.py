"""Limits hold for the deployment as a whole (contract v1.1): two real server processes on one database,
requests alternating between them or sent at once, get exactly the limits of one process. Limits per
process would let twice as many through. Both engines."""

from __future__ import annotations

import itertools
import random
import threading
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import requests

from ntm_field.domain import enrol_code
from ntm_field.server.db import open_backend
from ntm_field.server.store import ServerStore
from tests.server.conftest import ENGINES, prepare_database, start_server, stop_server
from tests.server.test_enrol_codes import post_enrol, wrong_code

REQUESTS, ENROLMENTS, WRONG_PER_ADDRESS, WRONG_PER_PREFIX = 12, 10, 4, 3


@pytest.fixture
def two_servers(database_url):
    """Two `ntm-field server` processes on one database, with small limits."""
    db = prepare_database(database_url)
    env = {"NTM_REQUESTS_PER_MINUTE": str(REQUESTS), "NTM_ENROLMENTS_PER_MINUTE": str(ENROLMENTS),
           "NTM_WRONG_CODES_PER_ADDRESS": str(WRONG_PER_ADDRESS), "NTM_WRONG_CODES_PER_PREFIX": str(WRONG_PER_PREFIX)}  # fmt: skip
    servers = []
    try:
        for _ in range(2):
            servers.append(start_server(db, env=env))
        yield servers
    finally:
        for server in servers:
            stop_server(server.process)


def make_code(db: str, *, uses: int) -> str:
    store = ServerStore(open_backend(db), clock=lambda: datetime.now(timezone.utc), new_id=lambda: str(uuid.uuid4()))
    try:
        return store.create_enrol_code(role="surveyor", scope=["25216-01"], uses=uses, expires_in=timedelta(days=1),
                                       created_by="test").code  # fmt: skip
    finally:
        store.close()


def pull(server, token: str) -> int:
    return requests.get(server.api("/api/v1/sync/pull?limit=1"), headers={"Authorization": f"Bearer {token}"},
                        timeout=30).status_code  # fmt: skip


@ENGINES
def test_the_per_token_limit_holds_for_two_processes_together(two_servers):
    first, second = two_servers
    token = first.enrol("surveyor", "25216-01")["token"]
    answers = [pull(server, token) for server in itertools.islice(itertools.cycle(two_servers), 2 * REQUESTS)]
    assert answers == [200] * REQUESTS + [429] * REQUESTS
    assert pull(second, second.enrol("surveyor", "25216-01")["token"]) == 200  # another token: its own count

    # Sent at once: 8 threads, 3 requests each, half to each process.
    token = second.enrol("surveyor", "25216-01")["token"]
    answers, start = [], threading.Barrier(8)

    def send(server) -> None:
        start.wait()
        answers.extend(pull(server, token) for _ in range(3))

    threads = [threading.Thread(target=send, args=(two_servers[i % 2],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [200] * REQUESTS + [429] * (24 - REQUESTS)


@ENGINES
def test_enrolments_per_address_hold_for_two_processes_together(two_servers):
    code = make_code(two_servers[0].db, uses=2 * ENROLMENTS)
    answers = [post_enrol(server.url, code, source="127.0.0.21", name=f"phone {i}")[0]
               for i, server in enumerate(itertools.islice(itertools.cycle(two_servers), 2 * ENROLMENTS))]  # fmt: skip
    assert answers == [201] * ENROLMENTS + [429] * ENROLMENTS
    assert post_enrol(two_servers[1].url, code, source="127.0.0.22")[0] == 201  # another address: its own count


@ENGINES
def test_wrong_codes_per_address_and_per_prefix_hold_for_two_processes_together(two_servers):
    rng, servers = random.Random(3), itertools.cycle(two_servers)
    answers = [post_enrol(next(servers).url, wrong_code(rng), source="127.0.0.31")[0] for _ in range(2 * WRONG_PER_ADDRESS)]
    assert answers == [400] * WRONG_PER_ADDRESS + [429] * WRONG_PER_ADDRESS
    code = make_code(two_servers[0].db, uses=1)
    assert [post_enrol(server.url, code, source="127.0.0.31")[0] for server in two_servers] == [429, 429]

    # One prefix from many addresses: the prefix's count is shared too.
    start = enrol_code.normalise(code)[: enrol_code.PREFIX]
    guesses = [wrong_code(rng, start=start) for _ in range(2 * WRONG_PER_PREFIX)]
    answers = [post_enrol(next(servers).url, guess, source=f"127.0.0.{40 + i}")[0] for i, guess in enumerate(guesses)]
    assert answers == [400] * WRONG_PER_PREFIX + [429] * WRONG_PER_PREFIX
    assert [post_enrol(server.url, code, source="127.0.0.60")[0] for server in two_servers] == [429, 429]
