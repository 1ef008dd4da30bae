"""Administrative units (province → district → commune → hamlet) and the files that carry them.

Units are data: an administrator loads them from CSV files (`ntm-field admin units load`,
`… units map`), never from code. This module reads those files into plain `Unit` values and
refuses a whole file at its first bad row, naming the line; it does no I/O itself.

File formats (docs/units.md tells where the committed files come from):

- units: header `code,name,level,parent_code,expected_households`;
- old→new commune mapping: header `old_code,new_code`.

Codes are text and kept exactly as written ("70", "688", "25216", "25216-03"): GSO codes are
zero-padded and a code is never turned into a number.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType


class Level(StrEnum):
    PROVINCE = "province"
    DISTRICT = "district"
    COMMUNE = "commune"
    HAMLET = "hamlet"


@dataclass(frozen=True, slots=True)
class Unit:
    code: str
    name: str
    level: Level
    parent_code: str | None
    expected_households: int | None


class UnitsFileError(ValueError):
    """A units file was refused; nothing of it was loaded."""

    def __init__(self, line: int | None, field: str | None, en: str, vi: str) -> None:
        where_en = "" if line is None else f"line {line}: "
        where_vi = "" if line is None else f"dòng {line}: "
        column = "" if field is None else f"{field}: "
        self.line = line
        self.field = field
        self.message_en = f"{where_en}{column}{en}"
        self.message_vi = f"{where_vi}{column}{vi}"
        super().__init__(self.message_en)


UNITS_HEADER = ("code", "name", "level", "parent_code", "expected_households")
MAPPING_HEADER = ("old_code", "new_code")
MAX_NAME = 100
# More households than any Vietnamese province has: a larger number is a typing error.
MAX_EXPECTED_HOUSEHOLDS = 10_000_000
MAX_HAMLET_NUMBER = 999

# [0-9], not \d: \d also matches other scripts' digits ("２５２１６").
_CODE_SHAPES: dict[Level, re.Pattern[str]] = {
    Level.PROVINCE: re.compile(r"[0-9]{2}"),
    Level.DISTRICT: re.compile(r"[0-9]{3}"),
    Level.COMMUNE: re.compile(r"[0-9]{5}"),
    # Exactly what hamlet_code() writes (01–999, two digits at least, no extra leading zero),
    # so that one hamlet cannot have two spellings ("25216-03" and "25216-003").
    Level.HAMLET: re.compile(r"([0-9]{5})-(0[1-9]|[1-9][0-9]{1,2})"),
}
_SHAPE_TEXT: dict[Level, tuple[str, str]] = {
    Level.PROVINCE: ("2 digits", "2 chữ số"),
    Level.DISTRICT: ("3 digits", "3 chữ số"),
    Level.COMMUNE: ("5 digits", "5 chữ số"),
    Level.HAMLET: ("commune code, '-', number 01–999", "mã xã, dấu '-', số thứ tự 01–999"),
}
_LEVEL_NAMES: dict[Level, tuple[str, str]] = {
    Level.PROVINCE: ("province", "cấp tỉnh"),
    Level.DISTRICT: ("district", "cấp huyện"),
    Level.COMMUNE: ("commune", "cấp xã"),
    Level.HAMLET: ("hamlet", "thôn, ấp"),
}
_PARENT_LEVELS: dict[Level, tuple[Level, ...]] = {
    Level.PROVINCE: (),
    Level.DISTRICT: (Level.PROVINCE,),
    Level.COMMUNE: (Level.DISTRICT, Level.PROVINCE),
    Level.HAMLET: (Level.COMMUNE,),
}
_PARENT_TEXT: dict[Level, tuple[str, str]] = {
    Level.DISTRICT: ("a district's parent is a province", "đơn vị cấp huyện phải thuộc một tỉnh"),
    Level.COMMUNE: (
        "a commune's parent is a district or a province",
        "đơn vị cấp xã phải thuộc một huyện hoặc một tỉnh",
    ),
    Level.HAMLET: ("a hamlet's parent is a commune", "thôn, ấp phải thuộc một xã"),
}

_NO_UNITS: Mapping[str, Unit] = MappingProxyType({})


def hamlet_code(commune_code: str, number: int) -> str:
    """The product's code of a commune's `number`-th hamlet: hamlet_code("25216", 3) == "25216-03".

    Hamlets have no national code; this one is stable as long as the number is never reused.
    """
    if not _CODE_SHAPES[Level.COMMUNE].fullmatch(commune_code):
        raise ValueError(f"not a commune code: {_shown(commune_code)}")
    if not 1 <= number <= MAX_HAMLET_NUMBER:
        raise ValueError(f"hamlet number out of range 1–{MAX_HAMLET_NUMBER}: {number}")
    return f"{commune_code}-{number:02d}"


def is_hamlet_code(code: object) -> bool:
    """Whether `code` is a hamlet code as hamlet_code() writes it."""
    return isinstance(code, str) and _CODE_SHAPES[Level.HAMLET].fullmatch(code) is not None


def parse_units_csv(text: str, *, known: Mapping[str, Unit] = _NO_UNITS) -> list[Unit]:
    """The units of a units file, in file order, or UnitsFileError for its first bad row.

    `known` holds the units already loaded: a parent may be one of them, and a code of the file
    that is already known must describe the same unit (same name, level and parent) — loading a
    file again is harmless, while a code reused for another unit is refused. expected_households
    is not part of a unit's identity, so a reload may change it.

    Names are stored trimmed and in Unicode NFC (composed diacritics, as Vietnamese keyboards
    set to "Unicode dựng sẵn" type them) so that equal names compare equal. Blank lines are skipped.
    """
    # Every row is read before parents are resolved, since a parent may come later in the
    # file; the error reported is still the one of the earliest bad row.
    in_file: dict[str, Unit | None] = {}  # None: the row holding this code is itself bad
    first_line: dict[str, int] = {}
    parsed: list[tuple[int, Unit]] = []
    first_error: UnitsFileError | None = None
    for line, row in _rows(text, UNITS_HEADER):
        code = row[0]
        try:
            _check_columns(line, row, len(UNITS_HEADER))
            if code in first_line:
                raise UnitsFileError(
                    line,
                    "code",
                    f"code {_shown(code)} appears twice in the file (first on line {first_line[code]})",
                    f"mã {_shown(code)} bị trùng trong tệp (đã có ở dòng {first_line[code]})",
                )
            unit = _unit(line, row, known)
        except UnitsFileError as error:
            first_error = first_error or error
            in_file.setdefault(code, None)
            first_line.setdefault(code, line)
            continue
        in_file[code] = unit
        first_line[code] = line
        parsed.append((line, unit))

    for line, unit in parsed:
        if first_error is not None and first_error.line is not None and line > first_error.line:
            break
        _check_parent(line, unit, in_file, known)
    if first_error is not None:
        raise first_error
    return [unit for _, unit in parsed]


def parse_mapping_csv(
    text: str, *, old_units: Mapping[str, Unit], new_units: Mapping[str, Unit]
) -> dict[str, str]:
    """An old→new commune mapping file as {old commune code: new commune code}.

    Every old code must be a commune of `old_units`, every new code a commune of `new_units`,
    and each old code appear once; otherwise UnitsFileError names the first bad line.
    Several old communes may go to one new commune (that is what a merger is).
    """
    mapping: dict[str, str] = {}
    first_line: dict[str, int] = {}
    for line, row in _rows(text, MAPPING_HEADER):
        _check_columns(line, row, len(MAPPING_HEADER))
        old, new = row
        if old in first_line:
            raise UnitsFileError(
                line,
                "old_code",
                f"commune {_shown(old)} appears twice (first on line {first_line[old]})",
                f"xã {_shown(old)} xuất hiện hai lần (lần đầu ở dòng {first_line[old]})",
            )
        first_line[old] = line
        for field, code, units, en, vi in (
            ("old_code", old, old_units, "old", "cũ"),
            ("new_code", new, new_units, "new", "mới"),
        ):
            unit = units.get(code)
            if unit is None or unit.level != Level.COMMUNE:
                raise UnitsFileError(
                    line,
                    field,
                    f"{_shown(code)} is not a commune of the {en} units",
                    f"{_shown(code)} không phải là đơn vị cấp xã trong danh sách đơn vị {vi}",
                )
        mapping[old] = new
    return mapping


def _rows(text: str, header: tuple[str, ...]) -> list[tuple[int, list[str]]]:
    """(line number, row) for each non-blank row after the header, which must be `header`.

    The line number is the file line on which the row begins (line 1 is the header), so a quoted
    field spanning lines does not shift later numbers. Text the csv module cannot read (a field
    over its size limit) is refused at once, at the line where it starts.
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[tuple[int, list[str]]] = []
    end_of_previous = 0
    while True:
        line = end_of_previous + 1
        try:
            row = next(reader, None)
        except csv.Error:
            raise UnitsFileError(
                line, None, "the line is not valid CSV", "dòng không đúng định dạng CSV"
            ) from None
        if line == 1 and (row is None or tuple(row) != header):
            expected = ",".join(header)
            raise UnitsFileError(
                1, None, f"the header must be '{expected}'", f"tiêu đề phải là '{expected}'"
            )
        if row is None:
            return rows
        end_of_previous = reader.line_num
        if line > 1 and row:
            rows.append((line, row))


def _check_columns(line: int, row: list[str], columns: int) -> None:
    if len(row) != columns:
        raise UnitsFileError(
            line,
            None,
            f"expected {columns} columns, found {len(row)}",
            f"cần {columns} cột, có {len(row)} cột",
        )


def _unit(line: int, row: list[str], known: Mapping[str, Unit]) -> Unit:
    """One row as a Unit, checking everything but the parent's existence and level."""
    code, raw_name, raw_level, raw_parent, raw_households = row

    try:
        level = Level(raw_level)
    except ValueError:
        raise UnitsFileError(
            line,
            "level",
            f"unknown level {_shown(raw_level)} (expected province, district, commune or hamlet)",
            f"cấp {_shown(raw_level)} không hợp lệ (phải là province, district, commune hoặc hamlet)",
        ) from None

    shape = _CODE_SHAPES[level].fullmatch(code)
    if shape is None:
        level_en, level_vi = _LEVEL_NAMES[level]
        shape_en, shape_vi = _SHAPE_TEXT[level]
        raise UnitsFileError(
            line,
            "code",
            f"{_shown(code)} is not a {level_en} code ({shape_en})",
            f"{_shown(code)} không phải mã đơn vị {level_vi} ({shape_vi})",
        )

    name = unicodedata.normalize("NFC", raw_name.strip())
    if not name:
        raise UnitsFileError(line, "name", "the name is empty", "tên đơn vị đang để trống")
    if len(name) > MAX_NAME:
        raise UnitsFileError(
            line,
            "name",
            f"the name is longer than {MAX_NAME} characters",
            f"tên đơn vị dài quá {MAX_NAME} ký tự",
        )
    if any(unicodedata.category(c).startswith("C") for c in name):
        raise UnitsFileError(
            line, "name", "the name contains a control character", "tên đơn vị chứa ký tự điều khiển"
        )

    parent = raw_parent or None
    level_en, level_vi = _LEVEL_NAMES[level]
    if level is Level.PROVINCE and parent is not None:
        raise UnitsFileError(
            line,
            "parent_code",
            f"a province has no parent unit, found {_shown(parent)}",
            f"đơn vị cấp tỉnh không có đơn vị cấp trên, nhưng có {_shown(parent)}",
        )
    if level is not Level.PROVINCE and parent is None:
        raise UnitsFileError(
            line,
            "parent_code",
            f"a {level_en} unit needs a parent unit",
            f"đơn vị {level_vi} phải có đơn vị cấp trên",
        )
    if level is Level.HAMLET and shape.group(1) != parent:
        raise UnitsFileError(
            line,
            "code",
            f"hamlet code {_shown(code)} does not begin with its parent commune's code",
            f"mã thôn, ấp {_shown(code)} không bắt đầu bằng mã xã cấp trên",
        )

    households = None
    if raw_households:
        if not re.fullmatch(r"[0-9]{1,9}", raw_households) or int(raw_households) > MAX_EXPECTED_HOUSEHOLDS:
            raise UnitsFileError(
                line,
                "expected_households",
                f"expected a whole number from 0 to {MAX_EXPECTED_HOUSEHOLDS:,} or nothing, "
                f"found {_shown(raw_households)}",
                f"phải là số nguyên từ 0 đến {MAX_EXPECTED_HOUSEHOLDS:_} hoặc để trống, ".replace("_", ".")
                + f"nhưng có {_shown(raw_households)}",
            )
        households = int(raw_households)

    unit = Unit(code, name, level, parent, households)
    previous = known.get(code)
    if previous is not None and (previous.name, previous.level, previous.parent_code) != (
        unit.name,
        unit.level,
        unit.parent_code,
    ):
        raise UnitsFileError(
            line,
            "code",
            f"code {_shown(code)} already belongs to another unit",
            f"mã {_shown(code)} đã được dùng cho một đơn vị khác",
        )
    return unit


def _check_parent(
    line: int, unit: Unit, in_file: Mapping[str, Unit | None], known: Mapping[str, Unit]
) -> None:
    if unit.parent_code is None:
        return
    if unit.parent_code in in_file:
        parent = in_file[unit.parent_code]
        if parent is None:  # the parent's own row is bad and is reported at its line
            return
    else:
        parent = known.get(unit.parent_code)
        if parent is None:
            raise UnitsFileError(
                line,
                "parent_code",
                f"unknown parent unit {_shown(unit.parent_code)}",
                f"không có đơn vị cấp trên {_shown(unit.parent_code)}",
            )
    if parent.level not in _PARENT_LEVELS[unit.level]:
        parent_en, parent_vi = _LEVEL_NAMES[parent.level]
        rule_en, rule_vi = _PARENT_TEXT[unit.level]
        raise UnitsFileError(
            line,
            "parent_code",
            f"{_shown(unit.parent_code)} is a {parent_en} unit; {rule_en}",
            f"{_shown(unit.parent_code)} là đơn vị {parent_vi}; {rule_vi}",
        )


def _shown(value: str, limit: int = 40) -> str:
    """A value quoted for a one-line message, cut short if long."""
    if len(value) > limit:
        value = value[:limit] + "…"
    return repr(value)
