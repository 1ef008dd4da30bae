"""Each outside library is imported by one place only; the domain is standard library only."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "ntm_field"

# library (top-level import name) → the module path prefixes allowed to import it
OWNERS = {
    "sqlite_utils": ("store",),
    "sqlite3": ("store", "bench", "server"),  # server: the embedded backend; bench: raw-SQL baselines
    "requests": ("sync",),
    "flet": ("ui",),
    "flet_charts": ("ui",),
    "qrcode": ("qr",),
    "fastapi": ("server",),
    "uvicorn": ("server",),
    "psycopg": ("server",),
    "openpyxl": ("server",),
    "starlette": ("server",),
    "pydantic": ("server",),
    "playwright": ("bench",),  # the browser benchmark of the field app
    "httpx": ("bench",),  # the province load's asyncio phones
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path.relative_to(PACKAGE).with_suffix("").as_posix(), path


def test_each_outside_library_is_imported_in_its_own_place_only():
    offenders = []
    for module, path in _modules():
        for name in _imports(path):
            owners = OWNERS.get(name)
            if owners is not None and not module.startswith(owners):
                offenders.append(f"{module} imports {name}")
    assert offenders == []


def test_the_domain_uses_the_standard_library_only():
    stdlib = set(sys.stdlib_module_names)
    offenders = [
        f"{module} imports {name}"
        for module, path in _modules()
        if module.startswith("domain/")
        for name in _imports(path)
        if name not in stdlib and name != "ntm_field"
    ]
    assert offenders == []


def test_the_domain_imports_no_other_layer():
    offenders = []
    for module, path in _modules():
        if not module.startswith("domain/"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ntm_field."):
                if not node.module.startswith("ntm_field.domain"):
                    offenders.append(f"{module} imports {node.module}")
    assert offenders == []


def test_the_check_catches_a_misplaced_import(tmp_path):
    stray = tmp_path / "stray.py"
    stray.write_text("import requests\nfrom sqlite_utils import Database\n")
    assert _imports(stray) == {"requests", "sqlite_utils"}
