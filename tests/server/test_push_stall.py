"""One small request stalls no one (issue 13, finding 4), against a real server on both engines.

A 3–5 KB gzip push of one member whose `assisted` repeats one help code 120,000 times took 17 s (a
quadratic duplicate check) while holding the write lock, and every other device waited. Acceptance: it is
answered in under 1 s, refused naming the field, and another device's pushes take no longer while such
pushes arrive back to back than when the server is idle (both measured in this run).
"""

from __future__ import annotations

import gzip
import json
import statistics
import threading
import time

import requests

from tests.server.conftest import ENGINES
from tests.server.test_http import auth, change, household

REPEATS = 120_000
ROUNDS = 4  # idle, then under attack, in turn: a machine busy with other work slows both phases alike
HOSTILE_PUSHES = 2  # a round, back to back
IDLE_SAMPLES = 5  # a round
BOUND = 1.0  # seconds: the acceptance
TIMEOUT = 30  # the old code needs about 25 s a push: fail, don't hang


def _hostile_body() -> bytes:
    doc = household("25216-01")
    doc["members"][0]["assisted"] = ["app_guidance"] * REPEATS
    return gzip.compress(json.dumps({"batch_id": "stall", "changes": [change(doc)]}).encode())


@ENGINES
def test_a_push_of_120000_repeated_help_codes_is_refused_in_under_a_second_and_delays_no_other_device(server):
    hostile = server.enrol("surveyor", "25216-01")["token"]
    others = [server.enrol("surveyor", "25216-02")["token"] for _ in range(3)]  # each well under its rate limit
    body = _hostile_body()
    assert len(body) < 8 * 1024, len(body)  # a small request
    sent = iter(range(10_000))

    def other_push() -> float:
        """One ordinary push of another device: a new household (it needs the write lock too)."""
        batch = {"batch_id": "other", "changes": [change(household("25216-02"))]}
        started = time.perf_counter()
        reply = requests.post(server.api("/api/v1/sync/push"), json=batch,
                              headers=auth(others[next(sent) % len(others)]), timeout=TIMEOUT)  # fmt: skip
        elapsed = time.perf_counter() - started
        assert reply.status_code == 200 and reply.json()["results"][0]["status"] == "applied", reply.text
        return elapsed

    answers: list[tuple[float, int, dict]] = []

    def attack() -> None:
        headers = {**auth(hostile), "Content-Type": "application/json", "Content-Encoding": "gzip"}
        for _ in range(HOSTILE_PUSHES):
            started = time.perf_counter()
            reply = requests.post(server.api("/api/v1/sync/push"), data=body, headers=headers, timeout=TIMEOUT)
            answers.append((time.perf_counter() - started, reply.status_code, reply.json()))

    other_push()  # warm up: connections, caches
    idle: list[float] = []
    during: list[float] = []
    for _ in range(ROUNDS):
        idle += [other_push() for _ in range(IDLE_SAMPLES)]
        attacker = threading.Thread(target=attack)
        attacker.start()
        while attacker.is_alive():
            during.append(other_push())
        attacker.join()
        if max(seconds for seconds, _, _ in answers) > BOUND:
            break  # the old quadratic check (~25 s a push): no need to wait for more rounds

    figures = (
        f"hostile push: {', '.join(f'{a[0] * 1000:.0f}' for a in answers)} ms; other device's push idle "
        f"p50 {statistics.median(idle) * 1000:.1f} ms max {max(idle) * 1000:.1f} ms, during "
        f"p50 {statistics.median(during) * 1000:.1f} ms max {max(during) * 1000:.1f} ms ({len(during)} pushes)"
    )
    print(figures)
    for seconds, status, reply in answers:
        assert status == 200, reply
        [result] = reply["results"]
        assert result["status"] == "rejected" and result["error"]["code"] == "invalid", result
        assert result["error"]["field"] == "data.members[0].assisted", result
        assert seconds < BOUND, figures
    assert len(answers) == ROUNDS * HOSTILE_PUSHES, figures
    # Not delayed: the other device's typical push takes about as long as when the server is idle, and none
    # waits as long as the bound. The room left (3× + 150 ms) is what inflating and parsing a 2 MB body costs
    # one Python process on a busy 2-core machine; the old check made the other device wait ~25 s.
    assert statistics.median(during) <= 3 * statistics.median(idle) + 0.15, figures
    assert max(during) <= max(idle) + BOUND, figures
