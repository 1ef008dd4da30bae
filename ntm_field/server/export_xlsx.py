"""The XLSX export, written by a child process: `python -m ntm_field.server.export_xlsx OUT` with the job
(the database URL, the hamlets, the coverage rows) as JSON on stdin.

Why a process and not a thread: writing a province's million rows is a minute of pure-Python CPU, and a
thread of the server would hold the GIL for most of it, stalling every other request of the event loop.
The child reads the households itself from a server-side cursor, writes the sheets with openpyxl's
write-only mode (flat memory) at a lower priority, and exits: its memory goes back to the system.
The URL travels on stdin, never on the command line (`ps` would show a PostgreSQL password).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

from ntm_field.server.reports import Export, write_workbook

log = logging.getLogger("ntm_field.server")

TIMEOUT = 60 * 60  # seconds: a national export is minutes; an hour means the child is stuck
NICENESS = 5  # below the server's own priority: the event loop keeps a core when both want one


class ExportFailed(RuntimeError):
    """The child process building an XLSX export did not finish (an answer 500, the file never sent)."""


def build(database_url: str, export: Export, folder: Path) -> Path:
    """Write the export's workbook into `folder` (private: the caller made it 0700 and removes it) and
    return its path. openpyxl's own temporary sheet files go into `folder` too (TMPDIR), so removing
    the folder removes every byte, even after a crash of the child."""
    out = folder / "export.xlsx"
    job = {"url": database_url, "hamlets": list(export.hamlets), "coverage": list(export.coverage)}
    try:
        finished = subprocess.run(
            [sys.executable, "-m", "ntm_field.server.export_xlsx", str(out)],
            input=json.dumps(job).encode(), env={**os.environ, "TMPDIR": str(folder)},
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=TIMEOUT, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise ExportFailed(f"the XLSX export did not finish within {TIMEOUT} s") from None
    if finished.returncode != 0 or not out.exists():
        # the child's last line only (an exception's type and message), never its data
        last = finished.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no message"]
        log.error("export: the XLSX child process exited with %s (%s)", finished.returncode, last[0][:200])
        raise ExportFailed("the XLSX export could not be built")
    return out


def read_back(content: bytes) -> tuple[int, dict[str, dict]]:
    """An XLSX export opened again with openpyxl (read-only: a row at a time): its number of member rows,
    and its coverage rows by unit code, keyed by the Vietnamese headers (the benchmark checks them)."""
    import io

    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(content), read_only=True)
    try:
        members = sum(1 for _ in book["Thành viên"].iter_rows(min_row=2, values_only=True))
        rows = book["Độ phủ"].iter_rows(values_only=True)
        header = next(rows)
        return members, {row[0]: dict(zip(header, row)) for row in rows}
    finally:
        book.close()


def main(argv: list[str] | None = None) -> int:
    from ntm_field.server.db import open_backend

    (out,) = argv if argv is not None else sys.argv[1:]
    os.nice(NICENESS)
    job = json.load(sys.stdin)
    backend = open_backend(job["url"])
    export = Export("", "", "xlsx", "", tuple(job["hamlets"]), tuple(job["coverage"]))
    os.close(os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))  # never wider than its owner's
    try:
        write_workbook(export.sheets(backend), out)
    finally:
        backend.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
