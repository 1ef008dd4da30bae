"""A central endpoint whose push transactions stay open 0–60 ms (seeded) just before they commit, so that
concurrent writers overlap as they do under a province's load. Its per-token rate limit is lifted (the
readers of test_revision_order pull without pause, and a 429 there says nothing about revisions).

Usage: python -m tests.server.slow_commit_server DB_URL SEED PORT
Test-only: the product's command line has no way to set this hook.
"""

from __future__ import annotations

import random
import sys
import threading
import time

import uvicorn

from ntm_field.server.admin import open_store
from ntm_field.server.app import Hooks, Settings, create_app


def main() -> None:
    url, seed, port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rng, lock = random.Random(seed), threading.Lock()

    def before_commit() -> None:
        with lock:
            pause = rng.uniform(0, 0.06)
        time.sleep(pause)

    # readers pull in a tight loop here: the per-token rate limit is not what these tests are about
    settings = Settings(database_url=url, requests_per_minute=1_000_000)
    app = create_app(settings, store=open_store(url), hooks=Hooks(before_commit=before_commit))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
