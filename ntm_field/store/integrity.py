"""The integrity check a store file passes before it is opened."""

from __future__ import annotations

import glob
import sqlite3
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

SIDE_FILES = ("-wal", "-shm")
CORRUPT_SUFFIX = ".corrupt-"


class StoreCorruptError(Exception):
    """The store file was damaged; it was moved aside (bytes kept) and not opened."""

    def __init__(self, path: Path, moved_to: Path, detail: str):
        self.path = path
        self.moved_to = moved_to
        self.detail = detail
        super().__init__(self.message("en"))

    def message(self, lang: str = "vi") -> str:
        """What happened and what is safe, for the person holding the phone."""
        if lang == "en":
            return (
                f"The local data file was damaged and could not be opened. It was moved aside, "
                f"unchanged, to {self.moved_to.name}; a new empty store will be used. "
                f"Unsynced changes in the damaged file can be recovered by support."
            )
        return (
            f"Tệp dữ liệu trên máy bị hỏng nên không mở được. Tệp đã được giữ nguyên và chuyển sang "
            f"{self.moved_to.name}; ứng dụng sẽ dùng một kho dữ liệu mới. "
            f"Bộ phận hỗ trợ có thể khôi phục các thay đổi chưa đồng bộ trong tệp hỏng."
        )


def ensure_intact(path: Path, *, clock: Callable[[], datetime]) -> None:
    """Raise `StoreCorruptError` after moving `path` aside if SQLite finds it damaged.

    A missing file is fine (a new store will be created). `quick_check` reads
    every page and checks the b-tree structure: it catches a damaged page
    without the cost of cross-checking every index entry on a slow phone.
    """
    if not path.exists():
        return
    detail = _check(path)
    if detail is None:
        return
    stamp = clock().strftime("%Y%m%dT%H%M%S")
    moved_to = path.with_name(f"{path.name}{CORRUPT_SUFFIX}{stamp}")
    path.rename(moved_to)
    for suffix in SIDE_FILES:
        side = path.with_name(path.name + suffix)
        if side.exists():
            side.rename(moved_to.with_name(moved_to.name + suffix))
    raise StoreCorruptError(path, moved_to, detail)


def moved_aside(path: Path) -> list[Path]:
    """The damaged copies of the store at `path` (with their -wal/-shm files) that were moved aside."""
    return sorted(path.parent.glob(f"{glob.escape(path.name)}{CORRUPT_SUFFIX}*"))


def _check(path: Path) -> str | None:
    """None when intact, else SQLite's first complaint."""
    try:
        conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True, timeout=30)
    except sqlite3.Error as error:
        return str(error)
    try:
        rows = conn.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as error:
        return str(error)
    finally:
        conn.close()
    return None if rows == [("ok",)] else str(rows[0][0])
