"""Daily progress and exports (CSV, XLSX with openpyxl), computed with the domain's indicator function."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from openpyxl import Workbook
from openpyxl.cell import Cell

from ntm_field.domain.codes import Check
from ntm_field.domain.indicators import Tally, tally_household
from ntm_field.domain.records import Household
from ntm_field.server import errors, policy
from ntm_field.server.cells import neutralise
from ntm_field.server.coverage import coverage_report, scoped_unit
from ntm_field.server.policy import Action
from ntm_field.server.store import Device, ServerStore

CSV = "text/csv; charset=utf-8"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def households_of(store: ServerStore, hamlet_codes: list[str]) -> Iterator[Household]:
    """The current (latest, not deleted) revision of every household of the hamlets."""
    if not hamlet_codes:
        return
    marks = ", ".join("?" * len(hamlet_codes))
    with store.backend.read() as tx:
        rows = tx.all(
            f"SELECT document FROM households WHERE deleted = 0 AND hamlet_code IN ({marks}) ORDER BY hamlet_code, id",
            hamlet_codes,
        )
    for (document,) in rows:
        yield Household.from_document(json.loads(document))


def progress(store: ServerStore, hamlet_codes: list[str]) -> list[dict]:
    """Cumulative figures at the end of each survey day (by the households' `surveyed_on`)."""
    by_day: dict[date, Tally] = {}
    for household in households_of(store, hamlet_codes):
        by_day[household.surveyed_on] = by_day.get(household.surveyed_on, Tally.zero()) + tally_household(household)
    days, running = [], Tally.zero()
    for day in sorted(by_day):
        running = running + by_day[day]
        entry: dict = {"date": day.isoformat(), "surveyed": running.surveyed}
        for check in Check:
            figure = running.figure(check)
            entry[check.value] = {"covered": figure.covered, "eligible": figure.eligible}
        days.append(entry)
    return days


def progress_report(store: ServerStore, device: Device, *, unit: str | None, structure: str | None) -> dict:
    """What `GET /api/v1/progress` answers: the unit and its daily series (the policy's READ_FIGURES)."""
    rollup, code, hamlets = scoped_unit(store, device, unit=unit, structure=structure)
    found = rollup.unit(code)
    return {"unit": {"code": code, "name": found.name, "level": str(found.level)}, "days": progress(store, hamlets)}


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


def to_csv(headers: list[tuple[str, str]], rows: Iterator[dict]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([vi for _, vi in headers])
    for row in rows:
        writer.writerow(["" if row[key] is None else neutralise(row[key]) for key, _ in headers])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")  # BOM: Excel reads the diacritics right


def to_xlsx(sheets: list[tuple[str, list[tuple[str, str]], list[dict]]]) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, headers, rows in sheets:
        sheet = workbook.create_sheet(title)
        sheet.append([vi for _, vi in headers])
        for row in rows:
            sheet.append([_xlsx_cell(sheet, row[key]) for key, _ in headers])
        for column, (key, _) in enumerate(headers, start=1):
            if key.endswith("_rate"):
                for cell in sheet.iter_cols(min_col=column, max_col=column, min_row=2):
                    for c in cell:
                        c.number_format = "0.00%"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _xlsx_cell(sheet, value) -> Cell:
    """A cell of text as text (never a formula, whatever it begins with), other values as they are."""
    cell = Cell(sheet, value=neutralise(value))
    if isinstance(value, str):
        cell.data_type = "s"
    return cell


@dataclass(frozen=True, slots=True)
class ExportFile:
    file_name: str
    media_type: str
    content: bytes


def export_file(store: ServerStore, device: Device, *, unit: str | None, format: str, kind: str = "members") -> ExportFile:
    """The export `GET /api/v1/export` serves and `ntm-field export` writes, audited.

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
    store.audit(device.id, "export", code, {"format": format, "kind": kind})
    name = f"ntm-{code}-{kind if format == 'csv' else 'export'}.{format}"

    def members() -> list[dict]:
        return list(member_rows(households_of(store, hamlets)))

    def coverage() -> list[dict]:
        return list(coverage_rows(coverage_report(store, device, unit=code, structure=rollup.structure, depth=10)))

    if format == "xlsx":
        sheets = [("Thành viên", MEMBER_HEADERS, members()), ("Độ phủ", COVERAGE_HEADERS, coverage())]
        return ExportFile(name, XLSX, to_xlsx(sheets))
    headers, rows = (MEMBER_HEADERS, members()) if kind == "members" else (COVERAGE_HEADERS, coverage())
    return ExportFile(name, CSV, to_csv(headers, iter(rows)))
