"""Files only their owner may read: the device's store (it holds the bearer token and people's names)
and the server's SQLite database. Standard library only: the store and the server both use it.

Modes are set with chmod, not left to the umask: `mkdir(mode=…)` and `open(…, mode)` are cut by the umask
but never widened past it, and a folder or file that already exists keeps whatever mode it had.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

FOLDER_MODE = 0o700
FILE_MODE = 0o600

# SQLite's companions of a database file: they hold its pages as well.
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def private_folder(path: Path) -> None:
    """Create `path` (and missing parents) and make it its owner's alone (0700), tightening one that exists."""
    path.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    if stat.S_IMODE(path.stat().st_mode) != FOLDER_MODE:
        os.chmod(path, FOLDER_MODE)


def private_database(path: Path) -> None:
    """Create the SQLite file `path` if missing (an empty file is an empty database) and make it and its
    companions its owner's alone (0600).

    SQLite creates the -wal and -shm files with the main file's mode (and forces that mode past the
    umask), so a main file of 0600 keeps them 0600 too; one left by an older version is tightened here.
    """
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE))
    for file in (path, *(path.with_name(path.name + suffix) for suffix in SQLITE_SIDE_FILES)):
        try:
            if stat.S_IMODE(file.stat().st_mode) != FILE_MODE:
                os.chmod(file, FILE_MODE)
        except FileNotFoundError:
            pass
