"""A central endpoint whose clock runs DAYS days behind (as if the phone's clock ran ahead): the
visits a phone dates today are in the server's future, so it refuses them with `data.surveyed_on`.

Usage: python -m tests.e2e.late_server DB_URL PORT DAYS (test-only; the product has no such switch).
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone

import uvicorn

from ntm_field.server.admin import open_store
from ntm_field.server.app import Settings, create_app


def main() -> None:
    url, port, days = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    settings = Settings(database_url=url, clock=lambda: datetime.now(timezone.utc) - timedelta(days=days))
    uvicorn.run(create_app(settings, store=open_store(url)), host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
