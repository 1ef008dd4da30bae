"""A bug behind the server's edge is answered 500 `internal` and logged as one line naming its type: never a
traceback, whose message could quote what the client sent (a name, a note, a token)."""

from __future__ import annotations

import os

import requests

from tests.private_data import PersonalData
from tests.server.conftest import ENGINES, ROOT, prepare_database, start_server, stop_server
from tests.server.test_logs_private import TIMEOUT, ServerOutput, assert_nothing_personal, auth

# Loaded at the server process's start (PYTHONPATH): a bug anywhere behind the edge, standing for any unexpected
# exception, whose message quotes what the client sent (as a database error or a KeyError would).
A_BUG = """
from ntm_field.server.store import ServerStore

authenticate = ServerStore.authenticate

def buggy(self, token):
    if token.startswith("bug-"):
        raise RuntimeError("a bug while reading " + token)
    return authenticate(self, token)

ServerStore.authenticate = buggy
"""


@ENGINES
def test_an_unexpected_error_is_answered_500_and_logged_as_one_line_without_its_message(database_url, tmp_path):
    (tmp_path / "sitecustomize.py").write_text(A_BUG, encoding="utf-8")
    # this work tree first: sitecustomize imports the package before `python -m` puts the working directory on the path
    server = start_server(prepare_database(database_url), env={"PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)])})
    try:
        output = ServerOutput(server)
        personal = PersonalData()
        reply = requests.get(server.api("/api/v1/coverage"), timeout=TIMEOUT,
                             headers=auth("bug-" + personal.text("Ánh").replace(" ", "-")))  # fmt: skip
        assert reply.status_code == 500 and reply.json()["error"]["code"] == "internal"  # the bug did run
        logged = output.after_stop()
    finally:
        stop_server(server.process)
    assert_nothing_personal(logged, personal)
    assert b"RuntimeError" in logged  # its type is logged, so that it can be found
