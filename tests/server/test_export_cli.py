"""`ntm-field export`: the same files the API's `GET /api/v1/export` serves, written by the
command line as the admin, audited, and free of tokens and secrets; on both engines."""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import replace

import pytest
import requests
from openpyxl import load_workbook

from ntm_field.bench.households import generate
from ntm_field.domain.codes import Check
from tests.server.conftest import ENGINES, ntm
from tests.sync.conftest import server_rows

CHECKS = [c.value for c in Check]
LABELS = {"cccd": "CCCD", "vneid": "VNeID mức 2", "smartphone": "Điện thoại thông minh", "sim": "SIM chữ ký số"}


def _auth(device: dict) -> dict:
    return {"Authorization": f"Bearer {device['token']}"}


def _export(server, tmp_path, *args: str) -> bytes:
    out = tmp_path / "export.out"
    result = ntm("export", *args, "--out", str(out), "--db", server.db)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"wrote {out} ({out.stat().st_size} bytes)"
    return out.read_bytes()


def _api(server, officer, query: str) -> requests.Response:
    reply = requests.get(server.api(f"/api/v1/{query}"), headers=_auth(officer), timeout=30)
    assert reply.status_code == 200, reply.text
    return reply


def _readable(content: bytes) -> str:
    """All the text of a file: an XLSX is a zip, so its members are inflated first."""
    if content.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(content)) as book:
            return "\n".join(book.read(name).decode("utf-8", "replace") for name in book.namelist())
    return content.decode("utf-8-sig")


@pytest.fixture
def surveyed(server):
    """30 households pushed over HTTP by a surveyor into three hamlets of commune 25216."""
    surveyor = server.enrol("surveyor", "25216")
    households = [replace(h, hamlet_code=f"25216-0{i % 3 + 1}") for i, h in enumerate(generate(30, seed=21))]
    changes = [{"change_id": f"c-{i}", "id": h.id, "base_rev": None, "deleted": False, "data": h.to_document()}
               for i, h in enumerate(households)]  # fmt: skip
    reply = requests.post(server.api("/api/v1/sync/push"), json={"batch_id": "b", "changes": changes},
                          headers=_auth(surveyor), timeout=30)  # fmt: skip
    assert {r["status"] for r in reply.json()["results"]} == {"applied"}
    return surveyor, households


@ENGINES
def test_export_writes_what_the_api_serves(server, surveyed, tmp_path):
    surveyor, households = surveyed
    officer = server.enrol("officer", "70")
    devices_before = server_rows(server, "SELECT count(*) FROM devices")[0][0]

    members = _export(server, tmp_path, "--unit", "25216", "--format", "csv", "--kind", "members")
    assert members == _api(server, officer, "export?unit=25216&format=csv&kind=members").content
    rows = list(csv.DictReader(io.StringIO(members.decode("utf-8-sig"))))
    assert len(rows) == sum(len(h.members) for h in households)  # one row per member
    assert {(r["Mã hộ"], r["Mã thành viên"]) for r in rows} == {(h.id, m.id) for h in households for m in h.members}
    assert _export(server, tmp_path, "--unit", "25216", "--format", "csv") == members  # members is the default kind

    coverage = _export(server, tmp_path, "--unit", "25216", "--format", "csv", "--kind", "coverage")
    assert coverage == _api(server, officer, "export?unit=25216&format=csv&kind=coverage").content
    figures = _api(server, officer, "coverage?unit=25216").json()
    by_code = {r["Mã đơn vị"]: r for r in csv.DictReader(io.StringIO(coverage.decode("utf-8-sig")))}
    assert list(by_code) == ["25216", "25216-01", "25216-02", "25216-03"]
    top = by_code["25216"]
    assert int(top["Số hộ đã khảo sát"]) == figures["households"]["surveyed"] == 30
    assert int(top["Hộ đạt đủ 4"]) == figures["fully_covered_households"]
    for check in CHECKS:
        figure = figures["indicators"][check]
        assert int(top[f"{LABELS[check]} – đạt"]) == figure["covered"]
        assert int(top[f"{LABELS[check]} – trong diện"]) == figure["eligible"]
        assert float(top[f"{LABELS[check]} – tỷ lệ"]) == figure["rate"]

    workbook = _export(server, tmp_path, "--unit", "25216", "--format", "xlsx", "--kind", "coverage")  # kind ignored
    book = load_workbook(io.BytesIO(workbook))
    served = load_workbook(io.BytesIO(_api(server, officer, "export?unit=25216&format=xlsx").content))
    assert book.sheetnames == served.sheetnames == ["Thành viên", "Độ phủ"]
    for name in book.sheetnames:
        assert [[c.value for c in row] for row in book[name].rows] == [[c.value for c in row] for row in served[name].rows]
    sheet = book["Thành viên"]
    header = [c.value for c in sheet[1]]
    assert sheet.max_row - 1 == len(rows)
    assert all(isinstance(row[header.index("Năm sinh")].value, int) for row in sheet.iter_rows(min_row=2))
    sheet = book["Độ phủ"]
    header = [c.value for c in sheet[1]]
    top = {h: c for h, c in zip(header, sheet[2])}
    assert top["Mã đơn vị"].value == "25216" and top["Số hộ đã khảo sát"].value == 30
    for check in CHECKS:
        figure = figures["indicators"][check]
        assert top[f"{LABELS[check]} – đạt"].value == figure["covered"]
        rate = top[f"{LABELS[check]} – tỷ lệ"]
        assert isinstance(rate.value, float) and rate.value == figure["rate"] and rate.number_format == "0.00%"
    for row in sheet.iter_rows(min_row=2):
        for check in CHECKS:
            cell = row[header.index(f"{LABELS[check]} – tỷ lệ")]
            assert cell.value is None or (isinstance(cell.value, float) and cell.number_format == "0.00%")

    # no secret in any byte: tokens, their hashes, enrolment-code hashes
    secrets = [surveyor["token"], officer["token"]]
    secrets += [row[0] for row in server_rows(server, "SELECT token_hash FROM devices")]
    secrets += [row[0] for row in server_rows(server, "SELECT code_hash FROM enrol_codes")]
    assert len(secrets) >= 6 and all(len(s) >= 40 for s in secrets)
    assert households[0].head_name in _readable(members) and households[0].head_name in _readable(workbook)
    for content in (members, coverage, workbook):
        text = _readable(content)
        assert not [s for s in secrets if s in text]
        assert not [s for s in secrets if s.encode() in content]

    # the command line acts as the admin without leaving a device or token behind, and is audited
    assert server_rows(server, "SELECT count(*) FROM devices")[0][0] == devices_before
    audited = server_rows(server, "SELECT actor, target, detail FROM audit WHERE action = 'export' AND actor = 'cli'")
    assert [(a, t) for a, t, _ in audited] == [("cli", "25216")] * 4


@ENGINES
def test_a_provincial_export_has_every_unit(server, surveyed, tmp_path):
    officer = server.enrol("officer", "70")
    coverage = _export(server, tmp_path, "--unit", "70", "--format", "csv", "--kind", "coverage")
    assert coverage == _api(server, officer, "export?unit=70&format=csv&kind=coverage").content
    rows = list(csv.DictReader(io.StringIO(coverage.decode("utf-8-sig"))))
    levels = [r["Cấp"] for r in rows]
    assert levels.count("province") == 1 and levels.count("district") == 11 and levels.count("commune") == 111
    assert levels.count("hamlet") == 4
    assert int(rows[0]["Số hộ đã khảo sát"]) == _api(server, officer, "coverage?unit=70").json()["households"]["surveyed"]


def test_export_failures_are_one_line(server, tmp_path):
    out = str(tmp_path / "x.csv")
    db = ["--db", server.db]
    for args, needle in [
        (["--unit", "99999", "--format", "csv", "--out", out, *db], "99999"),
        (["--unit", "25216", "--format", "pdf", "--out", out, *db], "--format"),
        (["--unit", "25216", "--format", "csv", "--kind", "people", "--out", out, *db], "--kind"),
        (["--unit", "25216", "--format", "csv", "--out", str(tmp_path / "no" / "x.csv"), *db], "no"),
        (["--format", "csv", "--out", out, *db], "--unit"),
    ]:
        result = ntm("export", *args)
        assert result.returncode != 0 and needle in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
