"""Revisions without a global lock (issue 14, item 1), as the world would test them: writers on two server
processes (whose transactions stay open a while before committing) push edits, moves between hamlets and
deletions at once, while readers pull with their cursors.

Invariants, on both engines (a failing seed is printed):
- a reader never receives, in a later page, a revision of a hamlet below one it already received there;
- once the writers stop, every reader's copy equals the server's households of its scope (nothing skipped);
- every change is stored exactly once, and the counters equal a recount.
"""

from __future__ import annotations

import json
import random
import threading
import uuid
from dataclasses import replace
from datetime import datetime, timezone

import pytest
import requests

from ntm_field.bench.households import generate
from ntm_field.server.db import open_backend
from ntm_field.server.store import ServerStore
from tests.server.conftest import ENGINES, at_once, prepare_database, start_server, stop_server

HAMLETS = ["25216-01", "25216-02", "25216-03"]
WRITERS, ROUNDS, BATCH = 4, 12, 6
SEEDS = [7, 23]


def _store(url: str) -> ServerStore:
    return ServerStore(open_backend(url), clock=lambda: datetime.now(timezone.utc), new_id=lambda: str(uuid.uuid4()))


class Reader:
    """A device pulling its scope page by page, as the app does, checking the order of what it receives."""

    def __init__(self, server, token: str, name: str):
        self.server, self.token, self.name = server, token, name
        self.cursor: str | None = None
        self.copy: dict[str, tuple[int, bool, dict | None]] = {}
        self.highest: dict[str, int] = {}  # hamlet → highest revision received there
        self.violations: list[str] = []

    def pull_all(self) -> None:
        while True:
            params = {"limit": 7} | ({"cursor": self.cursor} if self.cursor else {})
            reply = requests.get(self.server.api("/api/v1/sync/pull"), params=params,
                                 headers={"Authorization": f"Bearer {self.token}"}, timeout=60)  # fmt: skip
            assert reply.status_code == 200, reply.text
            page = reply.json()
            received: dict[str, int] = {}
            for change in page["changes"]:
                known = self.copy.get(change["id"])
                if known is not None and known[0] >= change["rev"]:
                    continue  # seen already (at-least-once)
                hamlet = change["data"]["hamlet_code"] if change["data"] else None
                if hamlet is not None and change["rev"] < self.highest.get(hamlet, 0):
                    self.violations.append(f"{self.name}: rev {change['rev']} of {hamlet} after {self.highest[hamlet]}")
                if hamlet is not None:
                    received[hamlet] = max(received.get(hamlet, 0), change["rev"])
                self.copy[change["id"]] = (change["rev"], change["deleted"], change["data"])
            for hamlet, rev in received.items():
                self.highest[hamlet] = max(self.highest.get(hamlet, 0), rev)
            self.cursor = page["cursor"]
            if not page["has_more"]:
                return


@pytest.mark.slow
@ENGINES
@pytest.mark.parametrize("seed", SEEDS)
def test_readers_never_find_an_unseen_lower_revision_and_converge(database_url, seed):
    url = prepare_database(database_url)
    # transactions held open 0–60 ms before they commit: writers overlap as under a province's load
    servers = [start_server(url, module=["tests.server.slow_commit_server", url, str(seed + n)]) for n in range(2)]
    try:
        writers = [servers[n % 2].enrol("surveyor", "25216") for n in range(WRITERS)]
        leader = servers[0].enrol("leader", "25216")
        surveyor = servers[1].enrol("surveyor", "25216-02")
        readers = [Reader(servers[0], leader["token"], "leader"), Reader(servers[1], surveyor["token"], "surveyor 02")]
        applied: dict[str, int] = {}  # change_id → times a reply said it was stored
        lock = threading.Lock()
        done = threading.Event()
        in_step = threading.Barrier(WRITERS)  # every round starts together: the last writes overlap too

        def write(number: int) -> None:
            rng = random.Random(seed * 100 + number)
            home = HAMLETS[number % len(HAMLETS)]  # each surveyor works in a hamlet; a few households move
            mine = {h.id: replace(h, hamlet_code=home) for h in generate(BATCH * 3, seed=seed * 10 + number)}
            revs: dict[str, int | None] = dict.fromkeys(mine)
            server, token = servers[number % 2], writers[number]["token"]
            for round_ in range(ROUNDS):
                in_step.wait(timeout=120)
                changes = []
                for household_id in rng.sample(sorted(mine), min(BATCH, len(mine))):
                    if rng.random() < 0.1 and revs[household_id] is not None:
                        change = {"deleted": True, "data": None}  # and never touched again
                    else:  # an edit that may move the household to another hamlet
                        hamlet = rng.choice(HAMLETS) if rng.random() < 0.1 else mine[household_id].hamlet_code
                        mine[household_id] = replace(mine[household_id], hamlet_code=hamlet, note=f"vòng {round_}")
                        change = {"deleted": False, "data": mine[household_id].to_document()}
                    changes.append({"change_id": f"{number}-{round_}-{household_id}", "id": household_id,
                                    "base_rev": revs[household_id], **change})  # fmt: skip
                reply = requests.post(server.api("/api/v1/sync/push"), json={"batch_id": f"{number}-{round_}", "changes": changes},
                                      headers={"Authorization": f"Bearer {token}"}, timeout=60)  # fmt: skip
                assert reply.status_code == 200, reply.text
                for change, result in zip(changes, reply.json()["results"]):
                    assert result["status"] == "applied", result
                    revs[result["id"]] = result["rev"]
                    with lock:
                        applied[result["change_id"]] = applied.get(result["change_id"], 0) + 1
                    if change["deleted"]:
                        del mine[result["id"]]

        def read(reader: Reader) -> None:
            while not done.is_set():
                reader.pull_all()

        reading = [threading.Thread(target=read, args=(reader,)) for reader in readers]
        for thread in reading:
            thread.start()
        try:
            at_once(write, range(WRITERS))
        finally:
            done.set()
            for thread in reading:
                thread.join()
        for reader in readers:
            reader.pull_all()  # after the writers: everything committed is delivered
    finally:
        for server in servers:
            stop_server(server.process)

    failing = f"(seed {seed})"
    for reader in readers:
        assert reader.violations == [], failing
    store = _store(url)
    try:
        with store.backend.read() as tx:
            stored = {row[0]: (row[1], bool(row[2]), row[3], row[4]) for row in
                      tx.all("SELECT id, rev, deleted, document, hamlet_code FROM households")}  # fmt: skip
            history = dict(tx.all("SELECT change_id, count(*) FROM revisions GROUP BY change_id"))
        for reader, scope in ((readers[0], set(HAMLETS)), (readers[1], {"25216-02"})):
            expected = {hid: (rev, deleted) for hid, (rev, deleted, _, hamlet) in stored.items() if hamlet in scope}
            got = {hid: (rev, deleted) for hid, (rev, deleted, _) in reader.copy.items() if hid in expected}
            assert got == expected, f"{reader.name} did not converge {failing}"
            for hid, (rev, deleted, document, _) in stored.items():
                if hid in expected and not deleted:
                    assert reader.copy[hid][2] == json.loads(document), failing
        assert all(count == 1 for count in applied.values()), failing
        assert all(history.get(change_id) == 1 for change_id in applied), failing
        live = store.counters(HAMLETS)
        days = store.day_counters(HAMLETS)
        store.recompute()
        assert store.counters(HAMLETS) == live and store.day_counters(HAMLETS) == days, failing
    finally:
        store.close()
