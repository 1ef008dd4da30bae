"""The central endpoint over plain HTTP: a real `ntm-field server` process, spoken to with `requests`.

Every test runs on SQLite and on PostgreSQL. The contract (docs: shared/spec/sync-api.md) is the
reference: statuses, codes and shapes are checked as it writes them. Tests group several checks
that share one server, since starting a server costs seconds.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import gzip
import json
import re
import uuid
from datetime import datetime, timedelta, timezone

import requests

from ntm_field import __version__
from ntm_field.bench.households import generate
from ntm_field.domain.codes import Check
from ntm_field.domain.indicators import tally
from ntm_field.domain.records import Household
from ntm_field.server.db import open_backend
from ntm_field.server.store import ServerStore
from tests.server.conftest import ENGINES, ntm

TIMEOUT = 30
VISITS = ("surveyed", "absent", "refused", "moved", "vacant")

# The household document of the contract, as written (only the hamlet differs where a test says so).
EXAMPLE = {
    "id": "3b0f5a0e-8a4e-4f6e-9d61-2f0c7a1d9e55",
    "hamlet_code": "25216-03",
    "house_no": "12", "address": "Tổ 3",
    "head_name": "Nguyễn Văn Đức",
    "visit_status": "surveyed",
    "surveyed_on": "2024-04-12",
    "consent": {"given": True, "notice_version": "2024-04"},
    "follow_up": {"due": "2024-05-02", "note": "quay lại buổi tối"},
    "note": "",
    "members": [
        {"id": "k3v9q2xa", "full_name": "Nguyễn Văn Đức", "birth_year": 1968, "presence": "resident",
         "cccd": "yes", "vneid": "level1", "smartphone": "yes", "sim": "owner",
         "reasons": {"vneid": "DATA_MISMATCH", "sim": "NOT_INTERESTED"},
         "assisted": ["vneid_level1_activated"], "note": ""}
    ],
    "updated_at": "2024-04-12T09:31:00+07:00",
}  # fmt: skip


# ----- helpers -------------------------------------------------------------------------


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def example(hamlet: str = "25216-01", **changes) -> dict:
    doc = copy.deepcopy(EXAMPLE)
    doc["hamlet_code"] = hamlet
    doc.update(changes)
    return doc


def household(hamlet: str, *, head_name: str = "Trần Thị Lan", members: list | None = None, **changes) -> dict:
    """A fresh valid household document (new id) in `hamlet`."""
    doc = example(hamlet, id=str(uuid.uuid4()), head_name=head_name, **changes)
    if members is not None:
        doc["members"] = members
    return doc


def member(member_id: str = "m1", **checks) -> dict:
    values = {"cccd": "no", "vneid": "no", "smartphone": "yes", "sim": "no"} | checks
    return {"id": member_id, "full_name": "Lê Văn Bình", "birth_year": 1980, "presence": "resident",
            **values, "reasons": {}, "assisted": [], "note": ""}  # fmt: skip


def change(doc: dict | None, *, base_rev: int | None = None, change_id: str | None = None,
           deleted: bool = False, household_id: str | None = None) -> dict:  # fmt: skip
    return {
        "change_id": change_id or str(uuid.uuid4()),
        "id": household_id or doc["id"],
        "base_rev": base_rev,
        "deleted": deleted,
        "data": doc,
    }


def push(server, token: str, changes: list, *, batch_id: str | None = None) -> requests.Response:
    body = {"batch_id": batch_id or f"batch-{uuid.uuid4().hex[:8]}", "changes": changes}
    return requests.post(server.api("/api/v1/sync/push"), json=body, headers=auth(token), timeout=TIMEOUT)


def push_ok(server, token: str, changes: list) -> list[dict]:
    reply = push(server, token, changes)
    assert reply.status_code == 200, reply.text
    results = reply.json()["results"]
    assert [r["change_id"] for r in results] == [c["change_id"] for c in changes]
    return results


def push_one(server, token: str, one: dict, status: str = "applied") -> int:
    [result] = push_ok(server, token, [one])
    assert result["status"] == status, result
    assert result["error"] is None
    return result["rev"]


def pull_page(server, token: str, *, cursor: str | None = None, limit: int | None = None) -> requests.Response:
    params = {k: v for k, v in {"cursor": cursor, "limit": limit}.items() if v is not None}
    return requests.get(server.api("/api/v1/sync/pull"), params=params, headers=auth(token), timeout=TIMEOUT)


def pull_all(server, token: str) -> dict[str, dict]:
    """Every household in the token's scope, by id (latest revision), following the cursor to the end."""
    found: dict[str, dict] = {}
    cursor = None
    for _ in range(1000):
        reply = pull_page(server, token, cursor=cursor, limit=1000)
        assert reply.status_code == 200, reply.text
        body = reply.json()
        for item in body["changes"]:
            if item["id"] not in found or found[item["id"]]["rev"] < item["rev"]:
                found[item["id"]] = item
        cursor = body["cursor"]
        if not body["has_more"]:
            return found
    raise AssertionError("pull never ended")


def snapshot(server, token: str) -> dict[str, int]:
    return {hid: item["rev"] for hid, item in pull_all(server, token).items()}


def coverage(server, token: str, unit: str | None = None, **params) -> requests.Response:
    if unit is not None:
        params["unit"] = unit
    return requests.get(server.api("/api/v1/coverage"), params=params, headers=auth(token), timeout=TIMEOUT)


def coverage_ok(server, token: str, unit: str | None = None, **params) -> dict:
    reply = coverage(server, token, unit, **params)
    assert reply.status_code == 200, reply.text
    return reply.json()


def assert_error(reply: requests.Response, status: int, code: str | None) -> dict:
    """The contract's one error shape, with the given status and code (None: any snake_case code)."""
    assert reply.status_code == status, (reply.status_code, reply.text)
    body = reply.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "field"}, body
    assert re.fullmatch(r"[a-z]+(_[a-z]+)*", body["error"]["code"]), body
    assert code is None or body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert body["error"]["field"] is None or isinstance(body["error"]["field"], str)
    return body["error"]


def make_code(server, role: str, scope: str, *, uses: int = 1, expires_in: timedelta = timedelta(days=7)) -> str:
    """An enrolment code made in process, through the same store call as `ntm-field admin enrol-code`."""
    store = ServerStore(open_backend(server.db), clock=lambda: datetime.now(timezone.utc), new_id=lambda: str(uuid.uuid4()))
    try:
        return store.create_enrol_code(
            role=role, scope=scope.split(","), uses=uses, expires_in=expires_in, created_by="test"
        ).code
    finally:
        store.close()


def enrol(server, code: str, name: str = "phone") -> requests.Response:
    return requests.post(server.api("/api/v1/enrol"), json={"code": code, "device_name": name}, timeout=TIMEOUT)


def aware(text: str) -> datetime:
    parsed = datetime.fromisoformat(text)
    assert parsed.tzinfo is not None, f"{text} has no offset"
    return parsed


def figures_of(households: list[Household]) -> dict:
    """What coverage must say about these households, counted by brute force with the domain's tally."""
    total = tally(households)
    visits = {visit: sum(1 for h in households if str(h.visit_status) == visit) for visit in VISITS}
    indicators = {}
    for check in Check:
        figure = total.figure(check)
        indicators[check.value] = {
            "covered": figure.covered, "eligible": figure.eligible, "unknown": figure.unknown,
            "rate": round(figure.covered / figure.eligible, 4) if figure.eligible else None,
        }  # fmt: skip
        if check is Check.VNEID:
            indicators[check.value]["level1"] = figure.level1
    return {"households": visits, "indicators": indicators, "fully_covered_households": total.fully_covered}


def figures_in(report: dict) -> dict:
    """The same figures read from a coverage report (without `expected`, which is not counted)."""
    return {
        "households": {visit: report["households"][visit] for visit in VISITS},
        "indicators": report["indicators"],
        "fully_covered_households": report["fully_covered_households"],
    }


def stored_households(server, token: str) -> list[Household]:
    return [Household.from_document(item["data"]) for item in pull_all(server, token).values() if not item["deleted"]]


# ----- 1. health, enrolment, enrolment codes --------------------------------------------


@ENGINES
def test_health_enrol_and_leader_codes(server):
    health = requests.get(server.api("/api/v1/health"), timeout=TIMEOUT)
    assert health.status_code == 200
    assert set(health.json()) == {"status", "version", "time"}
    assert health.json()["status"] == "ok" and health.json()["version"] == __version__
    assert abs(aware(health.json()["time"]) - datetime.now(timezone.utc)) < timedelta(minutes=5)
    # errors have one shape, the router's own 404 and 405 included
    assert_error(requests.get(server.api("/api/v1/no-such-endpoint"), timeout=TIMEOUT), 404, None)
    not_allowed = requests.get(server.api("/api/v1/sync/push"), timeout=TIMEOUT)
    assert_error(not_allowed, 405, None)
    assert "POST" in not_allowed.headers.get("Allow", "")
    assert_error(requests.post(server.api("/api/v1/enrol"), data=b"{not json", timeout=TIMEOUT), 400, None)

    # enrol with a code from `ntm-field admin enrol-code`: 201 with the contract's shape
    created = ntm("admin", "enrol-code", "--role", "surveyor", "--scope", "25216-03", "--json", "--db", server.db)
    assert created.returncode == 0, created.stderr
    code = json.loads(created.stdout)["code"]
    reply = enrol(server, code)
    assert reply.status_code == 201, reply.text
    device = reply.json()
    assert set(device) == {"device_id", "token", "role", "scope", "server_time"}
    assert device["role"] == "surveyor" and device["scope"] == ["25216-03"]
    assert isinstance(device["device_id"], str) and device["device_id"]
    assert isinstance(device["token"], str) and len(device["token"]) >= 20
    aware(device["server_time"])
    assert pull_page(server, device["token"]).status_code == 200  # the token works

    # used up, unknown and expired codes: 400 invalid_code, no hint which
    used_up = assert_error(enrol(server, code), 400, "invalid_code")
    unknown = assert_error(enrol(server, "no-such-code-" + uuid.uuid4().hex), 400, "invalid_code")
    expired = assert_error(enrol(server, make_code(server, "surveyor", "25216-03", expires_in=timedelta(0))), 400, "invalid_code")
    assert used_up["message"] == unknown["message"] == expired["message"]
    assert_error(requests.post(server.api("/api/v1/enrol"), json={"device_name": "x"}, timeout=TIMEOUT),
                 400, "invalid_code")  # fmt: skip

    # a leader creates a code for a surveyor within its scope
    leader = server.enrol("leader", "25216")
    codes_url = server.api("/api/v1/enrol-codes")
    request = {"role": "surveyor", "scope": ["25216-03"], "uses": 2, "expires_in_days": 7}
    reply = requests.post(codes_url, json=request, headers=auth(leader["token"]), timeout=TIMEOUT)
    assert reply.status_code == 201, reply.text
    created = reply.json()
    assert set(created) == {"code", "link", "role", "scope", "expires"}
    assert created["role"] == "surveyor" and created["scope"] == ["25216-03"]
    assert created["code"] in created["link"] and created["link"].startswith("http")
    assert timedelta(days=6, hours=23) < aware(created["expires"]) - datetime.now(timezone.utc) <= timedelta(days=7)

    # the code enrols (twice: uses 2), then is used up
    first, second = enrol(server, created["code"], "a"), enrol(server, created["code"], "b")
    assert first.status_code == 201 and second.status_code == 201, (first.text, second.text)
    assert first.json()["device_id"] != second.json()["device_id"]
    assert first.json()["role"] == "surveyor" and first.json()["scope"] == ["25216-03"]
    assert_error(enrol(server, created["code"], "c"), 400, "invalid_code")
    # the new surveyor's scope is the one the leader gave: 25216-03 yes, 25216-01 no
    new_surveyor = first.json()["token"]
    statuses = [r["status"] for r in push_ok(server, new_surveyor, [change(household("25216-03")),
                                                                    change(household("25216-01"))])]  # fmt: skip
    assert statuses == ["applied", "rejected"]

    # whole commune of the leader: allowed too
    whole = requests.post(codes_url, json=request | {"scope": ["25216"]}, headers=auth(leader["token"]), timeout=TIMEOUT)
    assert whole.status_code == 201, whole.text

    # outside the leader's scope, partly outside, or another role: 403
    for refused in (
        {"scope": ["25217-01"]},
        {"scope": ["25216-03", "25217-01"]},
        {"scope": ["70"]},
        {"role": "officer"},
        {"role": "leader"},
        {"role": "admin"},
    ):
        reply = requests.post(codes_url, json=request | refused, headers=auth(leader["token"]), timeout=TIMEOUT)
        assert_error(reply, 403, "forbidden")
    # a unit the server does not know
    reply = requests.post(codes_url, json=request | {"scope": ["99999-01"]}, headers=auth(leader["token"]), timeout=TIMEOUT)
    assert_error(reply, 404, "unknown_unit")
    # a surveyor may not create codes; nobody without a token either
    reply = requests.post(codes_url, json=request, headers=auth(device["token"]), timeout=TIMEOUT)
    assert_error(reply, 403, "forbidden")
    assert_error(requests.post(codes_url, json=request, timeout=TIMEOUT), 401, "invalid_token")


# ----- 2. push: results per change and whole-request failures ---------------------------


@ENGINES
def test_push_results_and_refused_requests(server):
    surveyor = server.enrol("surveyor", "25216-01")
    token = surveyor["token"]
    watcher = server.enrol("leader", "25216")["token"]  # sees everything the pushes might store

    # the contract's example, applied
    doc = example("25216-01")
    first = change(doc)
    batch = {"batch_id": "batch-1", "changes": [first]}
    reply = requests.post(server.api("/api/v1/sync/push"), json=batch, headers=auth(token), timeout=TIMEOUT)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert set(body) == {"batch_id", "server_time", "results"} and body["batch_id"] == "batch-1"
    aware(body["server_time"])
    [result] = body["results"]
    assert set(result) == {"change_id", "id", "status", "rev", "error"}
    assert result["change_id"] == first["change_id"] and result["id"] == doc["id"]
    assert result["status"] == "applied" and result["error"] is None
    assert type(result["rev"]) is int
    rev = result["rev"]
    pulled = pull_all(server, token)
    assert pulled[doc["id"]] == {"id": doc["id"], "rev": rev, "deleted": False, "data": doc}

    # the same batch again: duplicate, same rev, nothing new
    again = requests.post(server.api("/api/v1/sync/push"), json=batch, headers=auth(token), timeout=TIMEOUT)
    assert again.status_code == 200
    assert again.json()["results"] == [dict(result, status="duplicate")]
    assert snapshot(server, watcher) == {doc["id"]: rev}

    # the same change_id with another body: rejected, the household unchanged
    reused = dict(first, data=example("25216-01", head_name="Người Khác"))
    [result] = push_ok(server, token, [reused])
    assert result["status"] == "rejected" and result["error"]["code"] == "change_id_reused"
    assert pull_all(server, token)[doc["id"]]["data"]["head_name"] == EXAMPLE["head_name"]
    assert snapshot(server, watcher) == {doc["id"]: rev}

    # one invalid change in a batch: rejected alone, with the path; the others applied
    good_a, good_b = household("25216-01"), household("25216-01", head_name="Phạm Minh Tuấn")
    bad = household("25216-01")
    bad["members"][0]["vneid"] = "yes"
    bad_change = change(bad)
    results = push_ok(server, token, [change(good_a), bad_change, change(good_b)])
    assert [r["status"] for r in results] == ["applied", "rejected", "applied"]
    assert results[1]["error"]["code"] == "invalid"
    assert results[1]["error"]["field"].endswith("members[0].vneid"), results[1]["error"]
    assert set(results[1]["error"]) == {"code", "message", "field"}
    assert results[0]["rev"] < results[2]["rev"]
    stored = snapshot(server, watcher)
    assert set(stored) == {doc["id"], good_a["id"], good_b["id"]}
    # nothing of a rejected change is stored: its change_id, corrected, is judged afresh
    bad["members"][0]["vneid"] = "level2"
    bad["members"][0]["reasons"] = {"sim": "NOT_INTERESTED"}
    fixed_rev = push_one(server, token, dict(bad_change, data=bad))
    assert pull_all(server, token)[bad["id"]]["rev"] == fixed_rev

    # out of scope, unknown hamlet, server-owned fields, a bad change envelope: each rejected alone
    before = snapshot(server, watcher)
    cases = {
        "unknown_hamlet": change(household("25216-09")),
        "forbidden_hamlet": change(household("25216-02")),
        "invalid/rev": change(household("25216-01") | {"rev": 3}),
        "invalid/device_id": change(household("25216-01") | {"device_id": surveyor["device_id"]}),
        "invalid/received_at": change(household("25216-01") | {"received_at": "2024-04-12T09:31:00+07:00"}),
        "invalid/id mismatch": change(household("25216-01"), household_id=str(uuid.uuid4())),
        "invalid/base_rev": change(household("25216-01"), base_rev="7"),  # type: ignore[arg-type]
    }
    results = push_ok(server, token, list(cases.values()))
    for (case, sent), result in zip(cases.items(), results, strict=True):
        assert result["status"] == "rejected", (case, result)
        assert result["error"]["code"] == case.split("/")[0], (case, result)
        assert result["id"] == sent["id"] and result["error"]["field"], (case, result)
    for case in ("invalid/rev", "invalid/device_id", "invalid/received_at"):
        assert results[list(cases).index(case)]["error"]["field"].endswith(case.split("/")[1])
    assert results[0]["error"]["field"].endswith("hamlet_code") and results[1]["error"]["field"].endswith("hamlet_code")
    assert snapshot(server, watcher) == before

    # gzip
    zipped_doc = household("25216-01")
    raw = json.dumps({"batch_id": "gz", "changes": [change(zipped_doc)]}).encode()
    reply = requests.post(
        server.api("/api/v1/sync/push"), data=gzip.compress(raw),
        headers=auth(token) | {"Content-Type": "application/json; charset=utf-8", "Content-Encoding": "gzip"},
        timeout=TIMEOUT,
    )  # fmt: skip
    assert reply.status_code == 200, reply.text
    assert reply.json()["results"][0]["status"] == "applied"
    assert zipped_doc["id"] in snapshot(server, watcher)
    # 3 MiB inflated, small as sent: within both limits (1 MiB as sent, 8 MiB decompressed)
    roomy_doc = household("25216-01")
    roomy = {"batch_id": "gz-roomy", "changes": [change(roomy_doc)], "padding": " " * (3 * 1024 * 1024)}
    reply = requests.post(
        server.api("/api/v1/sync/push"), data=gzip.compress(json.dumps(roomy).encode()),
        headers=auth(token) | {"Content-Type": "application/json", "Content-Encoding": "gzip"}, timeout=TIMEOUT,
    )  # fmt: skip
    assert reply.status_code == 200, reply.text
    assert reply.json()["results"][0]["status"] == "applied"

    # whole-request failures: nothing stored
    stored = snapshot(server, watcher)
    url = server.api("/api/v1/sync/push")
    json_headers = auth(token) | {"Content-Type": "application/json"}
    valid_change = change(household("25216-01"))

    def raw_push(data, headers=json_headers):
        return requests.post(url, data=data, headers=headers, timeout=TIMEOUT)

    assert_error(raw_push(b'{"batch_id": "x", "changes": [' + json.dumps(valid_change).encode()), 400, None)
    refused_400 = [
        {"changes": [valid_change]},  # no batch_id
        {"batch_id": 5, "changes": [valid_change]},  # batch_id not a string
        {"batch_id": "", "changes": [valid_change]},
        {"batch_id": "x" * 101, "changes": [valid_change]},
        {"batch_id": "x", "changes": valid_change},  # not an array
        {"batch_id": "x"},
        {"batch_id": "x", "changes": [valid_change, "not an object"]},
        [valid_change],  # not an object
    ]
    for envelope in refused_400:
        assert_error(raw_push(json.dumps(envelope).encode()), 400, None)
    assert_error(raw_push(b"\x1f\x8b not really gzip", json_headers | {"Content-Encoding": "gzip"}), 400, None)
    good_body = json.dumps({"batch_id": "x", "changes": [valid_change]}).encode()
    assert_error(raw_push(good_body, auth(token) | {"Content-Type": "text/plain"}), 415, None)
    assert_error(raw_push(good_body, auth(token)), 415, None)  # no content type at all
    big = json.dumps({"batch_id": "big", "changes": [valid_change], "padding": "x" * (1024 * 1024)}).encode()
    assert_error(raw_push(big), 413, None)
    # the same without a Content-Length (chunked): refused while reading
    assert_error(raw_push(iter([big[i:i + 65536] for i in range(0, len(big), 65536)])), 413, None)
    # a gzip bomb: 20 MiB of zeros inside valid JSON, about 20 KB as sent
    bomb_json = (b'{"batch_id": "bomb", "changes": [' + json.dumps(valid_change).encode()
                 + b'], "padding": "' + b"0" * (20 * 1024 * 1024) + b'"}')  # fmt: skip
    bomb = gzip.compress(bomb_json, compresslevel=9)
    assert len(bomb) < 100_000
    assert_error(raw_push(bomb, json_headers | {"Content-Encoding": "gzip"}), 413, None)
    assert requests.get(server.api("/api/v1/health"), timeout=TIMEOUT).json()["status"] == "ok"
    # 501 changes: refused whole; 500 are processed
    many = [change(household("25216-01")) for _ in range(501)]
    reply = requests.post(url, json={"batch_id": "many", "changes": many}, headers=auth(token), timeout=TIMEOUT)
    assert_error(reply, 413, None)
    invalid_500 = [change(household("25216-01", head_name="")) for _ in range(500)]
    reply = requests.post(url, json={"batch_id": "500", "changes": invalid_500}, headers=auth(token), timeout=TIMEOUT)
    assert reply.status_code == 200, reply.text
    assert [r["status"] for r in reply.json()["results"]] == ["rejected"] * 500
    assert snapshot(server, watcher) == stored

    # auth: officer 403, missing/unknown/malformed token 401
    officer = server.enrol("officer", "25216")["token"]
    assert_error(push(server, officer, [valid_change]), 403, "forbidden")
    no_token = requests.post(url, json={"batch_id": "x", "changes": [valid_change]}, timeout=TIMEOUT)
    assert_error(no_token, 401, "invalid_token")
    assert_error(push(server, "not-a-token", [valid_change]), 401, "invalid_token")
    basic = requests.post(url, json={"batch_id": "x", "changes": [valid_change]},
                          headers={"Authorization": f"Basic {token}"}, timeout=TIMEOUT)  # fmt: skip
    assert_error(basic, 401, "invalid_token")
    assert_error(pull_page(server, "not-a-token"), 401, "invalid_token")
    assert snapshot(server, watcher) == stored

    # the counters saw only what was stored
    assert figures_in(coverage_ok(server, watcher, "25216")) == figures_of(stored_households(server, watcher))

    # revoked: 401 device_revoked on push and pull
    revoked = ntm("admin", "revoke", surveyor["device_id"], "--db", server.db)
    assert revoked.returncode == 0, revoked.stderr
    assert_error(push(server, token, [valid_change]), 401, "device_revoked")
    assert_error(pull_page(server, token), 401, "device_revoked")
    assert_error(coverage(server, token, "25216-01"), 401, "device_revoked")
    assert snapshot(server, watcher) == stored
    assert valid_change["id"] not in stored


@ENGINES
def test_text_a_database_cannot_hold_is_refused_not_a_500(server):
    """Lone surrogates (\\ud800), NUL characters and deep nesting are valid JSON syntax: the server
    must answer them like any other bad input, never with a 500 (nor half-apply a batch)."""
    token = server.enrol("surveyor", "25216-01")["token"]
    watcher = server.enrol("leader", "25216")["token"]
    url = server.api("/api/v1/sync/push")

    def raw_push(text: str) -> requests.Response:
        return requests.post(url, data=text.encode(), headers=auth(token) | {"Content-Type": "application/json"},
                             timeout=TIMEOUT)  # fmt: skip

    def batch_text(*changes: dict, batch_id: str = "odd") -> str:
        return json.dumps({"batch_id": batch_id, "changes": list(changes)})

    before = snapshot(server, watcher)
    ok = change(household("25216-01"))
    # nested 100,000 deep: refused whole
    deep = batch_text(ok)[:-2] + ', {"change_id": "deep", "data": ' + "[" * 100_000 + "]" * 100_000 + "}]}"
    assert_error(raw_push(deep), 400, None)
    # a lone surrogate in batch_id: refused whole
    assert_error(raw_push(batch_text(ok, batch_id="PLACE").replace("PLACE", "\\ud800")), 400, None)
    assert snapshot(server, watcher) == before

    # a lone surrogate inside one change: refused whole (nothing applied) or that change rejected alone
    bad = change(household("25216-01", head_name="PLACE"))
    reply = raw_push(batch_text(ok, bad).replace("PLACE", "\\udc00"))
    if reply.status_code == 200:
        results = reply.json()["results"]
        assert [r["status"] for r in results] == ["applied", "rejected"], results
        assert results[1]["error"]["code"] == "invalid" and results[1]["error"]["field"].endswith("head_name")
        assert set(snapshot(server, watcher)) == set(before) | {ok["data"]["id"]}
    else:
        assert_error(reply, 400, None)
        assert snapshot(server, watcher) == before
    # a valid surrogate pair (an emoji written as escapes) is fine
    emoji = change(household("25216-01", note="PLACE"))
    reply = raw_push(batch_text(emoji).replace("PLACE", "\\ud83d\\ude00"))
    assert reply.status_code == 200 and reply.json()["results"][0]["status"] == "applied", reply.text
    assert pull_all(server, token)[emoji["id"]]["data"]["note"] == "\U0001f600"

    # NUL (a control character) in document text: rejected alone as invalid, with its path
    noted = household("25216-01", note="a\u0000b")
    [result] = push_ok(server, token, [change(noted)])
    assert result["status"] == "rejected" and result["error"]["code"] == "invalid", result
    assert result["error"]["field"].endswith("note") and noted["id"] not in pull_all(server, token)

    # enrolment: odd device names and codes get an error of the one shape (or enrol), never a 500
    enrol_url = server.api("/api/v1/enrol")
    code = make_code(server, "surveyor", "25216-01", uses=3)
    for text in ('{"code": "%s", "device_name": "a\\ud800"}' % code, '{"code": "a\\ud800", "device_name": "x"}'):
        reply = requests.post(enrol_url, data=text.encode(), headers={"Content-Type": "application/json"}, timeout=TIMEOUT)
        assert_error(reply, reply.status_code, None)
        assert 400 <= reply.status_code < 500
    reply = enrol(server, code, "a\u0000b")
    if reply.status_code == 201:
        assert pull_page(server, reply.json()["token"]).status_code == 200
    else:
        assert_error(reply, reply.status_code, None)
        assert 400 <= reply.status_code < 500
    assert enrol(server, code, "fine").status_code == 201  # the code was not used up by the refusals

    # last (it fails on PostgreSQL when the server answers 500):
    # NUL in a change_id (any 1-100 characters are accepted): stored or rejected alone, never a 500
    before = snapshot(server, watcher)
    first, last = change(household("25216-01")), change(household("25216-01"))
    nul = change(household("25216-01"), change_id="a\u0000b")
    reply = push(server, token, [first, nul, last])
    assert reply.status_code == 200, (reply.status_code, reply.text)
    results = reply.json()["results"]
    assert [results[0]["status"], results[2]["status"]] == ["applied", "applied"]
    if results[1]["status"] == "applied":
        [again] = push_ok(server, token, [nul])
        assert (again["status"], again["rev"]) == ("duplicate", results[1]["rev"])
    else:
        assert results[1]["status"] == "rejected" and results[1]["error"]["code"] == "invalid"
        assert results[1]["error"]["field"] == "change_id"
    assert set(snapshot(server, watcher)) >= set(before) | {first["id"], last["id"]}


# ----- 3. merge over HTTP --------------------------------------------------------------------


@ENGINES
def test_concurrent_edits_merge_conflict_and_delete(server):
    code = make_code(server, "surveyor", "25216-01", uses=2)
    a, b = (enrol(server, code, name).json()["token"] for name in ("A", "B"))

    # different fields: merged; updated_at takes the later value
    base = household("25216-01", head_name="Nguyễn Văn A", house_no="1",
                     members=[member("m1")], updated_at="2024-04-12T09:00:00+07:00")  # fmt: skip
    r = push_one(server, a, change(base))
    by_a = base | {"head_name": "Nguyễn Văn Á", "updated_at": "2024-04-12T11:00:00+07:00"}
    by_b = base | {"house_no": "7B", "updated_at": "2024-04-12T10:30:00+07:00"}
    first_edit = str(uuid.uuid4())
    ra = push_one(server, a, change(by_a, base_rev=r, change_id=first_edit))
    rb = push_one(server, b, change(by_b, base_rev=r), "merged")
    assert r < ra < rb
    stored = pull_all(server, b)[base["id"]]
    assert stored["rev"] == rb
    assert stored["data"]["head_name"] == "Nguyễn Văn Á" and stored["data"]["house_no"] == "7B"
    assert stored["data"]["updated_at"] == "2024-04-12T11:00:00+07:00"

    # the same field to different values: conflict, the later push's value stored
    current = stored["data"]
    push_one(server, a, change(current | {"head_name": "Trần Văn X"}, base_rev=rb))
    rc = push_one(server, b, change(current | {"head_name": "Lê Văn Y"}, base_rev=rb), "conflict")
    stored = pull_all(server, a)[base["id"]]
    assert stored["rev"] == rc and stored["data"]["head_name"] == "Lê Văn Y"
    assert stored["data"]["house_no"] == "7B"

    # A's first edit sent again after all that: duplicate with its first rev, nothing applied again
    [again] = push_ok(server, a, [change(by_a, base_rev=r, change_id=first_edit)])
    assert (again["status"], again["rev"]) == ("duplicate", ra)
    assert pull_all(server, a)[base["id"]]["rev"] == rc

    # monotone checks take the more covered value: cccd no → yes (A) and no → unknown (B): yes
    mono = household("25216-01", members=[member("m1", cccd="no", vneid="no", sim="no")])
    rm = push_one(server, a, change(mono))
    mono_a = mono | {"members": [member("m1", cccd="yes", vneid="level1", sim="no")]}
    mono_b = mono | {"members": [member("m1", cccd="unknown", vneid="level2", sim="owner")]}
    push_one(server, a, change(mono_a, base_rev=rm))
    push_one(server, b, change(mono_b, base_rev=rm), "merged")
    stored_member = pull_all(server, a)[mono["id"]]["data"]["members"][0]
    assert (stored_member["cccd"], stored_member["vneid"], stored_member["sim"]) == ("yes", "level2", "owner")

    # smartphone is not monotone: both changed it differently → conflict, later push stored
    phone = household("25216-01", members=[member("m1", smartphone="yes")])
    rp = push_one(server, a, change(phone))
    push_one(server, a, change(phone | {"members": [member("m1", smartphone="no")]}, base_rev=rp))
    push_one(server, b, change(phone | {"members": [member("m1", smartphone="unknown")]}, base_rev=rp), "conflict")
    assert pull_all(server, a)[phone["id"]]["data"]["members"][0]["smartphone"] == "unknown"

    # members matched by id: one side adds a member, the other edits another → merged, both kept
    pair = household("25216-01", members=[member("m1")])
    rq = push_one(server, a, change(pair))
    push_one(server, a, change(pair | {"members": [member("m1"), member("m2", cccd="yes")]}, base_rev=rq))
    push_one(server, b, change(pair | {"members": [member("m1", vneid="level2")]}, base_rev=rq), "merged")
    members = {m["id"]: m for m in pull_all(server, a)[pair["id"]]["data"]["members"]}
    assert set(members) == {"m1", "m2"} and members["m1"]["vneid"] == "level2" and members["m2"]["cccd"] == "yes"

    # a deletion from the current revision: pulled as deleted, out of every figure
    gone = household("25216-01", members=[member("m1", cccd="yes"), member("m2", vneid="level2")])
    rg = push_one(server, a, change(gone))
    hamlet_before = coverage_ok(server, a, "25216-01")
    assert figures_in(hamlet_before) == figures_of(stored_households(server, a))
    rd = push_one(server, b, change(None, base_rev=rg, deleted=True, household_id=gone["id"]))
    assert rd > rg
    assert pull_all(server, a)[gone["id"]] == {"id": gone["id"], "rev": rd, "deleted": True, "data": None}
    hamlet_after = coverage_ok(server, a, "25216-01")
    assert hamlet_after["households"]["surveyed"] == hamlet_before["households"]["surveyed"] - 1
    assert hamlet_after["indicators"]["cccd"]["eligible"] == hamlet_before["indicators"]["cccd"]["eligible"] - 2
    assert figures_in(hamlet_after) == figures_of(stored_households(server, a))
    assert figures_in(coverage_ok(server, a, "25216-01")) == figures_in(hamlet_after)

    # a deletion concurrent with an edit: conflict on `deleted`, the household stays
    kept = household("25216-01", members=[member("m1")])
    rk = push_one(server, a, change(kept))
    push_one(server, a, change(kept | {"head_name": "Đỗ Thị Mai"}, base_rev=rk))
    push_one(server, b, change(None, base_rev=rk, deleted=True, household_id=kept["id"]), "conflict")
    stored = pull_all(server, a)[kept["id"]]
    assert stored["deleted"] is False and stored["data"]["head_name"] == "Đỗ Thị Mai"

    # the deletion first, then the concurrent edit: conflict on `deleted`, the edited household is back
    back = household("25216-01", members=[member("m1")])
    rk2 = push_one(server, a, change(back))
    push_one(server, a, change(None, base_rev=rk2, deleted=True, household_id=back["id"]))
    push_one(server, b, change(back | {"house_no": "99"}, base_rev=rk2), "conflict")
    stored = pull_all(server, a)[back["id"]]
    assert stored["deleted"] is False and stored["data"]["house_no"] == "99"

    # a member removed on one side and edited on the other: kept as edited, conflict on the member
    trio = household("25216-01", members=[member("m1"), member("m2")])
    rt = push_one(server, a, change(trio))
    push_one(server, a, change(trio | {"members": [member("m1")]}, base_rev=rt))
    push_one(server, b, change(trio | {"members": [member("m1"), member("m2", cccd="yes")]}, base_rev=rt), "conflict")
    members = {m["id"]: m for m in pull_all(server, a)[trio["id"]]["data"]["members"]}
    assert set(members) == {"m1", "m2"} and members["m2"]["cccd"] == "yes"

    # a base_rev that is not a revision of this household, or newer than its current one: rejected
    before = snapshot(server, a)
    newest = max(before.values())
    wrong_base = push_ok(server, b, [change(trio | {"note": "x"}, base_rev=rg),
                                     change(trio | {"note": "y"}, base_rev=newest + 5)])  # fmt: skip
    assert [(r["status"], r["error"]["code"], r["error"]["field"]) for r in wrong_base] == [
        ("rejected", "invalid", "base_rev")] * 2
    assert snapshot(server, a) == before

    # counters followed every merge, conflict and deletion
    assert figures_in(coverage_ok(server, a, "25216-01")) == figures_of(stored_households(server, a))

    # the conflicts were recorded with both values (nothing lost); the merges recorded none
    leader = server.enrol("leader", "25216")["token"]
    listed = requests.get(server.api("/api/v1/conflicts"), params={"unit": "25216-01"}, headers=auth(leader),
                          timeout=TIMEOUT)  # fmt: skip
    assert listed.status_code == 200, listed.text
    recorded = {(c["household_id"], c["field"]): sorted(map(json.dumps, (v["value"] for v in c["values"])))
                for c in listed.json()["conflicts"]}  # fmt: skip
    assert recorded == {
        (base["id"], "head_name"): sorted(map(json.dumps, ["Trần Văn X", "Lê Văn Y"])),
        (phone["id"], "members[id=m1].smartphone"): sorted(map(json.dumps, ["no", "unknown"])),
        (kept["id"], "deleted"): sorted(map(json.dumps, [False, True])),
        (back["id"], "deleted"): sorted(map(json.dumps, [False, True])),
        (trio["id"], "members[id=m2]"): sorted(map(json.dumps, [None, member("m2", cccd="yes")])),
    }


# ----- 4. pull --------------------------------------------------------------------------------


@ENGINES
def test_pull_pages_scope_and_bad_cursor(server):
    one = server.enrol("surveyor", "25216-01")["token"]
    two = server.enrol("surveyor", "25216-02")["token"]
    mine, theirs = [], []
    for n in range(3):  # interleaved with the other hamlet's households
        doc = household("25216-01", house_no=str(n))
        mine.append((doc["id"], push_one(server, one, change(doc))))
        other = household("25216-02", house_no=str(n))
        theirs.append((other["id"], push_one(server, two, change(other))))

    pages, cursor = [], None
    for _ in range(5):
        reply = pull_page(server, one, cursor=cursor, limit=1)
        assert reply.status_code == 200, reply.text
        body = reply.json()
        assert set(body) == {"changes", "cursor", "has_more"}
        assert isinstance(body["cursor"], str) and body["cursor"]
        pages.append(body)
        cursor = body["cursor"]
        if not body["has_more"]:
            break
    assert [len(p["changes"]) for p in pages] == [1, 1, 1]
    assert [p["has_more"] for p in pages] == [True, True, False]
    assert [(p["changes"][0]["id"], p["changes"][0]["rev"]) for p in pages] == mine
    for page in pages:
        assert set(page["changes"][0]) == {"id", "rev", "deleted", "data"}
        assert page["changes"][0]["data"]["hamlet_code"] == "25216-01" and page["changes"][0]["deleted"] is False
    # at the end: nothing more, until something new is stored; then only that
    end = pull_page(server, one, cursor=cursor, limit=1).json()
    assert end["changes"] == [] and end["has_more"] is False
    edited = pull_all(server, one)[mine[1][0]]["data"] | {"head_name": "Võ Thanh Sơn"}
    new_rev = push_one(server, one, change(edited, base_rev=mine[1][1]))
    push_one(server, two, change(household("25216-02")))
    later = pull_page(server, one, cursor=end["cursor"], limit=1000).json()
    assert [(c["id"], c["rev"]) for c in later["changes"]] == [(mine[1][0], new_rev)]
    assert later["changes"][0]["data"]["head_name"] == "Võ Thanh Sơn"

    # scope: neither sees the other's hamlet
    assert set(pull_all(server, one)) == {hid for hid, _ in mine}
    assert set(pull_all(server, two)) >= {hid for hid, _ in theirs}
    assert all(item["data"]["hamlet_code"] == "25216-02" for item in pull_all(server, two).values())

    # the other hamlet's surveyor can neither move a household into its hamlet nor delete it
    target_id, target_rev = mine[0]
    taken = pull_all(server, one)[target_id]["data"] | {"hamlet_code": "25216-02"}
    results = push_ok(server, two, [change(taken, base_rev=target_rev),
                                    change(None, base_rev=target_rev, deleted=True, household_id=target_id)])  # fmt: skip
    assert [(r["status"], r["error"]["code"]) for r in results] == [("rejected", "forbidden_hamlet")] * 2
    assert pull_all(server, one)[target_id]["rev"] == target_rev
    assert target_id not in pull_all(server, two)

    # a cursor this server never gave, or a limit out of range: 422
    for bad in ("not-a-cursor", "djI6Mw", "%%%"):
        assert_error(pull_page(server, one, cursor=bad), 422, "invalid")
    for limit in (0, 1001, "many"):
        assert_error(pull_page(server, one, limit=limit), 422, "invalid")
    # a forged cursor of the right form but beyond any revision a database can hold ("v1:" + 24 nines)
    forged = base64.urlsafe_b64encode(b"v1:" + b"9" * 24).decode().rstrip("=")
    reply = pull_page(server, one, cursor=forged)
    assert reply.status_code in (200, 422), (reply.status_code, reply.text)
    if reply.status_code == 200:
        assert reply.json()["changes"] == [] and reply.json()["has_more"] is False
    else:
        assert_error(reply, 422, "invalid")


# ----- 5. replay acceptance ---------------------------------------------------------------------


@ENGINES
def test_replay_of_1000_households_changes_nothing(server):
    surveyor = server.enrol("surveyor", "25216")["token"]
    hamlets = ("25216-01", "25216-02", "25216-03")
    households = [dataclasses.replace(h, hamlet_code=hamlets[n % 3])
                  for n, h in enumerate(generate(1000, seed=20240412, hamlets=3))]  # fmt: skip
    batches = [
        [change(h.to_document()) for h in households[start:start + 50]] for start in range(0, len(households), 50)
    ]
    first_results = [push_ok(server, surveyor, batch) for batch in batches]
    assert all(r["status"] == "applied" for results in first_results for r in results)
    revs = [r["rev"] for results in first_results for r in results]
    assert len(set(revs)) == 1000 and revs == sorted(revs)

    commune_before = coverage_ok(server, surveyor, "25216")
    hamlet_before = {code: coverage_ok(server, surveyor, code) for code in hamlets}

    replayed = [push_ok(server, surveyor, batch) for batch in batches]
    for first, second in zip(first_results, replayed, strict=True):
        assert [dict(r, status="duplicate") for r in first] == second
    assert coverage_ok(server, surveyor, "25216") == commune_before
    assert {code: coverage_ok(server, surveyor, code) for code in hamlets} == hamlet_before
    pulled = pull_all(server, surveyor)
    assert len(pulled) == 1000 and {item["rev"] for item in pulled.values()} == set(revs)

    # the counters equal a brute-force count over what was pushed
    assert commune_before["unit"] == {"code": "25216", "name": "Phường Thác Mơ", "level": "commune"}
    assert figures_in(commune_before) == figures_of(households)
    assert commune_before["households"]["surveyed"] == 1000
    assert commune_before["households"]["expected"] is None  # 25216-03 has no target
    children = {child["unit"]["code"]: child for child in commune_before["children"]}
    assert set(children) == set(hamlets)
    for code in hamlets:
        own = [h for h in households if h.hamlet_code == code]
        assert figures_in(children[code]) == figures_of(own), code
        assert figures_in(hamlet_before[code]) == figures_of(own), code
        assert hamlet_before[code]["children"] == []
    assert [children[c]["households"]["expected"] for c in hamlets] == [200, 180, None]

    recomputed = ntm("admin", "recompute", "--db", server.db)
    assert recomputed.returncode == 0, recomputed.stderr
    assert coverage_ok(server, surveyor, "25216") == commune_before
    assert {code: coverage_ok(server, surveyor, code) for code in hamlets} == hamlet_before


# ----- 6. coverage ------------------------------------------------------------------------------


@ENGINES
def test_coverage_targets_structures_and_scope(server):
    admin = server.enrol("admin", "70")["token"]
    surveyor = server.enrol("surveyor", "25216")["token"]
    pushed = {
        "25216-01": [household("25216-01", members=[member("m1", cccd="yes", vneid="level2", smartphone="yes",
                                                            sim="signature")]),
                     household("25216-01", members=[member("m1"), member("m2", birth_year=2015)])],
        "25217-01": [household("25217-01", members=[member("m1", cccd="yes"), member("m2", cccd="unknown")]),
                     household("25217-01", visit_status="absent", members=[])],
    }  # fmt: skip
    for docs in pushed.values():
        assert [r["status"] for r in push_ok(server, admin, [change(d) for d in docs])] == ["applied"] * len(docs)
    stored = {code: [Household.from_document(d) for d in docs] for code, docs in pushed.items()}
    everything = [h for docs in stored.values() for h in docs]

    # a hamlet: children []; its target; rates null where nobody is eligible
    hamlet = coverage_ok(server, surveyor, "25216-01")
    assert hamlet["unit"] == {"code": "25216-01", "name": "Khu phố 1", "level": "hamlet"}
    assert hamlet["children"] == [] and hamlet["households"]["expected"] == 200
    assert figures_in(hamlet) == figures_of(stored["25216-01"])
    empty = coverage_ok(server, surveyor, "25216-02")
    assert empty["households"] == {"expected": 180, "surveyed": 0, "absent": 0, "refused": 0, "moved": 0, "vacant": 0}
    assert all(figure["rate"] is None and figure["eligible"] == 0 for figure in empty["indicators"].values())
    assert coverage_ok(server, surveyor, "25216-03")["households"]["expected"] is None

    # a commune: expected null when a hamlet has no target, else the sum
    commune = coverage_ok(server, surveyor, "25216")
    assert commune["households"]["expected"] is None
    assert [c["unit"]["code"] for c in commune["children"]] == ["25216-01", "25216-02", "25216-03"]
    assert all("children" not in c for c in commune["children"])  # "same shape without children"
    long_thuy = coverage_ok(server, admin, "25217")
    assert long_thuy["households"]["expected"] == 150
    assert figures_in(long_thuy) == figures_of(stored["25217-01"])
    assert long_thuy["households"]["absent"] == 1
    # without `unit`: the first unit of the token's scope
    assert coverage_ok(server, surveyor)["unit"]["code"] == "25216"

    # 2025 structure: the new province gives the old one's totals; 25216 now rolls up into 25217
    old = coverage_ok(server, admin, "70", structure="2024")
    new = coverage_ok(server, admin, "75", structure="2025")
    assert old["unit"]["level"] == "province" and new["unit"]["code"] == "75"
    assert figures_in(old) == figures_in(new) == figures_of(everything)
    assert old["households"]["expected"] == new["households"]["expected"]
    assert old["households"]["surveyed"] == 3
    phuoc_long = coverage_ok(server, admin, "25217", structure="2025")
    assert figures_in(phuoc_long) == figures_of(everything)
    assert phuoc_long["households"]["expected"] is None  # 25216-03 now sits under it, without a target
    assert sum(c["households"]["surveyed"] for c in new["children"]) == 3

    # a household moved between hamlets of the surveyor's commune: its figures move with it
    moved = pull_all(server, surveyor)[pushed["25216-01"][0]["id"]]
    push_one(server, surveyor, change(moved["data"] | {"hamlet_code": "25216-02"}, base_rev=moved["rev"]))
    moved_household = Household.from_document(moved["data"] | {"hamlet_code": "25216-02"})
    assert figures_in(coverage_ok(server, surveyor, "25216-01")) == figures_of(stored["25216-01"][1:])
    assert figures_in(coverage_ok(server, surveyor, "25216-02")) == figures_of([moved_household])
    assert figures_in(coverage_ok(server, surveyor, "25216")) == figures_of(stored["25216-01"])
    assert moved["id"] not in pull_all(server, server.enrol("surveyor", "25216-01")["token"])

    # unknown unit: 404; another commune: 403; a bad structure: 422
    assert_error(coverage(server, admin, "99999"), 404, "unknown_unit")
    assert_error(coverage(server, surveyor, "99999"), 404, "unknown_unit")
    assert_error(coverage(server, surveyor, "25217"), 403, "forbidden")
    assert_error(coverage(server, surveyor, "25217-01"), 403, "forbidden")
    assert_error(coverage(server, surveyor, "70"), 403, "forbidden")
    assert_error(coverage(server, surveyor, "25216", structure="2030"), 422, "invalid")
    assert_error(coverage(server, "not-a-token", "25216"), 401, "invalid_token")

    # by default a unit is reported in the structure it belongs to
    assert coverage_ok(server, admin, "75") == new
    assert_error(coverage(server, admin, "75", structure="2024"), 404, "unknown_unit")  # no 2024 unit 75
    # last: a 2024 unit asked for in the 2025 structure is unknown there (404), or reported with its
    # own figures; never a report of zero households for a commune and a province that hold some
    for code in ("25216", "70"):
        reply = coverage(server, admin, code, structure="2025")
        if reply.status_code == 200:
            assert figures_in(reply.json()) == figures_in(coverage_ok(server, admin, code, structure="2024")), code
        else:
            assert_error(reply, 404, "unknown_unit")
