"""A damaged store file is refused at open, moved aside with its bytes intact, never overwritten."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timezone

import pytest

from ntm_field.bench.households import generate
from ntm_field.store import LocalStore, StoreCorruptError


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


@pytest.fixture(scope="module")
def healthy_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("healthy") / "store.db"
    store = LocalStore.open(path, clock=_utc_now, new_id=lambda: str(uuid.uuid4()))
    store.save_many(generate(2_000, seed=7))
    store.close()
    assert not path.with_name("store.db-wal").exists() or path.with_name("store.db-wal").stat().st_size == 0
    return path.read_bytes()


@pytest.mark.parametrize("seed", range(5))
def test_four_kib_overwritten_in_the_middle_is_detected_and_moved_aside(tmp_path, healthy_file, seed):
    rng = random.Random(seed)
    middle = len(healthy_file) // 2 + rng.randrange(-50_000, 50_000)
    damaged = healthy_file[:middle] + rng.randbytes(4096) + healthy_file[middle + 4096 :]
    path = tmp_path / "store.db"
    path.write_bytes(damaged)

    with pytest.raises(StoreCorruptError) as refused:
        LocalStore.open(path, clock=_utc_now, new_id=lambda: str(uuid.uuid4()))

    error = refused.value
    assert error.moved_to.exists() and error.moved_to.read_bytes() == damaged  # original bytes kept
    assert not path.exists()  # nothing written over it
    assert error.moved_to.name in error.message("vi") and "bị hỏng" in error.message("vi")
    assert error.moved_to.name in error.message("en") and "damaged" in error.message("en")
    # the device can start again on a new, empty store
    fresh = LocalStore.open(path, clock=_utc_now, new_id=lambda: str(uuid.uuid4()))
    assert fresh.counts()["households"] == 0
    fresh.close()
    assert error.moved_to.read_bytes() == damaged


def test_a_file_that_is_not_a_database_is_moved_aside(tmp_path):
    path = tmp_path / "store.db"
    path.write_bytes(b"this is not SQLite" * 500)
    with pytest.raises(StoreCorruptError) as refused:
        LocalStore.open(path, clock=_utc_now, new_id=lambda: str(uuid.uuid4()))
    assert refused.value.moved_to.read_bytes() == b"this is not SQLite" * 500


def test_a_healthy_file_opens(tmp_path, healthy_file):
    path = tmp_path / "store.db"
    path.write_bytes(healthy_file)
    store = LocalStore.open(path, clock=_utc_now, new_id=lambda: str(uuid.uuid4()))
    assert store.counts()["households"] == 2_000
    store.close()
