"""Enrolment codes under clients that hurry: 20 phones type each of five codes at the same moment (100 at
once), against two server processes on one database (both engines). A code of n uses enrols exactly n devices."""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timedelta, timezone

import requests

from ntm_field.server.db import open_backend
from ntm_field.server.store import ServerStore
from tests.server.conftest import at_once, ENGINES, prepare_database, start_server, stop_server

PHONES = 20


def _codes(database_url: str, uses: list[int]) -> list[str]:
    store = ServerStore(open_backend(database_url), clock=lambda: datetime.now(timezone.utc), new_id=lambda: str(uuid.uuid4()))
    try:
        return [
            store.create_enrol_code(role="surveyor", scope=["25216-01"], uses=n, expires_in=timedelta(days=1), created_by="t").code
            for n in uses
        ]
    finally:
        store.close()


def _uses_left(database_url: str) -> list[int]:
    backend = open_backend(database_url)
    try:
        with backend.transaction() as tx:
            return sorted(row[0] for row in tx.all("SELECT uses_left FROM enrol_codes"))
    finally:
        backend.close()


USES = [1, 1, 2, 3, 5]  # five codes, each typed by 20 phones at the same moment


@ENGINES
def test_five_codes_typed_by_20_phones_each_at_once_enrol_exactly_their_uses(database_url):
    prepare_database(database_url)
    codes = _codes(database_url, USES)
    # 100 phones behind one address sharing five prefixes: the limits are not what this tests
    many = {"NTM_WRONG_CODES_PER_PREFIX": "1000", "NTM_WRONG_CODES_PER_ADDRESS": "1000", "NTM_ENROLMENTS_PER_MINUTE": "1000"}
    servers = [start_server(database_url, env=many), start_server(database_url, env=many)]
    attempts = [(code, n) for code in codes for n in range(PHONES)]
    answers: list[requests.Response] = [None] * len(attempts)  # type: ignore[list-item]
    try:
        start = threading.Barrier(len(attempts))

        def phone(i: int) -> None:
            code, n = attempts[i]
            typed = code.lower() if n % 2 else code.replace("-", "")  # as people type it: any case, any grouping
            start.wait()
            answers[i] = requests.post(servers[i % 2].api("/api/v1/enrol"),
                                       json={"code": typed, "device_name": f"máy {i}"}, timeout=120)  # fmt: skip

        at_once(phone, range(len(attempts)))
    finally:
        for server in servers:
            stop_server(server.process)

    for code, uses in zip(codes, USES):
        mine = [a for (c, _), a in zip(attempts, answers) if c == code]
        statuses = sorted(a.status_code for a in mine)
        assert statuses.count(201) == uses, (uses, statuses)
        assert {a.status_code for a in mine if a.status_code != 201} == {400}, statuses
        assert {a.json()["error"]["code"] for a in mine if a.status_code != 201} == {"invalid_code"}
    enrolled = [a.json()["device_id"] for a in answers if a.status_code == 201]
    assert len(enrolled) == len(set(enrolled)) == sum(USES)
    assert _uses_left(database_url) == [0] * len(USES)
