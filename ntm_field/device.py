"""Where a device keeps its data and how it tells time: shared by the app and the command line."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path

from ntm_field.store import LocalStore

STORE_FILE = "ntm-field.db"


def device_clock() -> datetime:
    """The device's time with its UTC offset (documents carry RFC 3339 times with offset)."""
    return datetime.now().astimezone()


def new_id() -> str:
    return str(uuid.uuid4())


def open_device_store(data_dir: Path | str) -> LocalStore:
    """The device's local store in `data_dir` (created when new)."""
    return LocalStore.open(Path(data_dir) / STORE_FILE, clock=device_clock, new_id=new_id)
