"""Administrative units: the committed files load, and a file with one bad row loads nothing.

Bad files are the real 2024 asset with one line corrupted, so that the reported line number
is checked against a line deep in a real file rather than line 2 of a toy one.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ntm_field.domain.units import (
    Level,
    Unit,
    UnitsFileError,
    hamlet_code,
    is_hamlet_code,
    parse_mapping_csv,
    parse_units_csv,
)

REPO = Path(__file__).resolve().parents[2]
ASSETS = REPO / "assets" / "units"
SOURCE = REPO.parent / "shared" / "data"

UNITS_2024 = (ASSETS / "binhphuoc-2024.csv").read_text(encoding="utf-8")
UNITS_2025 = (ASSETS / "dongnai-2025-binhphuoc.csv").read_text(encoding="utf-8")
MAPPING = (ASSETS / "binhphuoc-2025-mapping.csv").read_text(encoding="utf-8")

HEADER = "code,name,level,parent_code,expected_households"
LINE = 40  # a commune of Huyện Lộc Ninh (688) in the 2024 file


def by_code(units: list[Unit]) -> dict[str, Unit]:
    return {unit.code: unit for unit in units}


def levels(units: list[Unit]) -> Counter[Level]:
    return Counter(unit.level for unit in units)


def lines_of(text: str) -> list[str]:
    return text.splitlines()


def with_line(number: int, line: str, text: str = UNITS_2024) -> str:
    """`text` with its 1-based line `number` replaced."""
    lines = lines_of(text)
    lines[number - 1] = line
    return "\n".join(lines) + "\n"


def with_field(number: int, field: str, value: str, text: str = UNITS_2024) -> str:
    """`text` with one column of line `number` replaced."""
    columns = HEADER.split(",")
    row = lines_of(text)[number - 1].split(",")
    row[columns.index(field)] = value
    return with_line(number, ",".join(row), text)


def inserted(number: int, line: str, text: str = UNITS_2024) -> str:
    """`text` with `line` inserted so that it becomes line `number`."""
    lines = lines_of(text)
    lines.insert(number - 1, line)
    return "\n".join(lines) + "\n"


def refused(text: str, **kwargs) -> UnitsFileError:
    with pytest.raises(UnitsFileError) as caught:
        parse_units_csv(text, **kwargs)
    return caught.value


@pytest.fixture(scope="module")
def old_units() -> dict[str, Unit]:
    return by_code(parse_units_csv(UNITS_2024))


@pytest.fixture(scope="module")
def new_units() -> dict[str, Unit]:
    return by_code(parse_units_csv(UNITS_2025))


# --- the committed files -------------------------------------------------------------------


def test_line_40_of_the_2024_file_is_a_commune():
    # The corruption tests below rely on it.
    assert lines_of(UNITS_2024)[LINE - 1] == "25279,Xã Lộc Tấn,commune,692,"


def test_2024_file_has_one_province_11_districts_111_communes():
    units = parse_units_csv(UNITS_2024)
    assert levels(units) == {Level.PROVINCE: 1, Level.DISTRICT: 11, Level.COMMUNE: 111}
    assert units[0] == Unit("70", "Tỉnh Bình Phước", Level.PROVINCE, None, None)
    assert all(unit.expected_households is None for unit in units)


def test_2025_file_loads_alone():
    units = parse_units_csv(UNITS_2025)
    assert levels(units) == {Level.PROVINCE: 1, Level.COMMUNE: 40}
    assert units[0] == Unit("75", "Tỉnh Đồng Nai", Level.PROVINCE, None, None)
    assert all(unit.parent_code == "75" for unit in units[1:])


def test_2025_file_reuses_2024_codes_for_other_units(old_units):
    # 25195 was Phường Tân Phú (district 689) and is Phường Bình Phước (province 75) since
    # 1 July 2025: the two structures cannot share one set of units.
    error = refused(UNITS_2025, known=old_units)
    assert (error.line, error.field) == (3, "code")
    assert str(error) == "line 3: code: code '25195' already belongs to another unit"


def test_mapping_maps_all_111_old_communes_onto_the_new_communes(old_units, new_units):
    mapping = parse_mapping_csv(MAPPING, old_units=old_units, new_units=new_units)
    old_communes = {code for code, unit in old_units.items() if unit.level is Level.COMMUNE}
    new_communes = {code for code, unit in new_units.items() if unit.level is Level.COMMUNE}
    assert mapping.keys() == old_communes
    assert len(mapping) == 111
    assert len(set(mapping.values())) == len(new_communes) == 40
    assert mapping["25198"] == "25195"  # Phường Tân Đồng → Phường Bình Phước


@pytest.mark.skipif(not SOURCE.is_dir(), reason="../shared/data is not on this machine")
def test_assets_are_what_the_build_script_writes(tmp_path):
    subprocess.run(
        [sys.executable, str(REPO / "scripts" / "build_units.py"), str(SOURCE), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    for name in ("binhphuoc-2024.csv", "dongnai-2025-binhphuoc.csv", "binhphuoc-2025-mapping.csv"):
        assert (tmp_path / name).read_bytes() == (ASSETS / name).read_bytes(), name


# --- loading again ---------------------------------------------------------------------------


def test_reloading_a_file_against_its_own_units_gives_the_same_units(old_units):
    assert parse_units_csv(UNITS_2024, known=old_units) == list(old_units.values())


def test_reloading_may_change_expected_households(old_units):
    units = parse_units_csv(with_field(LINE, "expected_households", "2400"), known=old_units)
    assert by_code(units)["25279"].expected_households == 2400


def test_a_file_may_add_units_under_known_ones(old_units):
    hamlets = f"{HEADER}\n{hamlet_code('25279', 1)},Ấp 1,hamlet,25279,250\n25279-02,Ấp 2,hamlet,25279,\n"
    assert parse_units_csv(hamlets, known=old_units) == [
        Unit("25279-01", "Ấp 1", Level.HAMLET, "25279", 250),
        Unit("25279-02", "Ấp 2", Level.HAMLET, "25279", None),
    ]


def test_a_parent_may_come_later_in_the_file():
    lines = lines_of(UNITS_2024)
    moved = "\n".join([lines[0], *lines[2:], lines[1]])  # the province last
    assert levels(parse_units_csv(moved))[Level.PROVINCE] == 1


def test_byte_order_mark_and_windows_line_ends_are_accepted():
    text = "\ufeff" + UNITS_2024.replace("\n", "\r\n")
    assert parse_units_csv(text) == parse_units_csv(UNITS_2024)


def test_names_are_trimmed_and_composed():
    decomposed = "Xã Lộc Tấn".replace("ộ", "o\u0323\u0302").replace("ấ", "a\u0302\u0301")
    units = parse_units_csv(with_field(LINE, "name", f" {decomposed} "))
    assert by_code(units)["25279"].name == "Xã Lộc Tấn"


# --- one bad row refuses the file --------------------------------------------------------------


def test_unknown_parent():
    error = refused(with_field(LINE, "parent_code", "999"))
    assert (error.line, error.field) == (LINE, "parent_code")
    assert str(error) == error.message_en == "line 40: parent_code: unknown parent unit '999'"
    assert error.message_vi == "dòng 40: parent_code: không có đơn vị cấp trên '999'"


def test_duplicate_code_is_reported_at_its_second_occurrence():
    error = refused(with_field(LINE, "code", "25216"))  # 25216 is on line 4
    assert (error.line, error.field) == (LINE, "code")
    assert "first on line 4" in str(error)
    assert "đã có ở dòng 4" in error.message_vi


@pytest.mark.parametrize("level", ["xa", "Commune", "ward", "", " commune"])
def test_bad_level(level):
    error = refused(with_field(LINE, "level", level))
    assert (error.line, error.field) == (LINE, "level")


def test_code_reused_for_another_unit(old_units):
    error = refused(with_field(LINE, "name", "Xã Lộc Tấn Mới"), known=old_units)
    assert (error.line, error.field) == (LINE, "code")
    assert error.message_vi == "dòng 40: code: mã '25279' đã được dùng cho một đơn vị khác"


def test_code_moved_to_another_parent_is_reused_for_another_unit(old_units):
    error = refused(with_field(LINE, "parent_code", "693"), known=old_units)
    assert (error.line, error.field) == (LINE, "code")


@pytest.mark.parametrize("code", ["2527", "252790", "25x79", "２５２７９", " 25279", "25279-01", ""])
def test_bad_code_shape(code):
    error = refused(with_field(LINE, "code", code))
    assert (error.line, error.field) == (LINE, "code")


@pytest.mark.parametrize(
    ("line", "code"),
    [(2, "070"), (2, "7"), (36, "0692"), (36, "69")],  # the province, then district 692
)
def test_bad_code_shape_of_other_levels(line, code):
    error = refused(with_field(line, "code", code))
    assert (error.line, error.field) == (line, "code")


@pytest.mark.parametrize("code", ["25279-1", "25279-001", "25279-00", "25279-1000", "25279_01"])
def test_bad_hamlet_code_shape(code):
    error = refused(inserted(LINE, f"{code},Ấp 1,hamlet,25279,"))
    assert (error.line, error.field) == (LINE, "code")


def test_hamlet_prefix_must_be_its_communes_code():
    error = refused(inserted(LINE, "25280-01,Ấp 1,hamlet,25279,"))
    assert (error.line, error.field) == (LINE, "code")


@pytest.mark.parametrize("value", ["-5", "12.5", "1,5", "abc", " 5", "1e3", "10000001", "²"])
def test_bad_expected_households(value):
    text = with_line(LINE, f'25279,Xã Lộc Tấn,commune,692,"{value}"')
    error = refused(text)
    assert (error.line, error.field) == (LINE, "expected_households")
    assert "Lộc Tấn" not in error.message_en + error.message_vi  # only the offending value


@pytest.mark.parametrize(
    "header",
    [
        "code,name,level,parent_code",
        "Code,Name,Level,Parent_code,Expected_households",
        "name,code,level,parent_code,expected_households",
        "code,name,level,parent_code,expected_households,note",
        "code;name;level;parent_code;expected_households",
        "",
    ],
)
def test_wrong_header(header):
    error = refused(with_line(1, header))
    assert (error.line, error.field) == (1, None)
    assert error.message_vi.startswith("dòng 1: tiêu đề phải là")


def test_empty_file_is_refused_at_its_header():
    assert refused("").line == 1


@pytest.mark.parametrize("line", ["25279,Xã Lộc Tấn,commune,692", "25279,Xã Lộc Tấn,commune,692,,", "25279"])
def test_wrong_column_count(line):
    error = refused(with_line(LINE, line))
    assert (error.line, error.field) == (LINE, None)


@pytest.mark.parametrize(
    ("line", "parent"),
    [
        (LINE, "25216"),  # a commune under a commune
        (36, "688"),  # district 692 under a district
        (36, "25216"),  # district 692 under a commune
    ],
)
def test_parent_of_the_wrong_level(line, parent):
    error = refused(with_field(line, "parent_code", parent))
    assert (error.line, error.field) == (line, "parent_code")


def test_hamlet_under_a_district_is_refused(old_units):
    error = refused(f"{HEADER}\n25279-01,Ấp 1,hamlet,692,\n", known=old_units)
    assert (error.line, error.field) == (2, "code")  # its code cannot begin with a district's


def test_province_with_a_parent():
    error = refused(with_field(2, "parent_code", "75"))
    assert (error.line, error.field) == (2, "parent_code")


def test_missing_parent():
    error = refused(with_field(LINE, "parent_code", ""))
    assert (error.line, error.field) == (LINE, "parent_code")


@pytest.mark.parametrize("name", ["", "   ", "x" * 101, "Xã\tLộc"])
def test_bad_name(name):
    error = refused(with_field(LINE, "name", name))
    assert (error.line, error.field) == (LINE, "name")


def test_the_earliest_bad_row_is_reported():
    # A parent error (found once the whole file is read) on line 40 comes before a level
    # error on line 60 and a column-count error on line 80.
    text = with_field(60, "level", "xa", with_field(LINE, "parent_code", "999"))
    text = with_line(80, "25279", text)
    error = refused(text)
    assert (error.line, error.field) == (LINE, "parent_code")


def test_children_of_a_bad_row_are_not_blamed_for_it():
    # District 692 (line 36) has an empty name: the error is its own, not its communes'.
    error = refused(with_field(36, "name", ""))
    assert (error.line, error.field) == (36, "name")


def test_long_values_are_cut_short_in_messages():
    error = refused(with_field(LINE, "level", "x" * 500))
    assert len(str(error)) < 200


# --- mapping file ------------------------------------------------------------------------------


def refused_mapping(text: str, old_units, new_units) -> UnitsFileError:
    with pytest.raises(UnitsFileError) as caught:
        parse_mapping_csv(text, old_units=old_units, new_units=new_units)
    return caught.value


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ("99999,25195", "old_code"),  # no such old commune
        ("692,25195", "old_code"),  # a district, not a commune
        ("{old},99999", "new_code"),  # no such new commune
        ("{old},75", "new_code"),  # the province, not a commune
        ("25198,25195", "old_code"),  # 25198 is already on line 3
        ("{old},25195,x", None),
        ("old_code,new_code", "old_code"),
    ],
)
def test_bad_mapping_row(row, field, old_units, new_units):
    old = lines_of(MAPPING)[LINE - 1].split(",")[0]  # the line's own old commune
    error = refused_mapping(with_line(LINE, row.format(old=old), MAPPING), old_units, new_units)
    assert (error.line, error.field) == (LINE, field)


def test_mapping_with_a_wrong_header(old_units, new_units):
    error = refused_mapping(with_line(1, "old,new", MAPPING), old_units, new_units)
    assert (error.line, error.field) == (1, None)


# --- hamlet codes ------------------------------------------------------------------------------


@pytest.mark.parametrize(("number", "code"), [(1, "25216-01"), (3, "25216-03"), (12, "25216-12"), (123, "25216-123")])
def test_hamlet_code(number, code):
    assert hamlet_code("25216", number) == code
    assert is_hamlet_code(code)


@pytest.mark.parametrize(("commune", "number"), [("25216", 0), ("25216", 1000), ("2521", 1), ("688", 1)])
def test_hamlet_code_refuses_what_it_cannot_write(commune, number):
    with pytest.raises(ValueError):
        hamlet_code(commune, number)


@pytest.mark.parametrize("code", ["25216-3", "25216-003", "25216-00", "25216", "2521-03", "25216-03 ", None, 2521603])
def test_not_hamlet_codes(code):
    assert not is_hamlet_code(code)


@given(commune=st.from_regex(r"[0-9]{5}", fullmatch=True), number=st.integers(1, 999))
def test_every_hamlet_code_written_is_one_and_loads(commune, number):
    code = hamlet_code(commune, number)
    assert is_hamlet_code(code)
    text = f"{HEADER}\n{commune},Xã A,commune,70,\n70,Tỉnh B,province,,\n{code},Ấp A,hamlet,{commune},0\n"
    assert parse_units_csv(text)[2] == Unit(code, "Ấp A", Level.HAMLET, commune, 0)
