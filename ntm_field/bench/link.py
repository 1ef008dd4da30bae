"""An emulated network link: a TCP proxy on 127.0.0.1 with delay, jitter, loss, bandwidth caps and faults.

Tests put a `LinkProxy` between the sync client and a real server to cut, reset or
stall a connection at a chosen byte offset; the benchmark puts one in front of the
server to time a sync over a slow rural link. `tc netem` is not available on the
project's machines, hence a proxy; standard library only, so it runs wherever tests do.

Each connection is pumped by four threads, a reader and a writer per direction. The
reader stamps every chunk with the moment the emulated link would deliver it and
queues it; the writer sleeps until then and sends. Many chunks are in flight at once,
so a long RTT delays bytes without cutting throughput to one chunk per round trip.

The model of a link (`LinkProfile`), per direction, for the bytes a reader has just read:

- **Bandwidth**: bytes are serialised onto the link one after the other at `up_bps` /
  `down_bps`; every connection through one proxy shares them, as a phone's connections
  share its radio.
- **Delay and jitter**: the stream is cut into TCP packets of `MSS` bytes (packet k holds
  bytes k·MSS … (k+1)·MSS − 1 of the direction's stream, whatever the chunks the reader
  happened to get); each packet travels rtt/2 plus a uniform draw in ±`jitter` (never below
  zero). TCP hands bytes over in order, so a chunk is delivered once its slowest packet has
  arrived, and never before the chunk ahead of it.
- **Loss**: each packet is lost with probability `loss`, and so is each retransmission.
  The first retransmission comes one RTT late when at least three more packets of the same
  write follow it (fast retransmit on three duplicate ACKs, RFC 5681), else after a tail
  loss probe, 2 RTT (RFC 8985); each further one after a retransmission timeout,
  max(200 ms, RTT + 4·jitter) (RFC 6298 with Linux's floor), doubling each time.
- **Connection set-up**: a new connection's first bytes cannot leave the client before
  `setup_rtts` round trips: 1 for TCP's handshake, 2 with TLS 1.3 on top (`TCP_TLS13`).
  A kept-alive connection pays them once.
- **Seeded**: jitter and loss are drawn from a `random.Random` per direction seeded by
  `seed`, one packet after another in stream order, so the same bytes through the same
  profile meet the same delays and losses on every run.

Not modelled: congestion control (a loss does not shrink the window, which favours large
requests over many small ones less than a real link would), lost ACKs, loss or jitter during
the handshake, the handshake's own bytes (a TLS certificate chain is a few KB down), and
packet reordering beyond what in-order delivery hides.
"""

from __future__ import annotations

import queue
import random
import socket
import struct
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Self

_CHUNK = 16 * 1024
MSS = 1448
"""TCP payload bytes per packet: a 1,500-byte MTU less the IP and TCP headers and the timestamp option."""
TCP_TLS13 = 2
"""Round trips before a new HTTPS connection carries its first request: TCP's handshake, then TLS 1.3's."""
_RTO_MIN = 0.2  # Linux's floor on the retransmission timeout
_FAST_RETRANSMIT_AFTER = 3  # packets that must follow a lost one for three duplicate ACKs
# Every blocking call wakes at least this often, so stop() and a dying connection are noticed.
_POLL = 0.1
# Chunks queued per direction and connection: bounds memory, and a fast sender waits
# for the emulated link as it would for a real one.
_IN_FLIGHT = 256
_CONNECT_TIMEOUT = 1.0
_STOP_TIMEOUT = 2.0
_KINDS = ("pass", "drop_up", "drop_down", "reset_up", "reset_down", "stall_up", "stall_down")
# Queue markers that follow the data in order, so they act only once the bytes before them are out.
_EOF = "eof"
_FAULT = "fault"
_WAKE = "wake"
# (monotonic time due, bytes or a marker), in stream order
_InFlight = queue.Queue[tuple[float, bytes | str]]


@dataclass(frozen=True)
class LinkProfile:
    """An emulated link (see the module's docstring for the model); the defaults change nothing."""

    rtt: float = 0.0
    """Round-trip time in seconds; each direction delays every byte by rtt/2."""
    up_bps: float | None = None
    """Client→server bits per second (None = unlimited)."""
    down_bps: float | None = None
    """Server→client bits per second (None = unlimited)."""
    jitter: float = 0.0
    """Seconds by which each packet's one-way delay varies, uniformly within ±jitter."""
    loss: float = 0.0
    """Probability that a packet (or a retransmission of it) is lost, within [0, 1)."""
    setup_rtts: int = 0
    """Round trips a new connection pays before its first byte: 1 = TCP, 2 = TCP + TLS 1.3."""
    seed: int = 0
    """Seeds the draws of jitter and loss."""

    def __post_init__(self) -> None:
        if self.rtt < 0 or self.jitter < 0:
            raise ValueError(f"rtt and jitter must be >= 0, got {self.rtt} and {self.jitter}")
        for name in ("up_bps", "down_bps"):
            bps = getattr(self, name)
            if bps is not None and bps <= 0:
                raise ValueError(f"{name} must be > 0 or None, got {bps}")
        if not 0.0 <= self.loss < 1.0:
            raise ValueError(f"loss must be within [0, 1), got {self.loss}")
        if self.setup_rtts < 0:
            raise ValueError(f"setup_rtts must be >= 0, got {self.setup_rtts}")

    @property
    def rto(self) -> float:
        """The retransmission timeout: RFC 6298's SRTT + 4·RTTVAR, at least Linux's 200 ms."""
        return max(_RTO_MIN, self.rtt + 4 * self.jitter)


# Mobile links of rural Bình Phước as the sync sees them: HTTPS (TCP + TLS 1.3 set-up), a few
# tens of ms of jitter, about 1 % loss on 4G and 2 % on a weak 3G cell.
RURAL_4G = LinkProfile(rtt=0.150, up_bps=1_000_000, down_bps=4_000_000, jitter=0.030, loss=0.01, setup_rtts=TCP_TLS13)
WEAK_3G = LinkProfile(rtt=0.400, up_bps=256_000, down_bps=1_000_000, jitter=0.100, loss=0.02, setup_rtts=TCP_TLS13)


@dataclass(frozen=True)
class Fault:
    """What happens to one connection.

    `kind` is "pass" or <action>_<direction>: drop (close with FIN), reset (RST to the
    client) or stall (silence for `stall` seconds, then close), on the up (client→server)
    or down (server→client) stream. It strikes when the stream reaches byte `at`: the
    first `at` bytes get through, and a stream that ends before then is left alone.
    """

    kind: str
    at: int = 0
    stall: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {', '.join(_KINDS)}")
        if self.at < 0 or self.stall < 0:
            raise ValueError("at and stall must be >= 0")

    @property
    def action(self) -> str:
        """One of "pass", "drop", "reset", "stall"."""
        return self.kind.split("_")[0]

    @property
    def direction(self) -> str | None:
        """The stream it strikes, "up" or "down"; None for "pass"."""
        return None if self.kind == "pass" else self.kind.split("_")[1]


class FaultSchedule:
    """Seeded random faults: each new connection draws one Fault."""

    def __init__(self, seed: int, *, rate: float = 0.3, max_offset: int = 20_000, max_stall: float = 1.5):
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"rate must be within [0, 1], got {rate}")
        self._random = random.Random(seed)
        self._rate = rate
        self._max_offset = max_offset
        self._max_stall = max_stall
        self._queued: list[Fault] = []
        self._lock = threading.Lock()

    @classmethod
    def fixed(cls, faults: Iterable[Fault]) -> FaultSchedule:
        """A schedule that hands out `faults` in order, then "pass" forever."""
        schedule = cls(0, rate=0.0)
        schedule._queued = list(faults)
        return schedule

    def next_fault(self) -> Fault:
        """The next connection's fault: "pass" with probability 1 - rate, else one of the six kinds."""
        with self._lock:
            if self._queued:
                return self._queued.pop(0)
            if self._random.random() >= self._rate:
                return Fault("pass")
            kind = self._random.choice(_KINDS[1:])
            at = self._random.randint(0, self._max_offset)
            stall = self._random.uniform(0.2, self._max_stall) if kind.startswith("stall") else 0.0
            return Fault(kind, at, stall)


class LinkProxy:
    """Listens on 127.0.0.1:<free port> and forwards each connection to target, through the profile and faults.

    One proxy is one emulated link: every connection through it shares each direction's
    bandwidth, as a phone's connections share its radio. Assign `target` to redirect new
    connections (a test restarting its server on another port). The counters are safe to
    read from any thread.
    """

    def __init__(
        self,
        target_host: str,
        target_port: int,
        *,
        profile: LinkProfile = LinkProfile(),
        faults: FaultSchedule | None = None,
    ):
        self.target: tuple[str, int] = (target_host, target_port)
        self.profile = profile
        self._faults = faults
        self._up = LinkDirection(profile, "up")
        self._down = LinkDirection(profile, "down")
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(("bytes_up", "bytes_down", "connections", "faults_injected"), 0)
        self._connections: set[_Connection] = set()
        self._stopping = threading.Event()
        self._listener: socket.socket | None = None
        self._acceptor: threading.Thread | None = None
        self._port: int | None = None

    def start(self) -> Self:
        """Bind a free port on 127.0.0.1 and start accepting; returns self."""
        if self._listener is not None:
            raise RuntimeError("LinkProxy already started")
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        listener.settimeout(_POLL)
        self._listener, self._port = listener, listener.getsockname()[1]
        self._acceptor = threading.Thread(target=self._accept_loop, name=f"link-{self._port}-accept", daemon=True)
        self._acceptor.start()
        return self

    def stop(self) -> None:
        """Close the listener and every open connection, and join their threads (within ~2 s)."""
        self._stopping.set()
        if self._acceptor is not None:
            self._acceptor.join(_STOP_TIMEOUT)
        if self._listener is not None:
            self._listener.close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            connection.abort()
        deadline = time.monotonic() + _STOP_TIMEOUT
        for connection in connections:
            connection.thread.join(max(0.0, deadline - time.monotonic()))

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The port the proxy listens on (after start())."""
        if self._port is None:
            raise RuntimeError("LinkProxy not started")
        return self._port

    @property
    def url(self) -> str:
        """Base URL for an HTTP client: "http://127.0.0.1:<port>"."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def bytes_up(self) -> int:
        """Bytes forwarded to the server."""
        return self._count_of("bytes_up")

    @property
    def bytes_down(self) -> int:
        """Bytes forwarded to the client."""
        return self._count_of("bytes_down")

    @property
    def connections(self) -> int:
        """Connections accepted from clients."""
        return self._count_of("connections")

    @property
    def faults_injected(self) -> int:
        """Faults other than "pass" that actually struck."""
        return self._count_of("faults_injected")

    @property
    def packets_lost(self) -> int:
        """Emulated packets lost so far, both directions (never reset: the draws go on where they were)."""
        return self._up.packets_lost + self._down.packets_lost

    def reset_counters(self) -> None:
        """Set every counter back to zero."""
        with self._lock:
            self._counts = dict.fromkeys(self._counts, 0)

    def _count_of(self, name: str) -> int:
        with self._lock:
            return self._counts[name]

    def _count(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self._counts[name] += amount

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                # e.g. out of file descriptors: back off rather than spin, and retry
                self._stopping.wait(_POLL)
                continue
            connection = _Connection(self, client)
            with self._lock:
                self._connections.add(connection)
                self._counts["connections"] += 1
            connection.thread.start()

    def _next_fault(self) -> Fault:
        return Fault("pass") if self._faults is None else self._faults.next_fault()

    def _forget(self, connection: _Connection) -> None:
        with self._lock:
            self._connections.discard(connection)


class LinkDirection:
    """One direction of the emulated link: when would bytes read now reach the other end?

    Public so that a test can replay its draws: the same profile, direction and sizes give
    the same answers.
    """

    def __init__(self, profile: LinkProfile, direction: str):
        self.profile = profile
        self._delay = profile.rtt / 2
        self._random = random.Random(f"{profile.seed}:{direction}")
        self._free_at = 0.0
        self._sent = 0  # bytes of this direction's stream so far
        self._packet = (-1, 0.0, 0)  # the last packet drawn (index, jitter, times lost): a chunk may end inside it
        self._lost = 0
        self._lock = threading.Lock()
        self._idle = not (profile.rtt or profile.up_bps or profile.down_bps or profile.jitter or profile.loss)
        self._bps = profile.up_bps if direction == "up" else profile.down_bps

    @property
    def packets_lost(self) -> int:
        """Packets and retransmissions lost so far."""
        with self._lock:
            return self._lost

    def deliver_at(self, nbytes: int, *, now: float | None = None, start: float = 0.0) -> float:
        """The monotonic time at which `nbytes` read at `now` are delivered, not sent before `start`.

        0.0 means at once (a link that changes nothing).
        """
        now = time.monotonic() if now is None else now
        if self._idle and start <= now:
            return 0.0
        with self._lock:
            # bytes queue behind those still being serialised onto the link, then travel
            ready = max(now, start, self._free_at)
            seconds_per_byte = 8 / self._bps if self._bps else 0.0
            self._free_at = ready + nbytes * seconds_per_byte
            first, end = self._sent, self._sent + nbytes
            if not nbytes:  # a marker (end of stream, fault): after the bytes ahead of it, which the writer sees to
                return self._free_at + self._delay
            packets = range(first // MSS, (end - 1) // MSS + 1)
            due = 0.0
            for index in packets:
                jitter, losses = self._draw(index)
                through = min(end, (index + 1) * MSS) - first  # bytes of this chunk up to the packet's end
                followers = packets[-1] - index
                arrival = ready + through * seconds_per_byte + max(0.0, self._delay + jitter)
                due = max(due, arrival + self._recovery(losses, followers))
            self._sent = end
            return due

    def _draw(self, index: int) -> tuple[float, int]:
        """Packet `index`'s jitter and the times it is lost, drawn once, in stream order."""
        if self._packet[0] != index:
            profile = self.profile
            jitter = self._random.uniform(-profile.jitter, profile.jitter) if profile.jitter else 0.0
            losses = 0
            while profile.loss and self._random.random() < profile.loss:
                losses += 1
            self._lost += losses
            self._packet = (index, jitter, losses)
        return self._packet[1], self._packet[2]

    def _recovery(self, losses: int, followers: int) -> float:
        """Seconds a packet lost `losses` times arrives late."""
        if not losses:
            return 0.0
        rtt = self.profile.rtt
        first = rtt if followers >= _FAST_RETRANSMIT_AFTER else 2 * rtt
        return first + sum(self.profile.rto * 2**n for n in range(losses - 1))


class _Connection:
    """One client connection and its twin to the target, pumped by a reader and a writer per direction."""

    def __init__(self, proxy: LinkProxy, client: socket.socket):
        self._proxy = proxy
        self.client = client
        self.server: socket.socket | None = None
        self.done = threading.Event()
        # the client's first bytes leave once the TCP (and TLS) handshakes are done
        self.sending_from = time.monotonic() + proxy.profile.setup_rtts * proxy.profile.rtt
        self._in_flight: list[_InFlight] = []
        self._lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, name=f"link-{proxy.port}-connection", daemon=True)

    def abort(self, *, reset: bool = False) -> None:
        """End the connection: FIN both ways, or RST to the client. The sockets close once the pumps exit."""
        with self._lock:
            if self.done.is_set():
                return
            self.done.set()
        if reset:
            # linger on with a zero timeout turns the coming close() into an RST; SHUT_RD
            # sends nothing but wakes the reader, so that close() comes without waiting a poll
            self.client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            _shutdown(self.client, socket.SHUT_RD)
        else:
            _shutdown(self.client, socket.SHUT_RDWR)
        if self.server is not None:
            _shutdown(self.server, socket.SHUT_RDWR)
        for in_flight in self._in_flight:
            try:
                in_flight.put_nowait((0.0, _WAKE))  # a writer idle in get() sees `done` now, not a poll later
            except queue.Full:
                pass  # a full queue has no idle writer

    def _run(self) -> None:
        try:
            self._serve()
        finally:
            # closed only here, after the pumps exit: closing a socket another thread is
            # still using could hit a reused descriptor
            self.client.close()
            if self.server is not None:
                self.server.close()
            self._proxy._forget(self)

    def _serve(self) -> None:
        try:
            self.server = socket.create_connection(self._proxy.target, timeout=_CONNECT_TIMEOUT)
        except OSError:
            return  # target down: the client sees its connection closed at once
        if self.done.is_set():
            return
        # drawn only for connections that reach the target, so a fixed schedule's faults
        # land on real exchanges rather than on refused attempts while a server restarts
        fault = self._proxy._next_fault()
        pumps = []
        for direction, src, dst, link in (
            ("up", self.client, self.server, self._proxy._up),
            ("down", self.server, self.client, self._proxy._down),
        ):
            # without NODELAY small writes wait ~40 ms for an ACK (Nagle + delayed ACK)
            src.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            src.settimeout(_POLL)
            in_flight: _InFlight = queue.Queue(_IN_FLIGHT)
            self._in_flight.append(in_flight)
            fault_at = fault.at if fault.direction == direction else None
            name = f"link-{self._proxy.port}-{direction}"
            pumps += [
                threading.Thread(target=self._read, args=(src, in_flight, link, fault_at), name=name, daemon=True),
                threading.Thread(target=self._write, args=(dst, in_flight, direction, fault), name=name, daemon=True),
            ]
        for pump in pumps:
            pump.start()
        for pump in pumps:
            pump.join()  # bounded: every pump exits within _POLL of `done`

    def _read(self, src: socket.socket, in_flight: _InFlight, link: LinkDirection, fault_at: int | None) -> None:
        """Read chunks, stamp each with its delivery time, queue them; cut the stream at the fault's offset."""
        read = 0
        while not self.done.is_set():
            try:
                data = src.recv(_CHUNK)
            except TimeoutError:
                continue
            except OSError:
                self.abort()
                return
            if not data:
                self._put(in_flight, (link.deliver_at(0, start=self.sending_from), _EOF))
                return
            if fault_at is not None and read + len(data) > fault_at:
                # the rest stays unread in the kernel, as behind a link that went dead
                head = data[: fault_at - read]
                if head:
                    self._put(in_flight, (link.deliver_at(len(head), start=self.sending_from), head))
                self._put(in_flight, (link.deliver_at(0, start=self.sending_from), _FAULT))
                return
            read += len(data)
            if not self._put(in_flight, (link.deliver_at(len(data), start=self.sending_from), data)):
                return

    def _write(self, dst: socket.socket, in_flight: _InFlight, direction: str, fault: Fault) -> None:
        """Deliver queued chunks when due, in order; then pass on the EOF or strike the fault."""
        while not self.done.is_set():
            try:
                deliver_at, item = in_flight.get(timeout=_POLL)
            except queue.Empty:
                continue
            if self.done.is_set():
                return
            wait = deliver_at - time.monotonic()
            if wait > 0 and self.done.wait(wait):
                return
            if isinstance(item, bytes):
                if not self._send(dst, item, f"bytes_{direction}"):
                    return
            elif item == _EOF:
                _shutdown(dst, socket.SHUT_WR)  # half-close: the other direction may still be talking
                return
            else:
                self._strike(fault)
                return

    def _send(self, dst: socket.socket, data: bytes, counter: str) -> bool:
        """sendall() that gives up when the connection ends; counts what went out."""
        view = memoryview(data)
        while view and not self.done.is_set():
            try:
                sent = dst.send(view)
            except TimeoutError:
                continue
            except OSError:
                self.abort()
                return False
            self._proxy._count(counter, sent)
            view = view[sent:]
        return not view

    def _strike(self, fault: Fault) -> None:
        self._proxy._count("faults_injected")
        # a stall silences this direction only; the other keeps flowing until the close
        if fault.action == "stall" and self.done.wait(fault.stall):
            return
        self.abort(reset=fault.action == "reset")

    def _put(self, in_flight: _InFlight, item: tuple[float, bytes | str]) -> bool:
        """Queue an item, waiting while the queue is full; False if the connection ended meanwhile."""
        while not self.done.is_set():
            try:
                in_flight.put(item, timeout=_POLL)
                return True
            except queue.Full:
                continue
        return False


def _shutdown(sock: socket.socket, how: int) -> None:
    try:
        sock.shutdown(how)
    except OSError:
        pass  # already closed or never connected: nothing left to shut
