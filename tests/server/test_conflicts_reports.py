"""Conflicts (list, resolve), daily progress and exports over HTTP, on both engines."""

from __future__ import annotations

import csv
import io
from dataclasses import replace

import requests
from openpyxl import load_workbook

from ntm_field.bench.households import generate
from ntm_field.domain.indicators import tally
from tests.server.conftest import ENGINES


def _auth(device: dict) -> dict:
    return {"Authorization": f"Bearer {device['token']}"}


def _push(server, device, changes, batch="b") -> list[dict]:
    reply = requests.post(server.api("/api/v1/sync/push"), json={"batch_id": batch, "changes": changes},
                          headers=_auth(device), timeout=30)  # fmt: skip
    assert reply.status_code == 200, reply.text
    return reply.json()["results"]


def _change(household, change_id, base_rev=None):
    return {"change_id": change_id, "id": household.id, "base_rev": base_rev, "deleted": False,
            "data": household.to_document()}  # fmt: skip


@ENGINES
def test_a_leader_lists_and_resolves_a_conflict_and_devices_receive_it(server):
    a = server.enrol("surveyor", "25216-01")
    b = server.enrol("surveyor", "25216-01")
    leader = server.enrol("leader", "25216")
    officer = server.enrol("officer", "70")
    household = replace(next(generate(1, seed=3)), hamlet_code="25216-01")
    [first] = _push(server, a, [_change(household, "c-0")])
    _push(server, a, [_change(replace(household, head_name="Trần Văn A"), "c-a", first["rev"])])
    [clash] = _push(server, b, [_change(replace(household, head_name="Phạm Văn B"), "c-b", first["rev"])])
    assert clash["status"] == "conflict"

    listed = requests.get(server.api("/api/v1/conflicts?unit=25216"), headers=_auth(leader), timeout=10)
    [conflict] = listed.json()["conflicts"]
    assert conflict["field"] == "head_name" and conflict["status"] == "open"
    assert sorted(v["value"] for v in conflict["values"]) == ["Phạm Văn B", "Trần Văn A"]
    assert all(v["device_id"] for v in conflict["values"])
    assert requests.get(server.api("/api/v1/conflicts?unit=25216"), headers=_auth(a), timeout=10).status_code == 403
    assert requests.get(server.api("/api/v1/conflicts?unit=25216"), headers=_auth(officer), timeout=10).status_code == 200

    url = server.api(f"/api/v1/conflicts/{conflict['id']}/resolve")
    bad = requests.post(url, json={"value": ""}, headers=_auth(leader), timeout=10)
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "head_name"
    assert requests.post(url, json={"value": "Trần Văn A"}, headers=_auth(officer), timeout=10).status_code == 403
    done = requests.post(url, json={"value": "Trần Văn A"}, headers=_auth(leader), timeout=10)
    assert done.status_code == 200
    rev = done.json()["rev"]
    assert requests.post(url, json={"value": "Trần Văn A"}, headers=_auth(leader), timeout=10).status_code == 409
    pulled = requests.get(server.api("/api/v1/sync/pull"), headers=_auth(b), timeout=10).json()["changes"]
    [latest] = [c for c in pulled if c["id"] == household.id]
    assert (latest["rev"], latest["data"]["head_name"]) == (rev, "Trần Văn A")
    assert requests.get(server.api("/api/v1/conflicts?unit=25216"), headers=_auth(leader), timeout=10).json() == {
        "conflicts": []
    }


@ENGINES
def test_progress_and_exports_agree_with_a_brute_force_count(server):
    surveyor = server.enrol("surveyor", "25216")
    officer = server.enrol("officer", "70")
    households = [replace(h, hamlet_code=f"25216-0{i % 3 + 1}") for i, h in enumerate(generate(30, seed=4))]
    households = [replace(h, surveyed_on=h.surveyed_on.replace(day=10 + i % 3)) for i, h in enumerate(households)]
    results = _push(server, surveyor, [_change(h, f"c-{i}") for i, h in enumerate(households)])
    assert {r["status"] for r in results} == {"applied"}

    progress = requests.get(server.api("/api/v1/progress?unit=25216"), headers=_auth(officer), timeout=10).json()
    assert [d["date"] for d in progress["days"]] == ["2024-04-10", "2024-04-11", "2024-04-12"]
    last = progress["days"][-1]
    expected = tally(households)
    assert last["surveyed"] == expected.surveyed
    assert last["sim"] == {"covered": expected.sim.covered, "eligible": expected.sim.eligible}

    members = requests.get(server.api("/api/v1/export?unit=25216&format=csv&kind=members"), headers=_auth(officer),
                           timeout=30)  # fmt: skip
    assert members.status_code == 200
    rows = list(csv.reader(io.StringIO(members.content.decode("utf-8-sig"))))
    assert rows[0][:2] == ["Mã hộ", "Mã thôn/ấp"]
    assert len(rows) - 1 == sum(len(h.members) for h in households)
    assert b"token" not in members.content.lower()

    coverage = requests.get(server.api("/api/v1/export?unit=25216&format=csv&kind=coverage"), headers=_auth(officer),
                            timeout=30)  # fmt: skip
    coverage_rows = list(csv.DictReader(io.StringIO(coverage.content.decode("utf-8-sig"))))
    assert [r["Mã đơn vị"] for r in coverage_rows] == ["25216", "25216-01", "25216-02", "25216-03"]
    assert int(coverage_rows[0]["CCCD – đạt"]) == expected.cccd.covered

    workbook = requests.get(server.api("/api/v1/export?unit=25216&format=xlsx"), headers=_auth(officer), timeout=30)
    book = load_workbook(io.BytesIO(workbook.content))
    assert book.sheetnames == ["Thành viên", "Độ phủ"]
    sheet = book["Độ phủ"]
    header = [c.value for c in sheet[1]]
    top = [c.value for c in sheet[2]]
    assert top[header.index("CCCD – trong diện")] == expected.cccd.eligible
    rate_cell = sheet.cell(row=2, column=header.index("CCCD – tỷ lệ") + 1)
    assert rate_cell.number_format == "0.00%" and 0 <= rate_cell.value <= 1
    assert requests.get(server.api("/api/v1/export?unit=25216"), headers=_auth(surveyor), timeout=10).status_code == 403


@ENGINES
def test_include_device_names_each_values_device_and_the_contract_shape_stays_without_it(server):
    leader = server.enrol("leader", "25216")

    def surveyor(name: str) -> dict:
        code = requests.post(server.api("/api/v1/enrol-codes"), json={"role": "surveyor", "scope": ["25216-01"]},
                             headers=_auth(leader), timeout=10).json()["code"]  # fmt: skip
        enrolled = requests.post(server.api("/api/v1/enrol"), json={"code": code, "device_name": name}, timeout=10)
        assert enrolled.status_code == 201, enrolled.text
        return enrolled.json()

    lan, hung = surveyor("Máy của Lan"), surveyor("")  # a device may enrol without a name
    household = replace(next(generate(1, seed=4)), hamlet_code="25216-01")
    [first] = _push(server, lan, [_change(household, "d-0")])
    [by_lan] = _push(server, lan, [_change(replace(household, house_no="12A"), "d-a", first["rev"])])
    [by_hung] = _push(server, hung, [_change(replace(household, house_no="12B"), "d-b", first["rev"])])
    assert by_hung["status"] == "conflict"

    plain = requests.get(server.api("/api/v1/conflicts?unit=25216"), headers=_auth(leader), timeout=10).json()
    [conflict] = plain["conflicts"]
    assert [set(v) for v in conflict["values"]] == [{"value", "device_id", "rev", "received_at"}] * 2
    named = requests.get(server.api("/api/v1/conflicts?unit=25216&include=device"), headers=_auth(leader), timeout=10)
    assert named.status_code == 200
    [extended] = named.json()["conflicts"]
    assert [{k: v for k, v in value.items() if k != "device_name"} for value in extended["values"]] == conflict["values"]
    assert [(v["value"], v["device_id"], v["rev"], v["device_name"]) for v in extended["values"]] == [
        ("12A", lan["device_id"], by_lan["rev"], "Máy của Lan"),
        ("12B", hung["device_id"], by_hung["rev"], ""),
    ]
    other = requests.get(server.api("/api/v1/conflicts?include=surveyor"), headers=_auth(leader), timeout=10)
    assert other.status_code == 422 and other.json()["error"]["code"] == "invalid"

    # clients that lie about who they are or what they may see: no device name leaves the leader's scope
    stranger = server.enrol("leader", "25216-02")  # the leader of another hamlet of the same commune
    for path, token in [
        ("/api/v1/conflicts?unit=25216&include=device", stranger),  # a hamlet's leader asks for the commune
        ("/api/v1/conflicts?unit=25216-01&include=device", stranger),  # ... or for the neighbouring hamlet
        ("/api/v1/conflicts?unit=70&include=device", leader),  # a commune leader asks for the province
        ("/api/v1/conflicts?include=device", lan),  # a surveyor
        ("/api/v1/conflicts?include=device&include=device&unit=25216", stranger),
    ]:
        refused = requests.get(server.api(path), headers=_auth(token), timeout=10)
        assert refused.status_code == 403, (path, refused.status_code, refused.text)
        assert "Máy của Lan" not in refused.text
    own = requests.get(server.api("/api/v1/conflicts?include=device"), headers=_auth(stranger), timeout=10)
    assert own.status_code == 200 and own.json() == {"conflicts": []}, own.text
