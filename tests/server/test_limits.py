"""Rate limits (429 with Retry-After) and the append-only audit log without personal data."""

from __future__ import annotations

from dataclasses import replace

import requests

from ntm_field.bench.households import generate
from ntm_field.server.db import open_backend
from tests.server.conftest import ENGINES


@ENGINES
def test_rate_limits_answer_429_with_retry_after(server):
    surveyor = server.enrol("surveyor", "25216-01")
    headers = {"Authorization": f"Bearer {surveyor['token']}"}
    session = requests.Session()
    codes = [session.get(server.api("/api/v1/sync/pull?limit=1"), headers=headers, timeout=10).status_code
             for _ in range(601)]  # fmt: skip
    assert codes[:600] == [200] * 600  # well above the contract's 120 a minute
    assert codes[600] == 429
    limited = session.get(server.api("/api/v1/sync/pull"), headers=headers, timeout=10)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert limited.json()["error"]["code"] == "rate_limited"
    # another token is not held back by this one
    other = server.enrol("surveyor", "25216-01")
    assert session.get(server.api("/api/v1/sync/pull"), headers={"Authorization": f"Bearer {other['token']}"},
                       timeout=10).status_code == 200  # fmt: skip
    # Enrolments per address and wrong codes per address and per prefix: tests/server/test_enrol_codes.py.


@ENGINES
def test_every_write_lands_in_the_audit_log_without_personal_data(server):
    surveyor = server.enrol("surveyor", "25216-01")
    household = replace(next(generate(1, seed=5)), hamlet_code="25216-01")
    requests.post(server.api("/api/v1/sync/push"), headers={"Authorization": f"Bearer {surveyor['token']}"},
                  json={"batch_id": "b", "changes": [{"change_id": "c", "id": household.id, "base_rev": None,
                                                      "deleted": False, "data": household.to_document()}]},
                  timeout=10)  # fmt: skip
    backend = open_backend(server.db)
    with backend.transaction() as tx:
        entries = tx.all("SELECT actor, action, target, detail FROM audit ORDER BY seq")
    backend.close()
    actions = [e[1] for e in entries]
    assert "units.load" in actions and "device.enrol" in actions and "household.push" in actions
    text = repr(entries)
    for member in household.members:
        assert member.full_name not in text
    assert household.head_name not in text and surveyor["token"] not in text
