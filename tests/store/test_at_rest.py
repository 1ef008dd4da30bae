"""Secrets and personal data at rest on the device: the store's folder and files are the user's alone
(0700/0600) whatever the umask, and a wipe leaves no name, note or token in any file of the folder."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
import threading
from datetime import datetime
from pathlib import Path

import pytest

from ntm_field.domain.device import Enrolment
from ntm_field.domain.units import Level, Unit
from ntm_field.store import LocalStore, StoreCorruptError
from tests.conftest import ICT
from tests.private_data import PersonalData

ROOT = Path(__file__).resolve().parents[2]
HAMLET = Unit("25216-03", "Khu phố 3", Level.HAMLET, "25216", None)

# Opens a store under the umask given, writes (so that -wal and -shm exist) and prints the modes while open.
OPEN_UNDER_UMASK = """
import json, os, stat, sys, uuid
from datetime import datetime, timezone
from pathlib import Path
os.umask(int(sys.argv[1], 8))
from ntm_field.store import LocalStore
path = Path(sys.argv[2])
store = LocalStore.open(path, clock=lambda: datetime.now(timezone.utc), new_id=lambda: str(uuid.uuid4()))
store.save_draft(str(uuid.uuid4()), "25216-03", "Nguyễn Văn Đức", "1", {})
modes = {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in [path.parent, *path.parent.iterdir()]}
store.close()
print(json.dumps(modes))
"""


def _modes_under_umask(umask: str, path: Path) -> dict[str, str]:
    done = subprocess.run([sys.executable, "-c", OPEN_UNDER_UMASK, umask, str(path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=True)  # fmt: skip
    return json.loads(done.stdout)


def _mode(path: Path) -> str:
    return oct(stat.S_IMODE(path.stat().st_mode))


@pytest.mark.parametrize("umask", ["022", "000"])
def test_the_store_folder_and_files_are_the_users_alone_whatever_the_umask(tmp_path, umask):
    path = tmp_path / "phone" / "data" / "ntm-field.db"
    modes = _modes_under_umask(umask, path)
    assert modes == {"data": "0o700", "ntm-field.db": "0o600", "ntm-field.db-wal": "0o600", "ntm-field.db-shm": "0o600"}


def test_a_folder_and_files_left_wider_by_an_older_version_are_tightened(tmp_path):
    folder = tmp_path / "data"
    path = folder / "ntm-field.db"
    _modes_under_umask("022", path)
    # as an older version left them: files 0644 under a world-readable folder, the WAL not yet checkpointed
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute("CREATE TABLE pending(x)")
    os.chmod(folder, 0o777)
    for name in ("ntm-field.db", "ntm-field.db-wal", "ntm-field.db-shm"):
        os.chmod(folder / name, 0o644)

    store = LocalStore.open(path, clock=lambda: datetime.now(ICT), new_id=lambda: "x")
    conn.close()
    try:
        assert _mode(folder) == "0o700"
        assert {p.name: _mode(p) for p in folder.iterdir()} == {
            "ntm-field.db": "0o600", "ntm-field.db-wal": "0o600", "ntm-field.db-shm": "0o600"}  # fmt: skip
    finally:
        store.close()


def _enrol(store: LocalStore, personal: PersonalData) -> None:
    token = personal.secret("tok_" + os.urandom(24).hex())
    granted = Enrolment(server="https://ntm.example.vn", device_id="d-1", token=token, role="surveyor",
                        scope=("25216",), enrolled_at=datetime(2024, 4, 1, tzinfo=ICT),
                        device_name=personal.name())  # fmt: skip
    store.enrol(granted, [HAMLET])


def _checkpoint_now(path: Path) -> None:
    """Copy the WAL into the main file now (as the background checkpoint would): names reach both files."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
    finally:
        conn.close()


def _fill(store: LocalStore, personal: PersonalData, count: int, start: int = 0) -> None:
    for n in range(start, start + count):
        saved = store.save(personal.household(HAMLET.code, n)).household
        store.save_draft(saved.id, HAMLET.code, personal.name(n), saved.house_no, {"note": personal.note(n)})


def test_a_wipe_leaves_no_name_note_or_token_in_any_file_of_the_folder(store, tmp_path):
    personal = PersonalData()
    _enrol(store, personal)
    _fill(store, personal, 40)
    _checkpoint_now(store.path)  # the first 40 households in the main file...
    _fill(store, personal, 40, start=40)  # ...the next 40 in the WAL only
    # another thread has its own connection open on the store, as the UI and sync threads do
    reader = threading.Thread(target=lambda: store.search(personal.values[1].split()[0]))
    reader.start()
    reader.join()
    folder = tmp_path
    assert len(personal.found_in_folder(folder).get("store.db-wal", [])) > 100  # the test sees what is there
    assert len(personal.found_in_folder(folder).get("store.db", [])) > 100

    store.wipe()

    assert personal.found_in_folder(folder) == {}
    assert store.enrolment() is None and store.counts()["households"] == 0 and store.drafts() == []
    store.close()
    assert personal.found_in_folder(folder) == {}


def test_a_wipe_leaves_no_trigram_of_a_name_in_the_search_index(store):
    personal = PersonalData()
    _enrol(store, personal)
    _fill(store, personal, 20)
    store.wipe()
    conn = sqlite3.connect(store.path)
    try:
        # The index deletes by writing tombstones: a segment left behind still holds the names' trigrams.
        # An empty FTS5 index keeps only its averages (id 1) and structure (id 10) records.
        assert conn.execute("SELECT count(*) FROM households_fts_idx").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM households_fts_data WHERE id NOT IN (1, 10)").fetchone() == (0,)
    finally:
        conn.close()


def test_a_wipe_deletes_the_damaged_copies_kept_for_support(tmp_path, clock, new_id):
    personal = PersonalData()
    path = tmp_path / "store.db"
    old = LocalStore.open(path, clock=clock, new_id=new_id)
    _fill(old, personal, 5)
    old.close()
    with path.open("r+b") as damaged:
        damaged.write(b"not a database any more".ljust(100, b"!"))  # the header: the pages keep the names
    with pytest.raises(StoreCorruptError) as refused:
        LocalStore.open(path, clock=clock, new_id=new_id)
    assert _mode(refused.value.moved_to) == "0o600"
    assert personal.found_in_folder(tmp_path)  # the copy holds the names

    store = LocalStore.open(path, clock=clock, new_id=new_id)
    store.wipe()
    store.close()
    assert personal.found_in_folder(tmp_path) == {}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store.db"]


def test_a_wipe_waits_for_a_reader_of_an_old_snapshot_then_clears_the_wal(store, tmp_path):
    personal = PersonalData()
    _enrol(store, personal)
    _fill(store, personal, 10)
    reading, release = threading.Event(), threading.Event()

    def hold_a_snapshot() -> None:
        conn = sqlite3.connect(store.path)
        conn.execute("BEGIN")
        conn.execute("SELECT count(*) FROM households").fetchone()  # reads the WAL's pages until it ends
        reading.set()
        release.wait(10)
        conn.rollback()
        conn.close()

    reader = threading.Thread(target=hold_a_snapshot)
    reader.start()
    reading.wait(10)
    _fill(store, personal, 1, start=10)  # frames past the reader's snapshot: the WAL cannot start over under it
    threading.Timer(0.5, release.set).start()
    store.wipe()
    reader.join()
    assert personal.found_in_folder(tmp_path) == {}


def test_enrolling_with_another_scope_leaves_nothing_of_the_old_one_in_the_files(store, tmp_path):
    personal = PersonalData()
    _enrol(store, personal)
    for n in range(10):  # drafts only: enrolling elsewhere refuses to drop unsynced saves
        store.save_draft(str(n), HAMLET.code, personal.name(n), str(n), {"note": personal.note(n)})
    store.enrol(Enrolment(server="https://other.example.vn", device_id="d-2", token="tok_new", role="surveyor",
                          scope=("25217",), enrolled_at=datetime(2024, 4, 2, tzinfo=ICT)), [])  # fmt: skip
    assert personal.found_in_folder(tmp_path) == {}
