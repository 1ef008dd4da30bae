"""Enrolment codes under clients that hurry: many phones type the same code at the same moment, against
two server processes on one database (both engines). A code of n uses enrols exactly n devices."""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import requests

from ntm_field.server.db import open_backend
from ntm_field.server.store import ServerStore
from tests.server.conftest import ENGINES, prepare_database, start_server, stop_server

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


@ENGINES
@pytest.mark.parametrize("uses", [1, 3])
def test_a_code_of_n_uses_enrols_n_phones_when_20_type_it_at_once(database_url, uses):
    prepare_database(database_url)
    [code] = _codes(database_url, [uses])
    # the phones typing at once share an address and a prefix: the wrong-guess limits are not what this tests
    many = {"NTM_WRONG_CODES_PER_PREFIX": "100", "NTM_WRONG_CODES_PER_ADDRESS": "100"}
    servers = [start_server(database_url, env=many), start_server(database_url, env=many)]
    try:
        start = threading.Barrier(PHONES)
        answers: list[requests.Response] = [None] * PHONES  # type: ignore[list-item]

        def phone(n: int) -> None:
            typed = code.lower() if n % 2 else code.replace("-", "")  # as people type it: any case, any grouping
            start.wait()
            answers[n] = requests.post(servers[n % 2].api("/api/v1/enrol"),
                                       json={"code": typed, "device_name": f"máy {n}"}, timeout=60)  # fmt: skip

        threads = [threading.Thread(target=phone, args=(n,)) for n in range(PHONES)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        for server in servers:
            stop_server(server.process)

    statuses = sorted(a.status_code for a in answers)
    assert statuses.count(201) == uses, statuses
    refused = [a for a in answers if a.status_code != 201]
    assert {a.status_code for a in refused} == {400}, statuses
    assert {a.json()["error"]["code"] for a in refused} == {"invalid_code"}
    assert len({a.json()["device_id"] for a in answers if a.status_code == 201}) == uses
    assert _uses_left(database_url) == [0]
