"""What shared rate limits cost: authenticated GETs per second against a real server process whose
limits are counted in the database (as deployed) next to the same server counting in its own memory.

    python -m ntm_field.bench.limits [--requests 3000] [--rounds 3]

One keep-alive connection sends `GET /api/v1/sync/pull?limit=1` with one token (each request is
authenticated and counted against that token's limit, set too high to refuse). Rounds alternate the two
kinds of counts so that the machine's load falls on both alike; the medians and their ratio are printed.
PostgreSQL from NTM_BENCH_POSTGRES_URL / NTM_TEST_POSTGRES_URL when one answers.
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from ntm_field.bench import Measure
from ntm_field.bench.server import ASSETS, _postgres_database

KINDS = ("memory", "database")
HAMLET = "code,name,level,parent_code,expected_households\n25216-01,Khu phố 1,hamlet,25216,\n"


def run(*, requests: int = 3000, rounds: int = 3) -> list[Measure]:
    measures = []
    with tempfile.TemporaryDirectory(prefix="ntm-bench-limits-") as tmp:
        engines = [("SQLite", f"sqlite:///{Path(tmp) / 'server.db'}", None)]
        pg = _postgres_database()
        if pg is not None:
            engines.append(("PostgreSQL", *pg))
        for name, url, drop in engines:
            try:
                token = _device_token(url)
                rates: dict[str, list[float]] = {kind: [] for kind in KINDS}
                for _ in range(rounds):
                    for kind in KINDS:
                        rates[kind].append(_rate(url, kind, token, requests))
                memory, database = (statistics.median(rates[kind]) for kind in KINDS)
                measures.append(Measure(f"authenticated GET, limits in the database ({name})", "requests/s", database,
                                        memory, "limits in process memory", "≥ 0.8×", database / memory >= 0.8))  # fmt: skip
            finally:
                if drop is not None:
                    drop()
    return measures


def _device_token(url: str) -> str:
    from ntm_field.server.db import open_backend
    from ntm_field.server.store import ServerStore

    store = ServerStore(open_backend(url), clock=lambda: datetime.now(timezone.utc), new_id=lambda: str(uuid.uuid4()))
    try:
        store.migrate()
        store.load_units((ASSETS / "binhphuoc-2024.csv").read_text(encoding="utf-8"))
        store.load_units(HAMLET)
        code = store.create_enrol_code(role="surveyor", scope=["25216-01"], uses=1, expires_in=timedelta(days=1),
                                       created_by="bench")  # fmt: skip
        return store.enrol(code.code, "bench")[1]
    finally:
        store.close()


def _rate(url: str, kind: str, token: str, requests: int) -> float:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**{k: v for k, v in os.environ.items() if k != "DISPLAY"}, "NTM_REQUESTS_PER_MINUTE": str(10**9)}
    server = subprocess.Popen([sys.executable, "-m", "ntm_field.bench.limits", "serve", kind, url, str(port)], env=env,
                              stdout=subprocess.DEVNULL)  # fmt: skip
    try:
        connection = _connect(port)
        headers = {"Authorization": f"Bearer {token}"}

        def get() -> None:
            connection.request("GET", "/api/v1/sync/pull?limit=1", headers=headers)
            reply = connection.getresponse()
            reply.read()
            if reply.status != 200:
                raise RuntimeError(f"pull answered {reply.status}")

        for _ in range(200):  # warm: connections, caches
            get()
        start = time.perf_counter()
        for _ in range(requests):
            get()
        rate = requests / (time.perf_counter() - start)
        connection.close()
        return rate
    finally:
        server.terminate()
        server.wait(timeout=30)


def _connect(port: int) -> http.client.HTTPConnection:
    for _ in range(300):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            connection.request("GET", "/api/v1/health")
            connection.getresponse().read()
            return connection
        except OSError:
            connection.close()
            time.sleep(0.1)
    raise RuntimeError("the benchmark server did not start")


def _serve(kind: str, url: str, port: str) -> int:
    """`ntm-field server`, with the limits counted in this process when `kind` is memory."""
    from ntm_field.cli import main
    from ntm_field.server import limits

    if kind == "memory":
        limits.DatabaseCounts.open = classmethod(lambda cls, backend: limits.MemoryCounts())
    return main(["server", "--db", url, "--port", port])


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["serve"]:
        return _serve(*argv[1:])
    parser = argparse.ArgumentParser(prog="python -m ntm_field.bench.limits", description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000, help="timed requests per round and kind")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (each runs both kinds)")
    args = parser.parse_args(argv)
    from ntm_field.bench import format_table

    print(format_table(run(requests=args.requests, rounds=args.rounds)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
