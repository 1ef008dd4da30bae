"""Holes a security review found in who may do what (issue 13), each reproduced over HTTP against a real
server process, on SQLite and on PostgreSQL:

1. a leader resolving a `hamlet_code` conflict moves the household out of its scope, or to no hamlet;
5. resolving a `deleted` conflict after the household was deleted answered 500 (and uvicorn logged a traceback);
7. a stored member id holding `]` made a conflict path that no resolve accepted;
9. an admin token minted admin codes through the API, and an admin code could name an unknown unit.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

import pytest
import requests

from ntm_field.domain.records import Household
from ntm_field.server import clocks
from ntm_field.server.changes import store_revision
from ntm_field.server.db import open_backend
from ntm_field.server.store import ServerStore
from tests.server.conftest import ENGINES, ntm, prepare_database, start_server, stop_server
from tests.server.test_http import auth, change, household, member, push_ok

TIMEOUT = 30
# A hamlet of another district (689) than the leader's commune 25216 (district 688).
OTHER_DISTRICT_CSV = "code,name,level,parent_code,expected_households\n25195-01,Khu phố Tân Phú 1,hamlet,25195,120\n"


def open_store(url: str) -> ServerStore:
    return ServerStore(open_backend(url), clock=lambda: datetime.now(timezone.utc), new_id=lambda: str(uuid.uuid4()))


@pytest.fixture
def server(database_url):
    """A server process whose units also hold 25195-01, a hamlet of another district; its stderr is kept
    (`server.log()`) to check that no traceback was logged."""
    url = prepare_database(database_url)
    store = open_store(url)
    store.load_units(OTHER_DISTRICT_CSV)
    store.close()
    running = start_server(url)
    logged: list[str] = []

    def log() -> str:
        if not logged:
            stop_server(running.process)
            logged.append(running.process.stderr.read().decode(errors="replace"))
        return logged[0]

    running.log = log
    yield running
    stop_server(running.process)


def admin_token(server) -> str:
    store = open_store(server.db)
    try:
        return store.create_admin_token("test admin")[1]
    finally:
        store.close()


def push_status(server, token: str, one: dict) -> dict:
    [result] = push_ok(server, token, [one])
    return result


def open_conflicts(server, token: str, unit: str = "25216") -> list[dict]:
    reply = requests.get(server.api(f"/api/v1/conflicts?unit={unit}"), headers=auth(token), timeout=TIMEOUT)
    assert reply.status_code == 200, reply.text
    return reply.json()["conflicts"]


def resolve(server, token: str, conflict_id: str, value) -> requests.Response:
    return requests.post(server.api(f"/api/v1/conflicts/{conflict_id}/resolve"), json={"value": value},
                         headers=auth(token), timeout=TIMEOUT)  # fmt: skip


def current(server, token: str, household_id: str) -> dict:
    """The household's latest change as a full pull gives it."""
    reply = requests.get(server.api("/api/v1/sync/pull?limit=1000"), headers=auth(token), timeout=TIMEOUT)
    assert reply.status_code == 200, reply.text
    [found] = [c for c in reply.json()["changes"] if c["id"] == household_id]
    return found


def clash(server, edit: dict, other: dict | None) -> tuple[dict, dict, dict, dict]:
    """Two surveyors of commune 25216 change one household of 25216-01 from the same revision: the first
    `edit`s it, the second `other`s it (None: deletes it), a conflict. Returns (the first surveyor, the
    commune's leader, the household's document, the second push's result)."""
    a, b = server.enrol("surveyor", "25216"), server.enrol("surveyor", "25216")
    leader = server.enrol("leader", "25216")
    doc = household("25216-01")
    [first] = push_ok(server, a["token"], [change(doc)])
    push_status(server, a["token"], change(doc | edit, base_rev=first["rev"]))
    second = change(None, deleted=True, household_id=doc["id"]) if other is None else change(doc | other)
    result = push_status(server, b["token"], second | {"base_rev": first["rev"]})
    assert result["status"] == "conflict", result
    return a, leader, doc, result


def assert_error(reply: requests.Response, status: int, code: str, field: str | None = None) -> None:
    assert reply.status_code == status, (reply.status_code, reply.text)
    error = reply.json()["error"]
    assert error["code"] == code, error
    if field is not None:
        assert error["field"] == field, error


# ----- finding 1: a resolved value is a write to its target hamlet ------------------------------------


@ENGINES
def test_a_resolved_hamlet_code_is_checked_as_a_write_to_the_target_hamlet(server):
    _, leader, doc, _ = clash(server, {"hamlet_code": "25216-02"}, {"hamlet_code": "25216-03"})
    [conflict] = [c for c in open_conflicts(server, leader["token"]) if c["field"] == "hamlet_code"]
    before = current(server, leader["token"], doc["id"])

    # another district's hamlet, the next commune's hamlet (same district), a hamlet nobody knows
    assert_error(resolve(server, leader["token"], conflict["id"], "25195-01"), 403, "forbidden", "value")
    assert_error(resolve(server, leader["token"], conflict["id"], "25217-01"), 403, "forbidden", "value")
    assert_error(resolve(server, leader["token"], conflict["id"], "99999-99"), 404, "unknown_unit", "value")
    # an admin may move a household anywhere, but not to a hamlet that does not exist
    assert_error(resolve(server, admin_token(server), conflict["id"], "99999-99"), 404, "unknown_unit", "value")
    # nothing changed: the household is where it was, the conflict still open
    assert current(server, leader["token"], doc["id"]) == before
    assert conflict["id"] in [c["id"] for c in open_conflicts(server, leader["token"])]

    done = resolve(server, leader["token"], conflict["id"], "25216-02")  # within the leader's commune
    assert done.status_code == 200, done.text
    moved = current(server, leader["token"], doc["id"])
    assert (moved["rev"], moved["data"]["hamlet_code"]) == (done.json()["rev"], "25216-02")
    assert "Traceback" not in server.log()


# ----- finding 5: a `deleted` conflict of a household deleted since ----------------------------------


@ENGINES
def test_keeping_a_household_that_was_deleted_since_is_a_clear_422_never_a_500(server):
    # one edits, the other deletes the version it had: a conflict on `deleted`
    a, leader, doc, deleting = clash(server, {"head_name": "Trần Văn An"}, None)
    [conflict] = open_conflicts(server, leader["token"])
    assert conflict["field"] == "deleted"
    # then someone deletes the household outright
    deleted = push_status(server, a["token"], change(None, deleted=True, household_id=doc["id"], base_rev=deleting["rev"]))
    assert deleted["status"] == "applied"

    keep = resolve(server, leader["token"], conflict["id"], False)
    assert_error(keep, 422, "invalid", "value")
    assert "deleted" in keep.json()["error"]["message"]
    assert [c["id"] for c in open_conflicts(server, leader["token"])] == [conflict["id"]]  # nothing changed
    assert current(server, leader["token"], doc["id"])["rev"] == deleted["rev"]
    done = resolve(server, leader["token"], conflict["id"], True)  # the choice that is left
    assert done.status_code == 200, done.text
    assert current(server, leader["token"], doc["id"])["deleted"] is True
    assert open_conflicts(server, leader["token"]) == []
    assert "Traceback" not in server.log() and "Exception" not in server.log()


# ----- finding 7: conflict paths of stored member ids holding `]` --------------------------------------


def store_with_conflicts(url: str, doc: dict, fields: list[str]) -> list[str]:
    """Store `doc` as revision of its household and open a conflict on each of `fields`, as data stored
    before member ids were limited (v1.1) can hold them; returns the conflicts' ids."""
    store = open_store(url)
    ids = []
    try:
        with store.backend.transaction() as tx:
            clocks.lock_hamlets(tx, [doc["hamlet_code"]])
            rev = clocks.next_rev(tx, store.dialect)
            store_revision(
                tx, household_id=doc["id"], rev=rev, previous=None, stored=Household.from_document(doc), deleted=False,
                fallback_hamlet=doc["hamlet_code"], status="applied", change_id=None, device_id="old", now="2024-04-12T02:00:00+00:00",
            )  # fmt: skip
            clocks.advance(tx, {doc["hamlet_code"]: rev})
            for field in fields:
                ids.append(str(uuid.uuid4()))
                tx.execute(
                    """INSERT INTO conflicts (id, household_id, hamlet_code, field, competing, status, created_rev, created_at)
                       VALUES (?, ?, ?, ?, ?, 'open', ?, ?)""",
                    [ids[-1], doc["id"], doc["hamlet_code"], field, json.dumps([]), rev, "2024-04-12T02:00:00+00:00"],
                )
    finally:
        store.close()
    return ids


@ENGINES
def test_a_stored_member_id_holding_a_bracket_gives_conflict_paths_that_resolve(server):
    leader = server.enrol("leader", "25216")
    odd = ["a]b", "x].full_name", "]", "c]]"]
    doc = household("25216-02", members=[member(i) for i in odd] + [member("m2")])
    paths = [f"members[id={i}].full_name" for i in odd] + ["members[id=c]]]"]
    conflicts = store_with_conflicts(server.db, doc, paths)

    for conflict_id, member_id in zip(conflicts, odd):
        done = resolve(server, leader["token"], conflict_id, f"Tên của {member_id}")
        assert done.status_code == 200, (member_id, done.text)
    removed = resolve(server, leader["token"], conflicts[-1], None)  # a whole member: removed
    assert removed.status_code == 200, removed.text
    members = current(server, leader["token"], doc["id"])["data"]["members"]
    assert [(m["id"], m["full_name"]) for m in members] == [
        ("a]b", "Tên của a]b"), ("x].full_name", "Tên của x].full_name"), ("]", "Tên của ]"), ("m2", "Lê Văn Bình"),
    ]
    assert open_conflicts(server, leader["token"]) == []


# ----- finding 9, second half: enrolment codes through the API ---------------------------------------


@ENGINES
def test_admin_codes_come_from_the_command_line_only_and_name_known_units(server):
    admin = admin_token(server)
    url = server.api("/api/v1/enrol-codes")

    def create(**body) -> requests.Response:
        return requests.post(url, json={"role": "officer", "scope": ["70"], **body}, headers=auth(admin), timeout=TIMEOUT)

    assert_error(create(role="admin"), 403, "forbidden", "role")
    assert_error(create(role="admin", scope=["99999"]), 403, "forbidden", "role")
    for role in ("surveyor", "leader", "officer"):
        assert_error(create(role=role, scope=["99999"]), 404, "unknown_unit", "scope")
        assert_error(create(role=role, scope=["70", "99999-99"]), 404, "unknown_unit", "scope")
        made = create(role=role, scope=["25216-01"])
        assert made.status_code == 201, made.text
    store = open_store(server.db)
    try:
        with store.backend.transaction() as tx:
            roles = [row[0] for row in tx.all("SELECT role FROM enrol_codes ORDER BY created_at")]
    finally:
        store.close()
    assert sorted(roles) == ["leader", "officer", "surveyor"]  # nothing else was stored

    # the command line still makes admin codes, and refuses an unknown unit in one line
    made = ntm("admin", "enrol-code", "--role", "admin", "--scope", "70", "--json", "--db", server.db)
    assert made.returncode == 0, made.stderr
    refused = ntm("admin", "enrol-code", "--role", "admin", "--scope", "70,99999", "--db", server.db)
    assert refused.returncode == 1 and "unknown unit 99999" in refused.stderr, refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1 and "Traceback" not in refused.stderr
