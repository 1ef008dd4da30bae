"""Exports never let a spreadsheet run a cell (contract v1.1, issue 13 finding 3), over HTTP on both engines.

A household whose head and members are named like formulas, in a hamlet named like one, is exported as
CSV (members, coverage) and XLSX: every such text carries a leading `'`, the workbook holds no formula
cell, and figures stay numbers.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone

import pytest
import requests
from openpyxl import load_workbook

from ntm_field.server.cells import FORMULA_STARTS
from ntm_field.server.db import open_backend
from ntm_field.server.reports import to_csv, to_xlsx
from ntm_field.server.store import ServerStore
from tests.server.conftest import ENGINES, prepare_database, start_server, stop_server
from tests.server.test_http import auth, change, household, member, push_one

HOSTILE = ['=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "@SUM(1)", "-2+3", "\tx"]
HAMLET_NAME = "=1+2"  # a unit name from the units file is text too
HAMLET = "25216-09"


@pytest.fixture
def hostile_server(database_url):
    """A server whose units include a hamlet named like a formula."""
    prepare_database(database_url)
    store = ServerStore(open_backend(database_url), clock=lambda: datetime.now(timezone.utc), new_id=lambda: "unused")
    try:
        store.load_units(f"code,name,level,parent_code,expected_households\n{HAMLET},{HAMLET_NAME},hamlet,25216,40\n")
    finally:
        store.close()
    running = start_server(database_url)
    yield running
    stop_server(running.process)


def _neutralised(value: str) -> str:
    return "'" + value


def _unsafe(value) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


@ENGINES
def test_exports_write_formula_like_text_with_a_leading_quote_and_no_formula_cell(hostile_server):
    server = hostile_server
    leader = server.enrol("leader", "25216")["token"]
    members = [{**member(f"m{i}"), "full_name": name} for i, name in enumerate(HOSTILE)]
    doc = household(HAMLET, head_name="@SUM(1)", address="=1+1", members=members)
    push_one(server, leader, change(doc))

    def export(**params) -> bytes:
        reply = requests.get(server.api("/api/v1/export"), params={"unit": "25216", **params},
                             headers=auth(leader), timeout=30)  # fmt: skip
        assert reply.status_code == 200, reply.text
        return reply.content

    rows = list(csv.DictReader(io.StringIO(export(format="csv", kind="members").decode("utf-8-sig"))))
    assert [r["Họ và tên"] for r in rows] == [_neutralised(name) for name in HOSTILE]
    assert {r["Chủ hộ"] for r in rows} == {"'@SUM(1)"} and {r["Địa chỉ"] for r in rows} == {"'=1+1"}
    assert not [v for r in rows for v in r.values() if _unsafe(v)]
    assert {r["Năm sinh"] for r in rows} == {"1980"}  # numbers are not quoted

    coverage = list(csv.DictReader(io.StringIO(export(format="csv", kind="coverage").decode("utf-8-sig"))))
    assert [r["Tên đơn vị"] for r in coverage if r["Mã đơn vị"] == HAMLET] == [_neutralised(HAMLET_NAME)]
    assert not [v for r in coverage for v in r.values() if _unsafe(v)]

    book = load_workbook(io.BytesIO(export(format="xlsx")))
    cells = [cell for sheet in book for row in sheet.iter_rows() for cell in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"], "a formula cell"
    assert not [c.value for c in cells if _unsafe(c.value)]
    values = {c.value for c in cells}
    assert {_neutralised(name) for name in [*HOSTILE, HAMLET_NAME, "=1+1"]} <= values
    member_sheet = book["Thành viên"]
    header = [c.value for c in member_sheet[1]]
    years = [row[header.index("Năm sinh")] for row in member_sheet.iter_rows(min_row=2)]
    assert {(c.value, c.data_type) for c in years} == {(1980, "n")}


def test_text_cells_stay_text_and_numbers_stay_numbers_even_negative():
    """The writers alone: negative figures are numbers, text beginning with `-` is quoted text."""
    headers = [("text", "Chữ"), ("whole", "Số"), ("part", "Tỷ lệ"), ("empty", "Trống")]
    rows = [{"text": "-5", "whole": -5, "part": -0.25, "empty": None},
            {"text": "=A1", "whole": 0, "part": 0.5, "empty": None},
            {"text": "Nguyễn -", "whole": 3, "part": 1.0, "empty": None}]  # fmt: skip
    assert list(csv.reader(io.StringIO(to_csv(headers, iter(rows)).decode("utf-8-sig"))))[1:] == [
        ["'-5", "-5", "-0.25", ""], ["'=A1", "0", "0.5", ""], ["Nguyễn -", "3", "1.0", ""]
    ]
    sheet = load_workbook(io.BytesIO(to_xlsx([("S", headers, rows)])))["S"]
    assert [[(c.value, c.data_type) for c in row[:3]] for row in sheet.iter_rows(min_row=2)] == [
        [("'-5", "s"), (-5, "n"), (-0.25, "n")],
        [("'=A1", "s"), (0, "n"), (0.5, "n")],
        [("Nguyễn -", "s"), (3, "n"), (1.0, "n")],
    ]
