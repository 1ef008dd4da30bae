"""The server's SQLite database holds people's names: its file and its -wal/-shm are 0600 whatever the umask,
and a file left wider by an older version is tightened when the server opens it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.server.conftest import start_server, stop_server


def _modes(folder: Path) -> dict[str, str]:
    return {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in folder.iterdir()}


def _serve_under_umask(umask: int, db: str):
    """A real server process started under `umask` (a child inherits it); it has migrated and read the database."""
    previous = os.umask(umask)
    try:
        return start_server(db)
    finally:
        os.umask(previous)


@pytest.mark.parametrize("umask", [0o022, 0o000], ids=["umask022", "umask000"])
def test_the_database_and_its_wal_are_the_owners_alone_whatever_the_umask(tmp_path, umask):
    server = _serve_under_umask(umask, f"sqlite:///{tmp_path / 'data' / 'server.db'}")
    try:
        modes = _modes(tmp_path / "data")
        assert {"server.db", "server.db-wal", "server.db-shm"} <= set(modes)
        assert set(modes.values()) == {"0o600"}, modes  # and any other file the server keeps beside it
    finally:
        stop_server(server.process)


def test_a_database_left_readable_by_others_is_tightened(tmp_path):
    db = f"sqlite:///{tmp_path / 'server.db'}"
    stop_server(_serve_under_umask(0o022, db).process)
    os.chmod(tmp_path / "server.db", 0o644)
    server = _serve_under_umask(0o022, db)
    try:
        assert set(_modes(tmp_path).values()) == {"0o600"}, _modes(tmp_path)
    finally:
        stop_server(server.process)
