"""Exports stream (issue 14, item 4), on both engines: rows come from a server-side cursor, a CSV is sent
while it is written, an XLSX is built by a child process in write-only mode and sent from a file that is
gone before its first byte; what they hold is still the data and the API's figures, formulas neutralised,
and a refused export is still a plain JSON answer.
"""

from __future__ import annotations

import csv
import io
import itertools
import sqlite3
import uuid
from dataclasses import replace
from datetime import date, datetime, timezone

import psycopg
import pytest
import requests
from openpyxl import load_workbook

from ntm_field.bench.households import generate
from ntm_field.server import changes, policy, reports
from ntm_field.server.db import open_backend
from ntm_field.server.store import ServerStore
from tests.server.conftest import ENGINES, prepare_database, start_server, stop_server
from tests.server.test_http import assert_error, auth, coverage_ok, push_ok

HAMLETS = ["25216-01", "25216-02", "25216-03"]
HOSTILE = "=HYPERLINK(\"http://x\",\"y\")"
CHECKS = ("cccd", "vneid", "smartphone", "sim")


def _households(count: int, *, seed: int) -> list:
    """`count` households spread over the three hamlets of 25216; the first member of the first is named
    like a formula."""
    made = [replace(h, hamlet_code=HAMLETS[i % 3]) for i, h in enumerate(generate(count, seed=seed))]
    first = made[0]
    made[0] = replace(first, members=(replace(first.members[0], full_name=HOSTILE), *first.members[1:]))
    return made


def _change(h) -> dict:
    return {"change_id": str(uuid.uuid4()), "id": h.id, "base_rev": None, "deleted": False, "data": h.to_document()}


@pytest.fixture
def exporting(database_url, tmp_path):
    """A server (its TMPDIR a folder of the test's) holding 60 households pushed over HTTP, and an officer."""
    prepare_database(database_url)
    spool = tmp_path / "server-tmp"
    spool.mkdir()
    server = start_server(database_url, env={"TMPDIR": str(spool)})
    try:
        surveyor = server.enrol("surveyor", "25216")["token"]
        households = _households(60, seed=8)
        push_ok(server, surveyor, [_change(h) for h in households])
        officer = server.enrol("officer", "70")["token"]
        yield server, officer, households, spool
    finally:
        stop_server(server.process)


def _export(server, token: str, **params) -> requests.Response:
    return requests.get(server.api("/api/v1/export"), params={"unit": "25216", **params}, headers=auth(token), timeout=60)


def _expected_members(households) -> list[tuple]:
    """(household, member, name, birth year) in the export's order: by hamlet, then household id."""
    ordered = sorted(households, key=lambda h: (h.hamlet_code, h.id))
    return [(h.id, m.id, m.full_name, m.birth_year) for h in ordered for m in h.members]


@ENGINES
def test_the_csv_is_streamed_and_holds_every_member_in_order(exporting):
    server, officer, households, _ = exporting
    reply = _export(server, officer, format="csv", kind="members")
    assert reply.status_code == 200
    assert reply.headers["transfer-encoding"] == "chunked" and "content-length" not in reply.headers
    assert reply.content.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(reply.content.decode("utf-8-sig"))))
    got = [(r["Mã hộ"], r["Mã thành viên"], r["Họ và tên"], int(r["Năm sinh"])) for r in rows]
    expected = [(hid, mid, "'" + name if name == HOSTILE else name, year)
                for hid, mid, name, year in _expected_members(households)]  # fmt: skip
    assert got == expected


@ENGINES
def test_the_xlsx_holds_every_member_and_the_apis_figures(exporting):
    server, officer, households, _ = exporting
    reply = _export(server, officer, format="xlsx")
    assert reply.status_code == 200 and int(reply.headers["content-length"]) == len(reply.content)
    book = load_workbook(io.BytesIO(reply.content))
    assert book.sheetnames == ["Thành viên", "Độ phủ"]
    cells = [cell for sheet in book for row in sheet.iter_rows() for cell in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"], "a formula cell"

    sheet = book["Thành viên"]
    header = [c.value for c in sheet[1]]
    at = {name: header.index(name) for name in ("Mã hộ", "Mã thành viên", "Họ và tên", "Năm sinh")}
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    got = [(r[at["Mã hộ"]], r[at["Mã thành viên"]], r[at["Họ và tên"]], r[at["Năm sinh"]]) for r in rows]
    expected = [(hid, mid, "'" + name if name == HOSTILE else name, year)
                for hid, mid, name, year in _expected_members(households)]  # fmt: skip
    assert got == expected

    # The coverage sheet: the unit and its hamlets, every figure the API's
    figures = coverage_ok(server, officer, "25216")
    api = {figures["unit"]["code"]: figures, **{c["unit"]["code"]: c for c in figures["children"]}}
    sheet = book["Độ phủ"]
    header = [c.value for c in sheet[1]]
    by_code = {row[0].value: row for row in sheet.iter_rows(min_row=2)}
    assert set(by_code) == set(api)
    assert api["25216"]["households"]["surveyed"] == len(households)
    for code, report in api.items():
        row = {name: cell for name, cell in zip(header, by_code[code])}
        assert row["Số hộ đã khảo sát"].value == report["households"]["surveyed"]
        assert row["Số hộ dự kiến"].value == report["households"]["expected"]
        assert row["Hộ đạt đủ 4"].value == report["fully_covered_households"]
        for check, label in zip(CHECKS, ("CCCD", "VNeID mức 2", "Điện thoại thông minh", "SIM chữ ký số")):
            figure = report["indicators"][check]
            assert row[f"{label} – đạt"].value == figure["covered"]
            assert row[f"{label} – trong diện"].value == figure["eligible"]
            rate = row[f"{label} – tỷ lệ"]
            assert rate.value == figure["rate"] and (rate.value is None or rate.number_format == "0.00%")


@ENGINES
def test_the_xlsx_file_is_gone_before_the_first_byte_and_after(exporting):
    server, officer, _, spool = exporting
    with _export_streamed(server, officer, format="xlsx") as reply:
        first = next(reply.iter_content(256))
        assert first.startswith(b"PK")
        assert list(spool.iterdir()) == [], "the export's file (or openpyxl's) is still on disk"
        rest = b"".join(reply.iter_content(64 * 1024))
    assert load_workbook(io.BytesIO(first + rest))["Thành viên"].max_row > 1
    assert list(spool.iterdir()) == []


def _export_streamed(server, token: str, **params) -> requests.Response:
    return requests.get(server.api("/api/v1/export"), params={"unit": "25216", **params}, headers=auth(token),
                        timeout=60, stream=True)  # fmt: skip


@ENGINES
def test_a_refused_or_unknown_export_is_plain_json(exporting):
    server, _, _, spool = exporting
    surveyor = server.enrol("surveyor", "25216")["token"]
    other_leader = server.enrol("leader", "25217")["token"]
    for fmt in ("csv", "xlsx"):
        assert_error(_export(server, surveyor, format=fmt), 403, "forbidden")
        assert_error(_export(server, other_leader, format=fmt), 403, "forbidden")
        assert_error(_export(server, other_leader, format=fmt, unit="99999"), 404, "unknown_unit")
    assert list(spool.iterdir()) == []


@pytest.fixture
def loaded_store(database_url):
    """A store (in process) holding 1,500 households pushed through the push code, and the officer device."""
    prepare_database(database_url)
    counter = itertools.count()
    store = ServerStore(open_backend(database_url), clock=lambda: datetime(2024, 4, 12, 2, tzinfo=timezone.utc),
                        new_id=lambda: f"id-{next(counter)}")  # fmt: skip
    households = _households(1500, seed=9)
    tree = store.tree("2024")
    for start in range(0, len(households), 500):
        batch = [_change(h) for h in households[start : start + 500]]
        results = changes.push_batch(store, policy.COMMAND_LINE, batch, hamlets=tree, today=date(2024, 4, 12))
        assert {r["status"] for r in results} == {"applied"}
    yield store, households
    store.close()


class CountingBackend:
    """The store's backend, counting the rows its streams have handed out."""

    def __init__(self, backend):
        self.backend, self.rows = backend, 0

    def __getattr__(self, name):
        return getattr(self.backend, name)

    def stream_each(self, sql, each, *, batch=1000):
        for row in self.backend.stream_each(sql, each, batch=batch):
            self.rows += 1
            yield row


def _open_streams(database_url: str) -> int:
    """Read transactions open on the database besides this question's: PostgreSQL's sessions idle in a
    transaction; on SQLite, 1 when a reader keeps the WAL from being reset (a TRUNCATE checkpoint is busy)."""
    if database_url.startswith("sqlite:///"):
        with sqlite3.connect(database_url.removeprefix("sqlite:///"), timeout=0.2) as conn:
            busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        return busy
    with psycopg.connect(database_url, autocommit=True) as conn:
        return conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND state LIKE 'idle in transaction%'"
        ).fetchone()[0]


@ENGINES
def test_the_first_csv_chunk_comes_before_the_households_are_read(loaded_store, database_url):
    store, households = loaded_store
    counting = CountingBackend(store.backend)
    store.backend = counting
    export = reports.plan_export(store, policy.COMMAND_LINE, unit="25216", format="csv", kind="members")
    stream = reports.open_export(store, export)
    assert stream.size is None
    first = next(stream.chunks)
    assert first.startswith("\ufeff".encode()) and 0 < counting.rows < len(households)
    assert _open_streams(database_url) == 1  # the stream's read transaction is open while it streams…
    rest = b"".join(stream.chunks)
    assert counting.rows == len(households)
    assert _open_streams(database_url) == 0  # …and ended with the last row
    lines = (first + rest).decode("utf-8-sig").splitlines()
    assert len(lines) - 1 == sum(len(h.members) for h in households)


@ENGINES
def test_a_stream_reads_one_snapshot_and_leaves_the_thread_connection_free(loaded_store):
    """A write committed after the stream began is not in it, and the thread's own connection still runs
    transactions while the stream is open (a streaming response resumes on any thread)."""
    store, households = loaded_store
    rows = store.backend.stream_each("SELECT id FROM households WHERE hamlet_code = ? ORDER BY id", [[h] for h in HAMLETS],
                                     batch=7)  # fmt: skip
    seen = [next(rows)]
    late = replace(generate(1, seed=99).__next__(), hamlet_code=HAMLETS[2])
    results = changes.push_batch(store, policy.COMMAND_LINE, [_change(late)], hamlets=store.tree("2024"), today=date(2024, 4, 12))
    assert results[0]["status"] == "applied"
    seen += [row for row in rows]
    assert sorted(hid for (hid,) in seen) == sorted(h.id for h in households)


@ENGINES
def test_the_whole_file_export_of_the_command_line_and_dashboard_is_the_streamed_one(loaded_store):
    store, households = loaded_store
    csv_file = reports.export_file(store, policy.COMMAND_LINE, unit="25216", format="csv", kind="members")
    export = reports.plan_export(store, policy.COMMAND_LINE, unit="25216", format="csv", kind="members")
    assert csv_file.content == b"".join(reports.open_export(store, export).chunks)
    xlsx = reports.export_file(store, policy.COMMAND_LINE, unit="25216", format="xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.content))["Thành viên"]
    assert sheet.max_row - 1 == sum(len(h.members) for h in households)


def test_write_only_cells_keep_text_as_text_and_rates_as_percentages():
    """Text openpyxl would read as a formula or an error value stays text; rates keep their format."""
    headers = [("name", "Tên"), ("whole", "Số"), ("cccd_rate", "Tỷ lệ")]
    rows = [{"name": "#N/A", "whole": 3, "cccd_rate": 0.5}, {"name": "=1+2", "whole": -1, "cccd_rate": None},
            {"name": "#DIV/0!", "whole": 0, "cccd_rate": 1.0}]  # fmt: skip
    sheet = load_workbook(io.BytesIO(reports.to_xlsx([("S", headers, rows)])))["S"]
    got = [[(c.value, c.data_type) for c in row] for row in sheet.iter_rows(min_row=2)]
    assert got == [
        [("#N/A", "s"), (3, "n"), (0.5, "n")],
        [("'=1+2", "s"), (-1, "n"), (None, "n")],
        [("#DIV/0!", "s"), (0, "n"), (1.0, "n")],
    ]
    assert [row[2].number_format for row in sheet.iter_rows(min_row=2) if row[2].value is not None] == ["0.00%"] * 2
