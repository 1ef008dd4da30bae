"""The `ntm-field` command line: argument parsing and error translation only.

Every command exits 0 on success, and non-zero with one line on stderr
otherwise; no traceback reaches the person at the terminal.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NoReturn

from ntm_field import __version__


class CommandError(Exception):
    """A command failed for a reason the user can act on (message is one line)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ntm-field",
        description="Field survey of the '4 phủ' campaign: local store, units and benchmarks.",
    )
    parser.add_argument("--version", action="version", version=f"ntm-field {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    units = commands.add_parser("units", help="check administrative-unit files")
    units_commands = units.add_subparsers(dest="units_command", metavar="ACTION", parser_class=_Parser)
    check = units_commands.add_parser(
        "check",
        help="validate a units CSV (code,name,level,parent_code,expected_households) and count its units",
    )
    check.add_argument("file", type=Path, metavar="FILE.csv")
    check.set_defaults(handler=_units_check)

    bench = commands.add_parser("bench", help="measure the product's speed next to baselines")
    bench.add_argument("--quick", action="store_true", help="small sizes (under a minute): a smoke run")
    bench.add_argument("--json", type=Path, metavar="FILE", help="also write the figures as JSON")
    bench.set_defaults(handler=_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        # a command group without its action: show what it offers
        parser.parse_args([*(argv if argv is not None else sys.argv[1:]), "--help"])
        return 2
    try:
        return handler(args)
    except CommandError as error:
        print(f"ntm-field: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("ntm-field: interrupted", file=sys.stderr)
        return 130


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CommandError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise CommandError(f"{path}: not UTF-8 text") from None
    except OSError as error:
        raise CommandError(f"{path}: {error.strerror}") from None


def _units_check(args: argparse.Namespace) -> int:
    from ntm_field.domain.units import Level, UnitsFileError, parse_units_csv

    try:
        units = parse_units_csv(_read_text(args.file))
    except UnitsFileError as error:
        raise CommandError(f"{args.file}: {error}") from None
    counts = {level: sum(1 for u in units if u.level is level) for level in Level}
    print(f"{args.file}: {len(units)} units — " + ", ".join(f"{n} {level}" for level, n in counts.items()))
    return 0


def _bench(args: argparse.Namespace) -> int:
    from ntm_field.bench import run

    return run(quick=args.quick, json_path=args.json)
