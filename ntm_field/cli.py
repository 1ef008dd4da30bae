"""The `ntm-field` command line: argument parsing and error translation only.

Every command exits 0 on success, and non-zero with one line on stderr
otherwise; no traceback reaches the person at the terminal.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import NoReturn

from ntm_field import __version__
from ntm_field.errors import UserError


class CommandError(UserError):
    """A command failed for a reason the user can act on (message is one line)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ntm-field",
        description="Field survey of the '4 phủ' campaign: central endpoint, units, benchmarks.",
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

    server = commands.add_parser("server", help="run the central endpoint (needs the 'server' extra)")
    _db_option(server)
    server.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    server.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    server.add_argument(
        "--workers", type=int, metavar="N",
        help="server processes (default: NTM_WORKERS, else 1); meant for PostgreSQL: on SQLite the processes "
             "take turns to write, so more of them serve reads, not writes, faster (docs/deploy.md)",
    )  # fmt: skip
    server.set_defaults(handler=_server)

    admin = commands.add_parser("admin", help="administer the central endpoint's database")
    admin_commands = admin.add_subparsers(dest="admin_command", metavar="ACTION", parser_class=_Parser)
    admin_units = admin_commands.add_parser("units", help="load administrative units or the old→new mapping")
    admin_units_commands = admin_units.add_subparsers(dest="admin_units_command", metavar="ACTION", parser_class=_Parser)
    load = admin_units_commands.add_parser("load", help="load a units CSV (all rows or none)")
    load.add_argument("file", type=Path, metavar="FILE.csv")
    load.add_argument("--structure", choices=["2024", "2025"], help="default: 2024 when the file has districts")
    _db_option(load)
    load.set_defaults(handler=_admin_units_load)
    mapping = admin_units_commands.add_parser("map", help="load the old→new commune mapping (header old_code,new_code)")
    mapping.add_argument("file", type=Path, metavar="FILE.csv")
    _db_option(mapping)
    mapping.set_defaults(handler=_admin_units_map)
    code = admin_commands.add_parser("enrol-code", help="create an enrolment code for a device")
    code.add_argument("--role", required=True, help="surveyor, leader, officer or admin")
    code.add_argument("--scope", required=True, help="unit codes, comma-separated")
    code.add_argument("--uses", type=int, default=1, help="how many devices may use it (default 1)")
    code.add_argument("--expires", default="7d", help="validity: 7d, 12h, 30m (default 7d)")
    code.add_argument("--url", help="the server's public address for the enrolment link")
    code.add_argument("--qr", type=Path, metavar="FILE.png", help="also write a QR code of the enrolment link")
    code.add_argument("--json", action="store_true", help="print one JSON object and nothing else")
    _db_option(code)
    code.set_defaults(handler=_admin_enrol_code)
    revoke = admin_commands.add_parser("revoke", help="revoke a device: its token stops working, its data is wiped")
    revoke.add_argument("device_id", metavar="DEVICE_ID")
    _db_option(revoke)
    revoke.set_defaults(handler=_admin_revoke)
    recompute = admin_commands.add_parser("recompute", help="rebuild the coverage counters from the households")
    _db_option(recompute)
    recompute.set_defaults(handler=_admin_recompute)

    app = commands.add_parser("app", help="the field app (desktop window, or a web server with --web)")
    app.add_argument("--web", action="store_true", help="serve the app to a browser instead of opening a window")
    app.add_argument("--port", type=int, default=8550, help="port of the web server (default 8550)")
    app.add_argument("--data", type=Path, metavar="DIR", help="where the device's store lives (default: the app data directory)")
    app.set_defaults(handler=_app)

    enrol = commands.add_parser("enrol", help="enrol a device store with a code (or an enrolment link)")
    _data_option(enrol)
    enrol.add_argument("--server", help="the server's address, e.g. https://ntm.example.vn (not needed with a link)")
    enrol.add_argument("--code", required=True, help="the enrolment code, or the whole enrolment link")
    enrol.add_argument("--name", default="", help="a name for this device, shown to the team leader")
    enrol.set_defaults(handler=_enrol)

    sync = commands.add_parser("sync", help="run one sync cycle of a device store")
    _data_option(sync)
    sync.add_argument("--json", action="store_true", help="print one JSON object of counts and nothing else")
    sync.set_defaults(handler=_sync)

    labels = commands.add_parser("labels", help="print a PDF sheet of QR labels, one per household of a hamlet")
    labels.add_argument("--hamlet", required=True, metavar="CODE", help="the hamlet's code, e.g. 25216-03")
    labels.add_argument("--out", required=True, type=Path, metavar="FILE.pdf", help="where to write the PDF")
    source = labels.add_mutually_exclusive_group(required=True)
    source.add_argument("--db", metavar="URL", help="the server's database: sqlite:///path.db or postgresql://…")
    source.add_argument("--data", type=Path, metavar="DIR", help="a device's data directory")
    labels.add_argument("--url", metavar="BASE", help="the links' address (default: NTM_PUBLIC_URL or the "
                        "server's address with --db, the device's server with --data)")  # fmt: skip
    labels.set_defaults(handler=_labels)

    export = commands.add_parser("export", help="write the export the API serves (CSV or XLSX) to a file")
    export.add_argument("--unit", required=True, metavar="CODE", help="the unit: province, district, commune or hamlet")
    export.add_argument("--format", required=True, choices=["csv", "xlsx"], help="xlsx holds both sheets")
    export.add_argument("--kind", choices=["members", "coverage"], default="members",
                        help="one row per member, or per unit (CSV only; default members)")  # fmt: skip
    export.add_argument("--out", required=True, type=Path, metavar="FILE", help="where to write the file")
    _db_option(export)
    export.set_defaults(handler=_export)

    bench = commands.add_parser("bench", help="measure the product's speed next to baselines")
    bench.add_argument("--quick", action="store_true", help="small sizes (under a minute): a smoke run")
    bench.add_argument("--json", type=Path, metavar="FILE", help="also write the figures as JSON")
    bench.set_defaults(handler=_bench)

    demo = commands.add_parser(
        "demo", help="run everything on an embedded SQLite with a generated province, and print its URLs"
    )
    demo.add_argument("--port", type=int, default=8080,
                      help="the endpoint's port; the two field apps take the next two (default 8080)")  # fmt: skip
    demo.add_argument("--data", type=Path, default=Path("demo-data"), metavar="DIR",
                      help="wiped and seeded afresh on each run (default ./demo-data)")  # fmt: skip
    demo.add_argument("--seed", type=int, default=2024, help="the generator's seed (default 2024)")
    demo.set_defaults(handler=_demo)
    return parser


def _db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db", metavar="URL", help="sqlite:///path.db or postgresql://… (default: NTM_DATABASE_URL, else data/server.db)"
    )


def _data_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, type=Path, metavar="DIR", help="the device's data directory")


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
    except UserError as error:  # this command's own, and the server's admin commands' (AdminError)
        print(f"ntm-field: {_one_line(error)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("ntm-field: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001 — a bug: its type only, never a traceback (it can quote data)
        print(f"ntm-field: unexpected {type(error).__name__}; please report it", file=sys.stderr)
        return 70


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


def _one_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


# The top-level modules of the server extra (pyproject.toml): only their absence means "install the extra".
SERVER_EXTRA = {"fastapi", "uvicorn", "psycopg", "psycopg_binary", "openpyxl", "flet_web", "starlette", "pydantic"}


def _server_admin():
    try:
        from ntm_field.server import admin
    except ImportError as missing:
        if (missing.name or "").split(".")[0] not in SERVER_EXTRA:
            raise  # a fault of this package, not a missing extra: its traceback says where
        raise CommandError("the server needs its extra: pip install 'ntm-field[server]'") from None
    return admin


def _server(args: argparse.Namespace) -> int:
    _server_admin().serve(db=args.db, host=args.host, port=args.port, workers=args.workers)
    return 0


def _admin_units_load(args: argparse.Namespace) -> int:
    counts = _server_admin().load_units(args.file, db=args.db, structure=args.structure)
    print(f"{args.file}: loaded " + ", ".join(f"{n} {level}" for level, n in counts.items()))
    return 0


def _admin_units_map(args: argparse.Namespace) -> int:
    rows = _server_admin().load_mapping(args.file, db=args.db)
    print(f"{args.file}: loaded {rows} old→new commune rows")
    return 0


def _admin_enrol_code(args: argparse.Namespace) -> int:
    scope = [code.strip() for code in args.scope.split(",") if code.strip()]
    created, link = _server_admin().enrol_code(
        role=args.role, scope=scope, uses=args.uses, expires=args.expires, url=args.url, db=args.db
    )
    payload = {"code": created.code, "link": link, "role": created.role, "scope": list(created.scope),
               "expires": created.expires.isoformat()}  # fmt: skip
    if args.json:
        print(json.dumps(payload, ensure_ascii=False))
    else:
        print(f"code: {created.code}\nlink: {link}\nrole: {created.role}\nscope: {', '.join(created.scope)}\n"
              f"expires: {payload['expires']}")  # fmt: skip
    if args.qr is not None:
        from ntm_field.qr import qr_png

        # after printing: should the file fail, the code shown is still valid
        _write_bytes(args.qr, qr_png(link))
        if not args.json:
            print(f"qr: {args.qr}")
    return 0


def _labels(args: argparse.Namespace) -> int:
    from ntm_field.qr import label_sheet_pdf

    if args.db is not None:
        labels = _server_admin().hamlet_labels(args.hamlet, db=args.db, url=args.url)
    else:
        from ntm_field.device import STORE_FILE
        from ntm_field.qr.labels import NothingToLabel, device_labels

        if not (args.data / STORE_FILE).is_file():  # a read: never create an empty store
            raise CommandError(f"{args.data}: no device store here ({STORE_FILE})")
        store = _device_store(args.data)
        try:
            labels = device_labels(store, args.hamlet, base_url=args.url)
        except NothingToLabel as error:
            raise CommandError(str(error)) from None
        finally:
            store.close()
    _write_bytes(args.out, label_sheet_pdf(labels))
    print(f"wrote {len(labels)} labels to {args.out}")
    return 0


def _export(args: argparse.Namespace) -> int:
    exported = _server_admin().export(unit=args.unit, format=args.format, kind=args.kind, db=args.db)
    _write_bytes(args.out, exported.content)
    print(f"wrote {args.out} ({len(exported.content)} bytes)")
    return 0


def _write_bytes(path: Path, content: bytes) -> None:
    try:
        path.write_bytes(content)
    except OSError as error:
        raise CommandError(f"{path}: {error.strerror}") from None


def _admin_revoke(args: argparse.Namespace) -> int:
    _server_admin().revoke(args.device_id, db=args.db)
    print(f"revoked {args.device_id}")
    return 0


def _admin_recompute(args: argparse.Namespace) -> int:
    hamlets = _server_admin().recompute(db=args.db)
    print(f"recomputed the counters of {hamlets} hamlets")
    return 0


def _device_store(data: Path):
    from ntm_field.device import open_device_store
    from ntm_field.store import StoreCorruptError

    try:
        return open_device_store(data)
    except StoreCorruptError as error:
        raise CommandError(error.message("en")) from None
    except OSError as error:
        raise CommandError(f"{data}: {error.strerror}") from None


def _app(args: argparse.Namespace) -> int:
    from ntm_field.ui.app import run

    run(data_dir=args.data, web=args.web, port=args.port)
    return 0


def _enrol(args: argparse.Namespace) -> int:
    from ntm_field.device import device_clock
    from ntm_field.domain.device import EnrolLinkError
    from ntm_field.store import EnrolmentError
    from ntm_field.sync.enrol import enrol_device
    from ntm_field.sync.errors import SyncError

    store = _device_store(args.data)
    try:
        granted = enrol_device(store, args.code, server=args.server, device_name=args.name, clock=device_clock)
    except EnrolLinkError as error:
        raise CommandError(f"--code: {error}") from None
    except EnrolmentError as error:
        raise CommandError(f"cannot enrol: {error}; sync them first") from None
    except SyncError as error:
        raise CommandError(_sync_problem(error)) from None
    finally:
        store.close()
    print(f"enrolled device {granted.device_id} as {granted.role} for {', '.join(granted.scope)} on {granted.server}")
    return 0


def _sync(args: argparse.Namespace) -> int:
    from ntm_field.sync.engine import SyncEngine

    store = _device_store(args.data)
    try:
        report = SyncEngine(store).run()
    finally:
        store.close()
    if args.json:
        print(json.dumps(report.counts()))
    else:
        print(", ".join(f"{name} {count}" for name, count in report.counts().items()))
    if report.problem is not None:
        print(f"ntm-field: sync stopped: {_sync_problem(report.problem)}", file=sys.stderr)
        return 1
    return 0


def _sync_problem(error: Exception) -> str:
    """One line for a sync failure (the classes are the sync layer's; no import of requests here)."""
    from ntm_field.sync.errors import AuthFailed, BadReply, Cancelled, Offline, Refused, ServerBusy

    if isinstance(error, AuthFailed):
        return {
            "not_enrolled": "this device is not enrolled (run 'ntm-field enrol')",
            "device_revoked": "this device was revoked; its data was wiped",
            "token_expired": "the device's token expired: enrol again",
        }.get(error.error_code, "the server does not accept this device's token: enrol again")
    if isinstance(error, Refused):
        if error.error_code == "invalid_code":
            return "the enrolment code is wrong, used up or expired"
        return f"the server refused the request ({error.status} {error.error_code})"
    if isinstance(error, ServerBusy) and str(error) == "http_429" and error.retry_after:
        return f"too many requests or wrong codes; try again in {error.retry_after:.0f} s"
    if isinstance(error, ServerBusy) and str(error) == "http_503" and error.retry_after:
        return f"the server is overloaded and applied nothing; try again in {error.retry_after:.0f} s"
    if isinstance(error, ServerBusy):
        return f"the server is busy or failing ({error}); try again later"
    if isinstance(error, Offline):
        return f"the server cannot be reached ({error}); try again when online"
    if isinstance(error, BadReply):
        return f"the server's answer does not follow the contract ({error})"
    if isinstance(error, Cancelled):
        return "cancelled"
    return str(error)


def _bench(args: argparse.Namespace) -> int:
    from ntm_field.bench import run

    return run(quick=args.quick, json_path=args.json)


def _demo(args: argparse.Namespace) -> int:
    try:
        from ntm_field.demo.run import DemoError, run
    except ImportError as missing:
        if (missing.name or "").split(".")[0] not in SERVER_EXTRA:
            raise
        raise CommandError("the demo needs the server extra: pip install 'ntm-field[server]'") from None
    try:
        return run(port=args.port, data_dir=args.data, seed=args.seed)
    except DemoError as error:
        raise CommandError(str(error)) from None
