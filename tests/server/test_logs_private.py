"""Logs never carry personal data nor a traceback: unique names and notes are pushed through every way the
server refuses a request (a real server process, both engines), then its whole stdout and stderr are searched
for them. A device's sync (push, conflict, pull, revocation) is searched the same way, with its own log."""

from __future__ import annotations

import copy
import gzip
import json
import logging
import socket
import uuid
from dataclasses import replace
from urllib.parse import urlsplit

import requests

from ntm_field.sync.engine import AuthFailed
from tests.private_data import PersonalData
from tests.server.conftest import ENGINES, RunningServer, stop_server
from tests.server.test_http import EXAMPLE
from tests.sync.conftest import admin_store, make_device  # noqa: F401  (fixture)

TIMEOUT = 30
LOG_WORDS = ("Traceback", "Exception in ASGI")

class ServerOutput:
    """Everything a server process writes on stdout and stderr (start_server writes them to files, so a
    chatty server never stalls on a full pipe)."""

    def __init__(self, server: RunningServer):
        self._server = server

    def after_stop(self) -> bytes:
        """The whole output, once the server has stopped (and flushed what it had)."""
        stop_server(self._server.process)
        return b"".join(pipe.read() for pipe in (self._server.process.stdout, self._server.process.stderr))


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def _raw(server: RunningServer, request: bytes) -> bytes:
    """Send bytes as they are (headers and paths `requests` would refuse to send) and read the answer."""
    host = urlsplit(server.url)
    with socket.create_connection((host.hostname, host.port), timeout=TIMEOUT) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


class Refusals:
    """Drives one server through its refusals, each carrying fresh personal data; checks each was refused."""

    def __init__(self, server: RunningServer, personal: PersonalData):
        self.server = server
        self.p = personal
        self.refused: list[str] = []

    def expect(self, what: str, reply: requests.Response, low: int = 400, high: int = 499) -> requests.Response:
        assert low <= reply.status_code <= high, f"{what}: {reply.status_code} {reply.text[:300]}"
        self.refused.append(what)
        return reply

    def post(self, path: str, token: str | None = None, **kwargs) -> requests.Response:
        headers = {**(auth(token) if token else {}), **kwargs.pop("headers", {})}
        return requests.post(self.server.api(path), headers=headers, timeout=TIMEOUT, **kwargs)

    def get(self, path: str, token: str, **params) -> requests.Response:
        return requests.get(self.server.api(path), headers=auth(token), params=params, timeout=TIMEOUT)

    def document(self, hamlet: str = "25216-01", **changes) -> dict:
        """A valid household whose every free text is personal data, changed as told."""
        doc = copy.deepcopy(EXAMPLE)
        head = self.p.name()
        doc.update(id=str(uuid.uuid4()), hamlet_code=hamlet, head_name=head, address=self.p.text("Tổ"),
                   note=self.p.note(), follow_up={"due": "2024-05-02", "note": self.p.note(1)})  # fmt: skip
        doc["members"][0].update(full_name=head, note=self.p.note(2))
        doc.update(changes)
        return doc

    def change(self, doc: dict, **fields) -> dict:
        return {"change_id": str(uuid.uuid4()), "id": doc["id"], "base_rev": None, "deleted": False, "data": doc,
                **fields}  # fmt: skip

    def push(self, token: str, changes: list[dict]) -> list[dict]:
        reply = self.post("/api/v1/sync/push", token, json={"batch_id": "b", "changes": changes})
        assert reply.status_code == 200, reply.text
        return reply.json()["results"]

    def push_rejected(self, what: str, token: str, doc: dict, **fields) -> None:
        [result] = self.push(token, [self.change(doc, **fields)])
        assert result["status"] == "rejected", f"{what}: {result}"
        self.refused.append(what)

    def member(self, **changes) -> dict:
        return {**copy.deepcopy(EXAMPLE["members"][0]), "id": "m1", "full_name": self.p.name(), "note": self.p.note(),
                **changes}  # fmt: skip

    # ----- the refusals ------------------------------------------------------------------------------------

    def enrolment(self) -> None:
        p = self
        p.expect("wrong code, named device", p.post("/api/v1/enrol", json={"code": "WXYZ-2345-AB", "device_name": self.p.name()}))
        p.expect("the code is a name", p.post("/api/v1/enrol", json={"code": self.p.name(), "device_name": self.p.name()}))
        p.expect("device name with control characters",
                 p.post("/api/v1/enrol", json={"code": "WXYZ-2345-AB", "device_name": self.p.name() + "\x00\x1b[31m\n"}))
        p.expect("device name too long", p.post("/api/v1/enrol", json={"code": "x", "device_name": self.p.name() * 8}))
        p.expect("enrol body not JSON", p.post("/api/v1/enrol", data=f'{{"device_name": "{self.p.name()}"'.encode()))
        p.expect("enrol body a list", p.post("/api/v1/enrol", json=[self.p.name()]))

    def households(self, surveyor: str, officer: str) -> None:
        p, doc = self, self.document
        p.push_rejected("a name in birth_year", surveyor, doc(members=[p.member(birth_year=p.p.name())]))
        p.push_rejected("a name as visit_status", surveyor, doc(visit_status=p.p.name()))
        p.push_rejected("a name as an unknown key", surveyor, doc(**{p.p.name(): p.p.note()}))
        p.push_rejected("a name as surveyed_on", surveyor, doc(surveyed_on=p.p.name()))
        p.push_rejected("a name too long", surveyor, doc(head_name=p.p.name() * 5))
        p.push_rejected("names without consent", surveyor, doc(consent={"given": False, "notice_version": "2024-04"}))
        for control in ("\x00", "\x07", "\x1b[2J", "\r\n"):
            p.push_rejected(f"member name with {control!r}", surveyor,
                            doc(members=[p.member(full_name=p.p.name() + control + p.p.name())]))  # fmt: skip
        # not refused by the contract, but a log line holding them would be garbled: pushed all the same
        p.push(surveyor, [p.change(doc(members=[p.member(full_name=p.p.name() + "\x7f\u202e\x85" + p.p.name())]))])
        p.push_rejected("note with NUL", surveyor, doc(note=p.p.note() + "\x00"))
        p.push_rejected("house_no with NUL", surveyor, doc(house_no="12\x00" + p.p.text("số")))
        p.push_rejected("a name as member id", surveyor, doc(members=[p.member(id=p.p.name())]))
        p.push_rejected("a name as hamlet_code", surveyor, doc(hamlet=p.p.name()))
        p.push_rejected("a hamlet out of scope", surveyor, doc(hamlet="25217-01"))
        p.push_rejected("an object holding a name as change_id", surveyor, doc(), change_id={"name": p.p.name()})
        p.push_rejected("a name as base_rev", surveyor, doc(), base_rev=p.p.name())
        mismatch = doc()
        p.push_rejected("id differs from data.id", surveyor, mismatch, id=str(uuid.uuid4()))
        first = p.change(doc())
        assert p.push(surveyor, [first])[0]["status"] == "applied"
        p.push_rejected("change_id reused", surveyor, doc(id=first["id"]), change_id=first["change_id"])

        push = "/api/v1/sync/push"
        body = json.dumps({"batch_id": "b", "changes": [p.change(doc())]}, ensure_ascii=False).encode()
        json_type = {"Content-Type": "application/json"}
        p.expect("push body cut short", p.post(push, surveyor, data=body[: len(body) // 2], headers=json_type))
        p.expect("push body of 2 MiB", p.post(push, surveyor, data=body * (2 * 1024 * 1024 // len(body) + 1), headers=json_type))
        p.expect("gzip body of 9 MiB inflated",
                 p.post(push, surveyor, data=gzip.compress(body * (9 * 1024 * 1024 // len(body) + 1)),
                        headers={**json_type, "Content-Encoding": "gzip"}))  # fmt: skip
        p.expect("damaged gzip", p.post(push, surveyor, data=gzip.compress(body)[:-20], headers={**json_type, "Content-Encoding": "gzip"}))
        p.expect("push as text/plain", p.post(push, surveyor, data=body, headers={"Content-Type": "text/plain"}))
        p.expect("a name as batch_id", p.post(push, surveyor, json={"batch_id": p.p.name() * 5, "changes": []}))
        p.expect("changes not objects", p.post(push, surveyor, json={"batch_id": "b", "changes": [p.p.name()]}))
        p.expect("501 changes", p.post(push, surveyor, json={"batch_id": "b", "changes": [p.change(doc())] * 501}))
        p.expect("a lone surrogate", p.post(push, surveyor, data=body.replace(b'"note": "', b'"note": "\\ud800', 1), headers=json_type))
        nested = ('{"batch_id": "' + p.p.name() + '", "changes": ' + "[" * 100_000 + "]" * 100_000 + "}").encode()
        p.expect("nested too deep", p.post(push, surveyor, data=nested, headers=json_type))
        p.expect("an officer pushes", p.post(push, officer, json={"batch_id": "b", "changes": [p.change(doc())]}))

    def conflicts(self, a: str, b: str, leader: str, officer: str) -> None:
        p = self
        doc = p.document()
        [first] = p.push(a, [p.change(doc)])
        p.push(a, [p.change({**doc, "head_name": p.p.name()}, base_rev=first["rev"])])
        [clash] = p.push(b, [p.change({**doc, "head_name": p.p.name()}, base_rev=first["rev"])])
        assert clash["status"] == "conflict", clash
        [conflict] = [c for c in p.get("/api/v1/conflicts", leader, unit="25216").json()["conflicts"]
                      if c["household_id"] == doc["id"]]  # fmt: skip
        url = f"/api/v1/conflicts/{conflict['id']}/resolve"
        p.expect("resolve with a name too long", p.post(url, leader, json={"value": p.p.name() * 5}))
        p.expect("resolve with an object", p.post(url, leader, json={"value": {"name": p.p.name()}}))
        p.expect("resolve without value", p.post(url, leader, json={"name": p.p.name()}))
        p.expect("resolve body not JSON", p.post(url, leader, data=p.p.name().encode()))
        p.expect("an officer resolves", p.post(url, officer, json={"value": p.p.name()}))
        p.expect("a surveyor resolves", p.post(url, a, json={"value": p.p.name()}))
        p.expect("resolved", p.post(url, leader, json={"value": p.p.name()}), 200, 200)
        p.expect("resolve twice", p.post(url, leader, json={"value": p.p.name()}))
        p.expect("resolve an unknown conflict", p.post(f"/api/v1/conflicts/{uuid.uuid4()}/resolve", leader, json={"value": p.p.name()}))
        # a deletion that clashed with an edit, then the household deleted for good: keeping it is refused (finding 5)
        gone = p.document()
        [first] = p.push(a, [p.change(gone)])
        p.push(a, [p.change(gone, deleted=True, data=None, base_rev=first["rev"])])
        [clash] = p.push(b, [p.change({**gone, "note": p.p.note()}, base_rev=first["rev"])])
        p.push(a, [p.change(gone, deleted=True, data=None, base_rev=clash["rev"])])
        [deletion] = [c for c in p.get("/api/v1/conflicts", leader, unit="25216").json()["conflicts"]
                      if c["household_id"] == gone["id"]]  # fmt: skip
        p.expect("keep a household deleted since", p.post(f"/api/v1/conflicts/{deletion['id']}/resolve", leader, json={"value": False}))

    def units(self, surveyor: str, leader: str) -> None:
        p = self
        for path in ("/api/v1/coverage", "/api/v1/progress", "/api/v1/conflicts", "/api/v1/export"):
            p.expect(f"{path} of an unknown unit", p.get(path, leader, unit=p.p.text("Ánh")))
            p.expect(f"{path} of a name too long", p.get(path, leader, unit=p.p.name() * 3))
        p.expect("pull with a name as cursor", p.get("/api/v1/sync/pull", surveyor, cursor=p.p.text("Ánh")))
        codes = "/api/v1/enrol-codes"
        p.expect("a code for an unknown unit", p.post(codes, leader, json={"role": "surveyor", "scope": [p.p.text("Ánh")]}))
        p.expect("a code with a name as role", p.post(codes, leader, json={"role": p.p.name(), "scope": ["25216-01"]}))
        p.expect("a surveyor makes a code", p.post(codes, surveyor, json={"role": "surveyor", "scope": [p.p.name()]}))

    def tokens(self, revoked: str) -> None:
        p = self
        p.expect("a name as token", p.get("/api/v1/coverage", p.p.text("Ánh")))
        p.expect("a revoked device pushes", p.post("/api/v1/sync/push", revoked, json={"batch_id": "b", "changes": [p.change(p.document())]}))
        name = p.p.name().encode()
        for what, request in (
            ("a UTF-8 name in the Authorization header",
             b"GET /api/v1/coverage HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + name + b"\r\nConnection: close\r\n\r\n"),
            ("a UTF-8 name in the path", b"GET /api/v1/" + name.replace(b" ", b"%20") + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
            ("a request line that is not HTTP", name + b"\r\n\r\n"),
            ("a header line without colon", b"GET / HTTP/1.1\r\nHost: x\r\n" + name + b"\r\n\r\n"),
        ):  # fmt: skip
            answer = _raw(p.server, request)
            assert answer == b"" or answer.startswith(b"HTTP/1.1 4"), f"{what}: {answer[:200]!r}"
            p.refused.append(what)


def assert_nothing_personal(output: bytes, personal: PersonalData) -> None:
    leaked = personal.found_in(output)
    assert leaked == [], f"{len(leaked)} personal values in the log, e.g. {leaked[:3]}\n{output[-3000:].decode(errors='replace')}"
    for word in LOG_WORDS:
        assert word.encode() not in output, output[-3000:].decode(errors="replace")


@ENGINES
def test_no_refusal_puts_a_name_note_or_traceback_in_the_server_log(server):
    output = ServerOutput(server)
    personal = PersonalData()
    a, b = server.enrol("surveyor", "25216-01"), server.enrol("surveyor", "25216-01")
    leader, officer, gone = server.enrol("leader", "25216"), server.enrol("officer", "70"), server.enrol("surveyor", "25216")
    with admin_store(server) as admin:
        admin.revoke(gone["device_id"])
    refusals = Refusals(server, personal)
    refusals.enrolment()
    refusals.households(a["token"], officer["token"])
    refusals.conflicts(a["token"], b["token"], leader["token"], officer["token"])
    refusals.units(a["token"], leader["token"])
    refusals.tokens(gone["token"])
    assert len(refusals.refused) > 60 and len(personal.values) > 150

    assert_nothing_personal(output.after_stop(), personal)


@ENGINES
def test_a_device_sync_with_conflict_and_revocation_logs_nothing_personal(server, make_device, caplog):
    output = ServerOutput(server)
    personal = PersonalData()
    caplog.set_level(logging.DEBUG)  # the device's own log: every logger of the process, at every level
    first, second = make_device(server, scope="25216-01"), make_device(server, scope="25216-01")
    households = [personal.household("25216-01", n) for n in range(6)]
    first.store.save_many(households)
    assert first.sync().ok
    assert second.sync().ok
    for n, household in enumerate(households[:3]):  # the same households edited on both phones: conflicts
        first.store.save(replace(second.store.get(household.id), head_name=personal.name(n)))
        second.store.save(replace(second.store.get(household.id), head_name=personal.name(n + 1)))
    assert first.sync().ok
    report = second.sync()
    assert report.ok and report.conflicts == 3
    personal.secret(second.store.enrolment().token)
    with admin_store(server) as admin:
        admin.revoke(second.store.enrolment().device_id)
    second.store.save(replace(second.store.get(households[4].id), note=personal.note()))
    revoked = second.sync()
    assert isinstance(revoked.problem, AuthFailed) and revoked.problem.revoked

    assert_nothing_personal(output.after_stop(), personal)
    assert_nothing_personal(caplog.text.encode(), personal)
    assert personal.found_in_folder(second.store.path.parent) == {}  # the wipe left nothing of it on the phone

