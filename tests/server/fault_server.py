"""A central endpoint that kills itself (SIGKILL) right after its N-th committed push batch, before replying.

Usage: python -m tests.server.fault_server DB_URL PORT N
Test-only: the product's command line has no way to set this hook.
"""

from __future__ import annotations

import itertools
import os
import signal
import sys

import uvicorn

from ntm_field.server.admin import open_store
from ntm_field.server.app import Hooks, Settings, create_app


def main() -> None:
    url, port, kill_at = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    commits = itertools.count(1)

    def after_commit() -> None:
        if next(commits) == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    app = create_app(Settings(database_url=url), store=open_store(url), hooks=Hooks(after_commit=after_commit))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
