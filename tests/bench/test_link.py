"""The emulated link: real sockets on 127.0.0.1 through a LinkProxy, bytes and timings checked at both ends."""

from __future__ import annotations

import http.client
import http.server
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from ntm_field.bench.link import (
    MSS,
    TCP_TLS13,
    WEAK_3G,
    Fault,
    FaultSchedule,
    LinkDirection,
    LinkProfile,
    LinkProxy,
)

PAYLOAD = os.urandom(100_000)
KIB_64 = 64 * 1024
TIMEOUT = 5.0


class Target:
    """A TCP server on 127.0.0.1 that runs `handle(conn)` for each connection in its own thread."""

    def __init__(self, handle: Callable[[socket.socket], None]):
        self._handle = handle
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.port: int = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(TIMEOUT)
        with conn:
            try:
                self._handle(conn)
            except OSError:
                pass  # the proxy cut the connection: that is what the fault tests want

    def stop(self) -> None:
        self._stop.set()
        for thread in list(self._threads):
            thread.join(TIMEOUT)
        self._listener.close()


@pytest.fixture
def target() -> Iterator[Callable[[Callable[[socket.socket], None]], Target]]:
    targets: list[Target] = []

    def start(handle: Callable[[socket.socket], None]) -> Target:
        targets.append(Target(handle))
        return targets[-1]

    yield start
    for started in targets:
        started.stop()


def echo(conn: socket.socket) -> None:
    while data := conn.recv(65536):
        conn.sendall(data)


def send_payload(conn: socket.socket) -> None:
    """Wait for the client's hello, then send PAYLOAD and close."""
    conn.recv(16)
    conn.sendall(PAYLOAD)


def sink_into(received: bytearray, finished: threading.Event) -> Callable[[socket.socket], None]:
    """A handler that keeps every byte until EOF."""

    def handle(conn: socket.socket) -> None:
        while data := conn.recv(65536):
            received.extend(data)
        finished.set()

    return handle


def ack_after(nbytes: int) -> Callable[[socket.socket], None]:
    """A handler that answers b"ok" once `nbytes` have arrived."""

    def handle(conn: socket.socket) -> None:
        got = 0
        while got < nbytes and (data := conn.recv(65536)):
            got += len(data)
        conn.sendall(b"ok")

    return handle


def connect(proxy: LinkProxy) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", proxy.port), timeout=TIMEOUT)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def recv_until_eof(sock: socket.socket) -> bytes:
    received = bytearray()
    while data := sock.recv(65536):
        received.extend(data)
    return bytes(received)


def fixed(*faults: Fault) -> FaultSchedule:
    return FaultSchedule.fixed(faults)


def test_pass_through_forwards_both_ways_unchanged_and_counts(target):
    server = target(echo)
    with LinkProxy("127.0.0.1", server.port) as proxy, connect(proxy) as sock:
        sock.sendall(PAYLOAD)
        sock.shutdown(socket.SHUT_WR)
        assert recv_until_eof(sock) == PAYLOAD
        assert (proxy.bytes_up, proxy.bytes_down, proxy.connections, proxy.faults_injected) == (
            len(PAYLOAD), len(PAYLOAD), 1, 0)  # fmt: skip
        proxy.reset_counters()
        assert (proxy.bytes_up, proxy.bytes_down, proxy.connections) == (0, 0, 0)
    assert proxy.url == f"http://127.0.0.1:{proxy.port}"


def test_drop_down_delivers_exactly_the_offset_then_eof(target):
    server = target(send_payload)
    with LinkProxy("127.0.0.1", server.port, faults=fixed(Fault("drop_down", at=30_000))) as proxy:
        with connect(proxy) as sock:
            sock.sendall(b"hello")
            assert recv_until_eof(sock) == PAYLOAD[:30_000]
        assert proxy.faults_injected == 1
        with connect(proxy) as sock:  # the fixed list is spent: the next connection passes
            sock.sendall(b"hello")
            assert recv_until_eof(sock) == PAYLOAD
        assert proxy.faults_injected == 1


def test_drop_up_lets_the_server_receive_exactly_the_offset(target):
    received, finished = bytearray(), threading.Event()
    server = target(sink_into(received, finished))
    with LinkProxy("127.0.0.1", server.port, faults=fixed(Fault("drop_up", at=12_345))) as proxy:
        with connect(proxy) as sock:
            sock.sendall(PAYLOAD)
            assert finished.wait(TIMEOUT)
            assert sock.recv(10) == b""  # the client's side is closed too
        assert bytes(received) == PAYLOAD[:12_345]
        assert proxy.bytes_up == 12_345
        assert proxy.faults_injected == 1


def test_reset_down_delivers_the_offset_then_connection_reset(target):
    server = target(send_payload)
    with LinkProxy("127.0.0.1", server.port, faults=fixed(Fault("reset_down", at=20_000))) as proxy:
        with connect(proxy) as sock:
            sock.sendall(b"hello")
            received = bytearray()
            with pytest.raises(ConnectionResetError):
                while data := sock.recv(65536):
                    received.extend(data)
        assert bytes(received) == PAYLOAD[:20_000]  # Linux hands over what arrived before the RST
        assert proxy.faults_injected == 1


def test_stall_down_goes_silent_after_the_offset_then_closes(target):
    server = target(send_payload)
    faults = fixed(Fault("stall_down", at=8_000, stall=0.6))
    with LinkProxy("127.0.0.1", server.port, faults=faults) as proxy, connect(proxy) as sock:
        sock.sendall(b"hello")
        received = bytearray()
        while len(received) < 8_000:
            received.extend(sock.recv(65536))
        silent_from = time.monotonic()
        assert sock.recv(65536) == b""
        silence = time.monotonic() - silent_from
        assert bytes(received) == PAYLOAD[:8_000]
        assert 0.5 <= silence < 1.5
        assert proxy.faults_injected == 1


def test_a_fault_beyond_the_end_of_the_stream_never_strikes(target):
    server = target(send_payload)
    faults = fixed(Fault("reset_down", at=len(PAYLOAD)), Fault("drop_up", at=10))
    with LinkProxy("127.0.0.1", server.port, faults=faults) as proxy:
        for _ in range(2):
            with connect(proxy) as sock:
                sock.sendall(b"hello")  # 5 bytes up: short of drop_up's offset
                assert recv_until_eof(sock) == PAYLOAD
        assert proxy.faults_injected == 0


def test_a_refused_target_closes_the_client_at_once_and_the_target_can_be_swapped(target):
    closed = socket.create_server(("127.0.0.1", 0))
    refused_port = closed.getsockname()[1]
    closed.close()
    with LinkProxy("127.0.0.1", refused_port, faults=fixed(Fault("drop_down", at=0))) as proxy:
        started = time.monotonic()
        with connect(proxy) as sock:
            assert sock.recv(10) == b""
        assert time.monotonic() - started < 0.5
        proxy.target = ("127.0.0.1", target(echo).port)
        with connect(proxy) as sock:
            # the refused connection drew no fault: this one gets the drop at byte 0
            sock.sendall(b"ping")
            assert recv_until_eof(sock) == b""
        with connect(proxy) as sock:
            sock.sendall(b"ping")
            assert sock.recv(10) == b"ping"
        assert proxy.connections == 3
        assert proxy.faults_injected == 1


class _Hello(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the sync client uses

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "5")
        self.end_headers()
        self.wfile.write(b"hello")

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep test output clean


@pytest.fixture
def http_server() -> Iterator[http.server.ThreadingHTTPServer]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(TIMEOUT)


def test_delay_adds_one_rtt_to_each_http_round_trip_on_a_kept_alive_connection(http_server):
    with LinkProxy(*http_server.server_address[:2], profile=LinkProfile(rtt=0.2)) as proxy:
        client = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=TIMEOUT)
        for _ in range(2):
            started = time.monotonic()
            client.request("GET", "/")
            assert client.getresponse().read() == b"hello"
            assert 0.2 <= time.monotonic() - started < 0.5
        client.close()
        assert proxy.connections == 1


def test_bandwidth_cap_paces_an_upload(target):
    server = target(ack_after(KIB_64))
    with LinkProxy("127.0.0.1", server.port, profile=LinkProfile(up_bps=512_000)) as proxy, connect(proxy) as sock:
        started = time.monotonic()
        sock.sendall(os.urandom(KIB_64))
        assert sock.recv(2) == b"ok"
        assert 0.8 <= time.monotonic() - started <= 2.0  # 64 KiB × 8 ÷ 512 kbit/s ≈ 1.02 s


def test_rtt_delays_bytes_without_serialising_chunks(target):
    server = target(ack_after(KIB_64))
    with LinkProxy("127.0.0.1", server.port, profile=LinkProfile(rtt=0.1)) as proxy, connect(proxy) as sock:
        started = time.monotonic()
        for offset in range(0, KIB_64, 1024):  # 64 small writes: one RTT each would take 6.4 s
            sock.sendall(PAYLOAD[offset : offset + 1024])
        assert sock.recv(2) == b"ok"
        assert time.monotonic() - started < 0.4


def test_fault_schedule_is_deterministic_for_a_seed():
    def draws(seed: int) -> list[Fault]:
        schedule = FaultSchedule(seed, rate=0.5)
        return [schedule.next_fault() for _ in range(200)]

    assert draws(7) == draws(7)
    assert draws(7) != draws(8)
    faults = draws(7)
    assert {f.kind for f in faults} == {"pass", "drop_up", "drop_down", "reset_up", "reset_down", "stall_up", "stall_down"}
    assert all(0 <= f.at <= 20_000 for f in faults)
    assert all(0.2 <= f.stall <= 1.5 for f in faults if f.action == "stall")


def test_fault_schedule_at_rate_zero_only_passes():
    schedule = FaultSchedule(1, rate=0.0)
    assert {schedule.next_fault().kind for _ in range(500)} == {"pass"}


def test_a_fixed_schedule_hands_out_its_list_then_passes():
    faults = [Fault("stall_up", at=5, stall=0.3), Fault("reset_down", at=9)]
    schedule = FaultSchedule.fixed(faults)
    assert [schedule.next_fault() for _ in range(4)] == [*faults, Fault("pass"), Fault("pass")]


def test_stop_returns_promptly_with_idle_connections_open(target):
    server = target(echo)
    proxy = LinkProxy("127.0.0.1", server.port, profile=LinkProfile(rtt=0.05)).start()
    socks = [connect(proxy) for _ in range(5)]
    for sock in socks:
        sock.sendall(b"ping")
        assert sock.recv(4) == b"ping"
    started = time.monotonic()
    proxy.stop()
    assert time.monotonic() - started < 3.0
    for sock in socks:
        assert sock.recv(10) == b""
        sock.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", proxy.port), timeout=TIMEOUT)


def timed_get(client: http.client.HTTPConnection) -> float:
    started = time.monotonic()
    client.request("GET", "/")
    assert client.getresponse().read() == b"hello"
    return time.monotonic() - started


def test_set_up_round_trips_are_charged_once_per_connection(http_server):
    profile = LinkProfile(rtt=0.1, setup_rtts=TCP_TLS13)
    with LinkProxy(*http_server.server_address[:2], profile=profile) as proxy:
        for _ in range(2):  # each new connection pays TCP + TLS 1.3 (2 RTT) before its request's RTT
            client = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=TIMEOUT)
            assert 0.3 <= timed_get(client) < 0.55
            assert 0.1 <= timed_get(client) < 0.25  # kept alive: one RTT
            client.close()
        assert proxy.connections == 2


def replay(profile: LinkProfile, sizes: list[int], direction: str = "up") -> tuple[list[float], int]:
    """Due times (relative to when each chunk was read) of chunks read one second apart, and packets lost."""
    link = LinkDirection(profile, direction)
    dues = [link.deliver_at(size, now=1000.0 + n) - (1000.0 + n) for n, size in enumerate(sizes)]
    return dues, link.packets_lost


def test_jitter_and_loss_are_the_same_for_a_seed_and_differ_between_seeds():
    profile = LinkProfile(rtt=0.1, jitter=0.03, loss=0.05, seed=11)
    sizes = [700, 5000, 14_000, 90, 3 * MSS] * 40
    assert replay(profile, sizes) == replay(profile, sizes)
    assert replay(profile, sizes)[1] > 0
    assert replay(profile, sizes) != replay(LinkProfile(rtt=0.1, jitter=0.03, loss=0.05, seed=12), sizes)
    assert replay(profile, sizes) != replay(profile, sizes, "down")  # each direction draws on its own


def test_losses_follow_the_bytes_whatever_the_chunks():
    profile = LinkProfile(rtt=0.1, loss=0.05, seed=4)
    total = 200 * MSS
    whole = replay(profile, [total])[1]
    assert whole > 0
    assert replay(profile, [1000] * (total // 1000) + [total % 1000])[1] == whole
    assert replay(profile, [MSS // 2] * 400)[1] == whole


def test_jitter_stays_within_its_bound_and_varies():
    dues, lost = replay(LinkProfile(rtt=0.1, jitter=0.03, seed=1), [MSS] * 300)  # a packet per chunk
    assert lost == 0
    assert all(0.02 - 1e-9 <= due <= 0.08 + 1e-9 for due in dues)
    assert max(dues) - min(dues) > 0.05
    # a jitter larger than the one-way delay never delivers before the bytes were read
    assert all(due >= 0 for due in replay(LinkProfile(rtt=0.02, jitter=0.05, seed=1), [MSS] * 300)[0])


def test_a_lost_packet_arrives_one_recovery_late():
    rtt, rto = 0.1, 0.2  # the RTO is at its 200 ms floor: 0.1 + 4 × 0
    # a packet alone in its write: a tail loss probe (2 RTT), then RTO, 2 RTO, … for each lost retransmission
    late = {0: 0.0, **{n: 2 * rtt + (2 ** (n - 1) - 1) * rto for n in range(1, 10)}}  # times lost → seconds late
    dues, lost = replay(LinkProfile(rtt=rtt, loss=0.3, seed=2), [MSS] * 400)  # a packet per write
    times_lost = [next(n for n, seconds in late.items() if abs(due - rtt / 2 - seconds) < 1e-9) for due in dues]
    assert lost == sum(times_lost)
    assert {1, 2, 3} <= set(times_lost)
    # with three packets or more behind it in the same write, the first retransmission comes one RTT late
    dues, _ = replay(LinkProfile(rtt=rtt, loss=0.3, seed=2), [4 * MSS] * 200)
    assert any(abs(due - rtt / 2 - rtt) < 1e-9 for due in dues)


def test_loss_and_jitter_through_the_proxy_keep_the_stream_whole(target):
    server = target(echo)
    profile = LinkProfile(rtt=0.02, jitter=0.02, loss=0.05, seed=3)
    expected_lost = replay(profile, [len(PAYLOAD)])[1] + replay(profile, [len(PAYLOAD)], "down")[1]
    assert expected_lost > 0
    with LinkProxy("127.0.0.1", server.port, profile=profile) as proxy, connect(proxy) as sock:
        sock.sendall(PAYLOAD)
        sock.shutdown(socket.SHUT_WR)
        assert recv_until_eof(sock) == PAYLOAD
        assert proxy.packets_lost == expected_lost


def test_link_profiles_refuse_impossible_values():
    for bad in ({"loss": 1.0}, {"loss": -0.1}, {"jitter": -0.01}, {"setup_rtts": -1}, {"rtt": -1}, {"up_bps": 0}):
        with pytest.raises(ValueError):
            LinkProfile(**bad)
    assert WEAK_3G.setup_rtts == TCP_TLS13 and WEAK_3G.loss > 0 and WEAK_3G.jitter > 0
