"""Exports (CSV, XLSX with openpyxl) of the members and the coverage figures of a unit.

Exports stream: household documents come from a server-side cursor (`Backend.stream`) one batch at a
time; a CSV is sent while it is written; an XLSX is written by openpyxl's write-only mode in a child
process (`export_xlsx`) so that neither its memory nor its CPU is the server's, then sent from a file
that is already unlinked.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES

from ntm_field.domain.codes import Check
from ntm_field.domain.records import Household
from ntm_field.server import errors, policy
from ntm_field.server.cells import neutralise
from ntm_field.server.coverage import coverage_report, scoped_unit
from ntm_field.server.db import Backend
from ntm_field.server.policy import Action
from ntm_field.server.store import Device, ServerStore

CSV = "text/csv; charset=utf-8"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Bytes a streamed export sends at a time: past the gzip middleware's 128 KiB, it compresses the chunk
# in a worker thread (zlib lets go of the GIL) rather than on the event loop.
CHUNK = 256 * 1024


def households_of(store: ServerStore, hamlet_codes: list[str]) -> Iterator[Household]:
    """The current (latest, not deleted) revision of every household of the hamlets."""
    return stored_households(store.backend, hamlet_codes)


def stored_households(backend: Backend, hamlet_codes: Iterable[str]) -> Iterator[Household]:
    """`households_of` on a backend alone (an export's child process has no store), streamed from one
    read snapshot, by hamlet then id.

    One query a hamlet, each served by the (hamlet_code, rev) index and sorting a few hundred rows,
    rather than one query whose ORDER BY would sort the whole province before its first row.
    """
    sql = "SELECT document FROM households WHERE hamlet_code = ? AND deleted = 0 ORDER BY id"
    for (document,) in backend.stream_each(sql, ([code] for code in sorted(set(hamlet_codes)))):
        yield Household.from_document(json.loads(document))


MEMBER_HEADERS = [
    ("household_id", "Mã hộ"), ("hamlet_code", "Mã thôn/ấp"), ("house_no", "Số nhà"), ("address", "Địa chỉ"),
    ("head_name", "Chủ hộ"), ("visit_status", "Tình trạng khảo sát"), ("surveyed_on", "Ngày khảo sát"),
    ("consent", "Đồng ý"), ("member_id", "Mã thành viên"), ("full_name", "Họ và tên"), ("birth_year", "Năm sinh"),
    ("presence", "Cư trú"), ("cccd", "CCCD gắn chip"), ("vneid", "Định danh điện tử"),
    ("smartphone", "Điện thoại thông minh"), ("sim", "SIM chính chủ, chữ ký số"), ("assisted", "Đã hỗ trợ"),
]  # fmt: skip

COVERAGE_HEADERS = [
    ("code", "Mã đơn vị"), ("name", "Tên đơn vị"), ("level", "Cấp"), ("expected", "Số hộ dự kiến"),
    ("surveyed", "Số hộ đã khảo sát"),
    *[(f"{c.value}_{part}", f"{label} – {vi}") for c, label in
      ((Check.CCCD, "CCCD"), (Check.VNEID, "VNeID mức 2"), (Check.SMARTPHONE, "Điện thoại thông minh"),
       (Check.SIM, "SIM chữ ký số"))
      for part, vi in (("covered", "đạt"), ("eligible", "trong diện"), ("rate", "tỷ lệ"))],
    ("fully_covered", "Hộ đạt đủ 4"),
]  # fmt: skip


def member_rows(households: Iterator[Household]) -> Iterator[dict]:
    for h in households:
        for m in h.members:
            yield {
                "household_id": h.id, "hamlet_code": h.hamlet_code, "house_no": h.house_no, "address": h.address,
                "head_name": h.head_name, "visit_status": str(h.visit_status), "surveyed_on": h.surveyed_on.isoformat(),
                "consent": "có" if h.consent.given else "không", "member_id": m.id, "full_name": m.full_name,
                "birth_year": m.birth_year, "presence": str(m.presence), "cccd": m.cccd, "vneid": m.vneid,
                "smartphone": m.smartphone, "sim": m.sim, "assisted": ", ".join(m.assisted),
            }  # fmt: skip


def coverage_rows(report: dict, *, depth: int = 0) -> Iterator[dict]:
    """One row per unit of a coverage report tree (the unit, then its children, recursively)."""
    row = {
        "code": report["unit"]["code"], "name": report["unit"]["name"], "level": report["unit"]["level"],
        "expected": report["households"]["expected"], "surveyed": report["households"]["surveyed"],
        "fully_covered": report["fully_covered_households"],
    }  # fmt: skip
    for check in Check:
        figure = report["indicators"][check.value]
        row[f"{check.value}_covered"] = figure["covered"]
        row[f"{check.value}_eligible"] = figure["eligible"]
        row[f"{check.value}_rate"] = figure["rate"]
    yield row
    for child in report.get("children", []):
        yield from coverage_rows(child, depth=depth + 1)


def csv_chunks(headers: list[tuple[str, str]], rows: Iterable[dict], *, size: int = CHUNK) -> Iterator[bytes]:
    """A CSV in chunks of about `size` bytes: the BOM (Excel then reads the diacritics right), the
    Vietnamese header, then one line a row, every text cell neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow([vi for _, vi in headers])
    for row in rows:
        writer.writerow(["" if row[key] is None else neutralise(row[key]) for key, _ in headers])
        if buffer.tell() >= size:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def to_csv(headers: list[tuple[str, str]], rows: Iterable[dict]) -> bytes:
    return b"".join(csv_chunks(headers, rows))


Sheet = tuple[str, list[tuple[str, str]], Iterable[dict]]


def write_workbook(sheets: list[Sheet], out: str | Path | BinaryIO) -> None:
    """An XLSX of the sheets (title, headers, rows), in openpyxl's write-only mode: each row goes to
    the sheet's file as it comes, so memory stays flat however many rows there are."""
    workbook = Workbook(write_only=True)
    for title, headers, rows in sheets:
        sheet = workbook.create_sheet(title)
        sheet.append([_xlsx_cell(sheet, vi) for _, vi in headers])
        rates = {key for key, _ in headers if key.endswith("_rate")}
        for row in rows:
            sheet.append([_xlsx_cell(sheet, row[key], percent=key in rates) for key, _ in headers])
    workbook.save(out)


def to_xlsx(sheets: list[Sheet]) -> bytes:
    out = io.BytesIO()
    write_workbook(sheets, out)
    return out.getvalue()


def _xlsx_cell(sheet, value, *, percent: bool = False):
    """A cell's value as write-only mode takes it: text always as text, never a formula or an error.

    openpyxl types a plain value itself (its fast path, one reused cell per row) and reads text as a
    formula when it begins with `=` (`neutralise` already quoted it) or as an error when it is `#N/A`
    and the like: such text, and the rates (a format), get a `WriteOnlyCell` of their own, typed `s`.
    """
    value = neutralise(value)
    if isinstance(value, str):
        if not (value.startswith("=") or value in ERROR_CODES):
            return value
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"
        return cell
    if percent and value is not None:
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "0.00%"
        return cell
    return value


@dataclass(frozen=True, slots=True)
class ExportFile:
    file_name: str
    media_type: str
    content: bytes


@dataclass(frozen=True, slots=True)
class Export:
    """An export the policy allowed and the audit recorded, not built yet: what the rows are made of."""

    file_name: str
    media_type: str
    format: str
    kind: str
    hamlets: tuple[str, ...]
    coverage: tuple[dict, ...]  # one row per unit (hundreds): read in the request, as `/coverage` does

    def sheets(self, backend: Backend) -> list[Sheet]:
        """The workbook's sheets, the members' rows streamed from `backend`."""
        return [("Thành viên", MEMBER_HEADERS, self.members(backend)), ("Độ phủ", COVERAGE_HEADERS, self.coverage)]

    def members(self, backend: Backend) -> Iterator[dict]:
        return member_rows(stored_households(backend, self.hamlets))


@dataclass(frozen=True, slots=True)
class ExportStream:
    """An export ready to send: its chunks, and its size when it is a finished file."""

    export: Export
    chunks: Iterator[bytes]
    size: int | None


def plan_export(store: ServerStore, device: Device, *, unit: str | None, format: str, kind: str = "members") -> Export:
    """Check (policy, unit, parameters) and audit an export; nothing is read of the households yet.

    `kind=members`: one row per member; `kind=coverage`: one row per unit down to the hamlets;
    `format=xlsx` ignores `kind` and holds both sheets. Rows carry records and figures only:
    no token, code or hash column exists to leak.
    """
    policy.require(device, Action.EXPORT)
    if format not in ("csv", "xlsx"):
        raise errors.Invalid("format must be csv or xlsx", field="format")
    if kind not in ("members", "coverage"):
        raise errors.Invalid("kind must be members or coverage", field="kind")
    rollup, code, hamlets = scoped_unit(store, device, unit=unit, structure=None, action=Action.EXPORT)
    coverage: tuple[dict, ...] = ()
    if format == "xlsx" or kind == "coverage":
        report = coverage_report(store, device, unit=code, structure=rollup.structure, depth=10)
        coverage = tuple(coverage_rows(report))
    store.audit(device.id, "export", code, {"format": format, "kind": kind})
    name = f"ntm-{code}-{kind if format == 'csv' else 'export'}.{format}"
    return Export(name, XLSX if format == "xlsx" else CSV, format, kind, tuple(hamlets), coverage)


def open_export(store: ServerStore, export: Export) -> ExportStream:
    """Start an export: the work that can fail happens here, before a response has begun.

    A CSV's first chunk is made at once (the read transaction opens), the rest as it is sent. An XLSX
    is built whole by a child process in a private folder (0700) and opened; the folder is removed
    before the first byte goes out, so nothing of it is left on disk whatever becomes of the download.
    """
    if export.format == "csv":
        if export.kind == "members":
            chunks = csv_chunks(MEMBER_HEADERS, export.members(store.backend))
        else:
            chunks = csv_chunks(COVERAGE_HEADERS, export.coverage)
        first = next(chunks)
        return ExportStream(export, _chained(first, chunks), None)
    # imported here: export_xlsx imports this module (the child process's side)
    from ntm_field.server import export_xlsx

    folder = Path(tempfile.mkdtemp(prefix="ntm-export-"))
    try:
        path = export_xlsx.build(store.backend.url, export, folder)
        file = path.open("rb")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return ExportStream(export, _file_chunks(file), os.fstat(file.fileno()).st_size)


def _chained(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest


def _file_chunks(file: BinaryIO) -> Iterator[bytes]:
    with file:
        while chunk := file.read(CHUNK):
            yield chunk


def export_file(store: ServerStore, device: Device, *, unit: str | None, format: str, kind: str = "members") -> ExportFile:
    """The export `GET /api/v1/export` serves, whole in memory (`ntm-field export`, the dashboard's
    download button), made and audited the same way."""
    export = plan_export(store, device, unit=unit, format=format, kind=kind)
    return ExportFile(export.file_name, export.media_type, b"".join(open_export(store, export).chunks))
