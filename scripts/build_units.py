#!/usr/bin/env python3
"""Build the committed unit files in assets/units/ from the GSO facts in ../shared/data/.

    python scripts/build_units.py [SOURCE_DIR] [--out DIR]

SOURCE_DIR defaults to ../shared/data relative to the repository root and must hold
binhphuoc-2024-units.csv and binhphuoc-2025-mapping.csv (their origin is in that folder's
README and in docs/units.md). The script writes, into DIR (default assets/units/):

- binhphuoc-2024.csv          province 70, its 11 district-level units and 111 communes;
- dongnai-2025-binhphuoc.csv  province 75 and the 2025 communes that Bình Phước's communes became;
- binhphuoc-2025-mapping.csv  old_code,new_code: one row per 2024 commune.

Output is sorted and written with "\\n" line endings, so running it twice gives the same bytes.
expected_households is left empty everywhere: no official count is available, and an invented
one would end up in coverage reports. The script checks the sources for consistency and stops
with a message instead of writing anything when they disagree.

Standard library only; it does not import ntm_field (tests/domain/test_units.py loads the
output through the real parser).
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = REPO_ROOT.parent / "shared" / "data"
DEFAULT_OUT = REPO_ROOT / "assets" / "units"

UNITS_SOURCE = "binhphuoc-2024-units.csv"
MAPPING_SOURCE = "binhphuoc-2025-mapping.csv"

UNITS_HEADER = ["code", "name", "level", "parent_code", "expected_households"]
MAPPING_HEADER = ["old_code", "new_code"]

# The mapping source names the new province "Đồng Nai"; GSO's list names provinces with their
# administrative prefix ("Tỉnh Bình Phước"), and our files follow the GSO list.
NEW_PROVINCE_CODE = "75"
NEW_PROVINCE_SOURCE_NAME = "Đồng Nai"
NEW_PROVINCE_NAME = "Tỉnh Đồng Nai"


class SourceError(Exception):
    """The source files are not what this script was written for."""


def read_csv(path: Path, header: list[str]) -> list[dict[str, str]]:
    """Rows of a UTF-8 CSV file whose first line must be exactly `header`."""
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames != header:
            raise SourceError(f"{path.name}: unexpected header {reader.fieldnames}")
        rows = list(reader)
    for number, row in enumerate(rows, start=2):
        if None in row or any(value is None for value in row.values()):
            raise SourceError(f"{path.name}: line {number}: wrong number of columns")
    return rows


def build(source: Path) -> dict[str, list[list[str]]]:
    """The rows (header first) of each output file, keyed by file name."""
    units = read_csv(
        source / UNITS_SOURCE,
        ["province_code", "province_name", "district_code", "district_name", "commune_code", "commune_name"],
    )
    mapping = read_csv(
        source / MAPPING_SOURCE,
        [
            "old_province_code",
            "old_district_code",
            "old_commune_code",
            "old_commune_name",
            "new_province_code",
            "new_province_name",
            "new_commune_code",
            "new_commune_name",
        ],
    )

    provinces = {(r["province_code"], r["province_name"]) for r in units}
    if len(provinces) != 1:
        raise SourceError(f"{UNITS_SOURCE}: expected one province, found {sorted(provinces)}")
    [(province_code, province_name)] = provinces

    districts: dict[str, str] = {}
    communes: dict[str, dict[str, str]] = {}
    for r in units:
        if districts.setdefault(r["district_code"], r["district_name"]) != r["district_name"]:
            raise SourceError(f"{UNITS_SOURCE}: district {r['district_code']} has two names")
        if r["commune_code"] in communes:
            raise SourceError(f"{UNITS_SOURCE}: commune {r['commune_code']} listed twice")
        communes[r["commune_code"]] = r

    new_communes: dict[str, str] = {}
    old_to_new: dict[str, str] = {}
    for r in mapping:
        old = r["old_commune_code"]
        if old not in communes:
            raise SourceError(f"{MAPPING_SOURCE}: {old} is not a 2024 commune")
        if old in old_to_new:
            raise SourceError(f"{MAPPING_SOURCE}: {old} is mapped twice")
        listed = communes[old]
        if (r["old_province_code"], r["old_district_code"], r["old_commune_name"]) != (
            listed["province_code"],
            listed["district_code"],
            listed["commune_name"],
        ):
            raise SourceError(f"{MAPPING_SOURCE}: {old} disagrees with {UNITS_SOURCE}")
        if (r["new_province_code"], r["new_province_name"]) != (NEW_PROVINCE_CODE, NEW_PROVINCE_SOURCE_NAME):
            raise SourceError(f"{MAPPING_SOURCE}: {old} goes to an unexpected province")
        new = r["new_commune_code"]
        if new_communes.setdefault(new, r["new_commune_name"]) != r["new_commune_name"]:
            raise SourceError(f"{MAPPING_SOURCE}: new commune {new} has two names")
        old_to_new[old] = new
    if missing := sorted(communes.keys() - old_to_new.keys()):
        raise SourceError(f"{MAPPING_SOURCE}: no new commune for {missing}")

    # 2024: the tree as GSO lists it, each district followed by its communes.
    units_2024 = [UNITS_HEADER, [province_code, province_name, "province", "", ""]]
    for district_code in sorted(districts):
        units_2024.append([district_code, districts[district_code], "district", province_code, ""])
        for commune_code in sorted(c for c, r in communes.items() if r["district_code"] == district_code):
            units_2024.append([commune_code, communes[commune_code]["commune_name"], "commune", district_code, ""])

    units_2025 = [UNITS_HEADER, [NEW_PROVINCE_CODE, NEW_PROVINCE_NAME, "province", "", ""]]
    for code in sorted(new_communes):
        units_2025.append([code, new_communes[code], "commune", NEW_PROVINCE_CODE, ""])

    mapping_rows = [MAPPING_HEADER] + [[old, old_to_new[old]] for old in sorted(old_to_new)]

    return {
        "binhphuoc-2024.csv": units_2024,
        "dongnai-2025-binhphuoc.csv": units_2025,
        "binhphuoc-2025-mapping.csv": mapping_rows,
    }


def to_csv(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", nargs="?", type=Path, default=DEFAULT_SOURCE, help="folder of the GSO CSV files")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder to write (default: assets/units)")
    args = parser.parse_args(argv)
    try:
        files = build(args.source)
    except (OSError, SourceError) as e:
        print(f"build_units: {e}", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    for name, rows in files.items():
        (args.out / name).write_text(to_csv(rows), encoding="utf-8", newline="")
        print(f"{args.out / name}: {len(rows) - 1} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
