"""Fixtures of the view-model tests: the real sync server and enrolled devices, from the sync tests."""

from __future__ import annotations

from tests.sync.conftest import (  # noqa: F401  (fixtures used by the UI tests)
    database_url,
    make_device,
    postgres_admin_url,
    server,
)
