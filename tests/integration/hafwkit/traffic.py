"""Simple traffic: a line echo over TCP, a UDP echo and a numbered UDP probe.

The servers and the probe run as helper processes inside a node's namespace
(``python3 -m hafwkit.traffic serve-tcp-echo ...``, started by
``Lab.start_helper``); the TCP client socket lives in the test process so a
test can keep one connection across failovers. Long-lived flows with loss
accounting and bulk connections are in hafwkit.flows.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from .netns import LabError
from .plan import TCP_ECHO_PORT, UDP_ECHO_PORT

if TYPE_CHECKING:
    from .lab import Lab


class TcpEchoClient:
    """One long-lived TCP connection to the lab's echo server.

    ``echo(line)`` sends a line and returns the echoed line, or None when no
    echo arrives within the timeout (the connection is then usually broken,
    but may recover: the kernel keeps retransmitting).
    """

    def __init__(self, sock: socket.socket, peer: tuple[str, int]) -> None:
        self.sock = sock
        self.peer = peer
        self._buf = b""

    def echo(self, line: str, timeout: float = 3.0) -> str | None:
        if "\n" in line:
            raise ValueError("line must not contain a newline")
        try:
            self.sock.settimeout(timeout)
            self.sock.sendall(line.encode() + b"\n")
        except (socket.timeout, OSError):
            return None
        return self.read_line(timeout)

    def read_line(self, timeout: float) -> str | None:
        """Waits at most ``timeout`` seconds for the next full line."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(4096)
            except (socket.timeout, OSError):
                return None
            if not chunk:
                return None
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return line.decode()

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self) -> "TcpEchoClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def tcp_echo_client(lab: "Lab", dst: str, node: str = "client", port: int = TCP_ECHO_PORT,
                    connect_timeout: float = 5.0) -> TcpEchoClient:
    """A TCP connection from ``node`` to ``dst``:port, created in this process."""
    fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
    with lab.in_netns(node):
        sock = socket.socket(fam, socket.SOCK_STREAM)
    try:
        sock.settimeout(connect_timeout)
        sock.connect((dst, port))
    except OSError as e:
        sock.close()
        raise LabError(f"TCP connect {node} -> [{dst}]:{port} failed: {e}") from e
    return TcpEchoClient(sock, (dst, port))


@dataclasses.dataclass
class ProbeResult:
    """Outcome of a UDP probe run: every probe with its send/receive time.

    Times are CLOCK_MONOTONIC seconds in the probing process (same clock as
    time.monotonic() in this process, since it is system wide).
    """

    interval: float
    sent: list[tuple[int, float]]            # (seq, send time)
    received: list[tuple[int, float, float]]  # (seq, send time, reply time)

    @property
    def lost(self) -> int:
        return len(self.sent) - len(self.received)

    def longest_gap(self) -> float:
        """Longest time without a reply, in seconds.

        Measured between consecutive replies (by reply time), and from the
        first probe sent to the first reply and from the last reply to the last
        probe sent, so an outage at either end counts too. With no reply at
        all, it is the whole run.
        """
        if not self.sent:
            return 0.0
        first_sent = self.sent[0][1]
        last_sent = self.sent[-1][1]
        times = sorted(r[2] for r in self.received)
        if not times:
            return last_sent - first_sent
        gaps = [times[0] - first_sent, max(0.0, last_sent - times[-1])]
        gaps.extend(b - a for a, b in zip(times, times[1:]))
        return max(gaps)

    def outages(self, min_gap: float | None = None) -> list[tuple[float, float]]:
        """(start, end) of every stretch of lost probes longer than min_gap.

        Start is the send time of the first lost probe, end the send time of
        the next probe that was answered (or the last probe sent).
        """
        if min_gap is None:
            min_gap = 2.5 * self.interval
        ok = {r[0] for r in self.received}
        out: list[tuple[float, float]] = []
        start: float | None = None
        for seq, t in self.sent:
            if seq not in ok and start is None:
                start = t
            elif seq in ok and start is not None:
                if t - start >= min_gap:
                    out.append((start, t))
                start = None
        if start is not None and self.sent[-1][1] - start >= min_gap:
            out.append((start, self.sent[-1][1]))
        return out


@dataclasses.dataclass(frozen=True)
class ProbeProgress:
    """What a running probe reported last (it reports every 100 ms)."""

    sent: int
    received: int
    last_reply: float | None  # CLOCK_MONOTONIC of the latest reply, None before the first


class UdpProbe:
    """Handle on a running ``udp-probe`` process (client side)."""

    def __init__(self, lab: "Lab", proc: subprocess.Popen, out_path: Path,
                 interval: float) -> None:
        self._lab = lab
        self.proc = proc
        self.out_path = out_path
        self.interval = interval
        self._progress = ProbeProgress(0, 0, None)
        self._buf = b""

    def progress(self) -> ProbeProgress:
        """The latest progress line of the probe (non-blocking)."""
        stream = self.proc.stdout
        if stream is None or stream.closed:
            return self._progress
        fd = stream.fileno()
        os.set_blocking(fd, False)
        while True:
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                break
            if not chunk:
                break
            self._buf += chunk
        *lines, self._buf = self._buf.split(b"\n")
        for line in reversed(lines):
            parts = line.split()
            if len(parts) == 4 and parts[0] == b"progress":
                last = float(parts[3])
                self._progress = ProbeProgress(int(parts[1]), int(parts[2]),
                                               last if last > 0 else None)
                break
        return self._progress

    def silent_for(self) -> float:
        """Seconds since the latest reply (since now if none yet)."""
        p = self.progress()
        return time.monotonic() - p.last_reply if p.last_reply is not None else 0.0

    def stop(self, timeout: float = 10.0) -> ProbeResult:
        """Stops the probe (if still running) and returns what it measured."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._lab.stop(self.proc, signal.SIGKILL)
            raise LabError("udp-probe did not stop on SIGTERM")
        return self.result()

    def wait(self, timeout: float) -> ProbeResult:
        """Waits for a probe started with a duration to finish by itself."""
        self.proc.wait(timeout=timeout)
        return self.result()

    def result(self) -> ProbeResult:
        try:
            data = json.loads(self.out_path.read_text())
        except (OSError, ValueError) as e:
            err = self.proc.stderr.read() if self.proc.stderr else ""
            raise LabError(f"udp-probe wrote no result ({e}): {err}") from e
        finally:
            self.out_path.unlink(missing_ok=True)
        return ProbeResult(interval=data["interval"],
                           sent=[tuple(x) for x in data["sent"]],
                           received=[tuple(x) for x in data["received"]])


# ----------------------------------------------------------------------------
# Helper processes (run inside namespaces).


def _serve_tcp_echo(port: int, max_seconds: float) -> int:
    deadline = time.monotonic() + max_seconds
    srv = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    srv.bind(("::", port))
    srv.listen(64)
    srv.settimeout(0.5)

    def handle(conn: socket.socket) -> None:
        conn.settimeout(1.0)
        with conn:
            while time.monotonic() < deadline:
                try:
                    data = conn.recv(65536)
                except socket.timeout:
                    continue
                except OSError:
                    return
                if not data:
                    return
                try:
                    conn.sendall(data)
                except OSError:
                    return

    print("ready", flush=True)
    while time.monotonic() < deadline:
        try:
            conn, _ = srv.accept()
        except socket.timeout:
            continue
        threading.Thread(target=handle, args=(conn,), daemon=True).start()
    return 0


def _serve_udp_echo(port: int, max_seconds: float) -> int:
    deadline = time.monotonic() + max_seconds
    srv = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    srv.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    srv.bind(("::", port))
    srv.settimeout(0.5)
    print("ready", flush=True)
    while time.monotonic() < deadline:
        try:
            data, peer = srv.recvfrom(2048)
        except socket.timeout:
            continue
        try:
            srv.sendto(data, peer)
        except OSError:
            pass
    return 0


_PROBE = struct.Struct("!Qd")  # sequence number, send time (CLOCK_MONOTONIC)
_PROGRESS_EVERY = 0.1


def _udp_probe(dst: str, port: int, interval_ms: float, duration: float, out: str) -> int:
    interval = max(interval_ms, 1.0) / 1000.0
    fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
    sock = socket.socket(fam, socket.SOCK_DGRAM)
    sock.connect((dst, port))
    sock.setblocking(False)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    sent: list[tuple[int, float]] = []
    received: dict[int, tuple[int, float, float]] = {}
    last_reply = 0.0
    start = time.monotonic()
    end = start + duration
    next_send = start
    next_progress = start
    seq = 0

    def take(data: bytes) -> None:
        nonlocal last_reply
        if len(data) >= _PROBE.size:
            rseq, sent_at = _PROBE.unpack_from(data)
            last_reply = time.monotonic()
            received.setdefault(rseq, (rseq, sent_at, last_reply))

    print("ready", flush=True)
    os.set_blocking(1, False)
    while not stop.is_set():
        now = time.monotonic()
        if now >= end:
            break
        if now >= next_progress:
            # The parent may not read: a line that does not fit is skipped
            # (stdout is non-blocking; pipe writes below PIPE_BUF are atomic).
            try:
                os.write(1, f"progress {len(sent)} {len(received)} {last_reply:.6f}\n".encode())
            except (BrokenPipeError, BlockingIOError):
                pass
            next_progress = now + _PROGRESS_EVERY
        if now >= next_send:
            try:
                sock.send(_PROBE.pack(seq, now))
            except OSError:
                pass  # e.g. no route or neighbour yet: counts as lost
            sent.append((seq, now))
            seq += 1
            # Fixed schedule, no drift; skip missed slots after a stall.
            next_send += interval
            if next_send < now:
                next_send = now + interval
        timeout = max(0.0, min(next_send, end, next_progress) - time.monotonic())
        try:
            ready, _, _ = select.select([sock], [], [], timeout)
        except InterruptedError:
            continue
        if not ready:
            continue
        for _ in range(256):  # drain, bounded
            try:
                take(sock.recv(2048))
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                break  # ICMP errors surface here: a lost probe
    # Late replies to the last probes: wait a little, bounded.
    tail = time.monotonic() + min(0.5, 20 * interval)
    while time.monotonic() < tail:
        ready, _, _ = select.select([sock], [], [], max(0.0, tail - time.monotonic()))
        if not ready:
            break
        try:
            take(sock.recv(2048))
        except OSError:
            continue
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"interval": interval, "sent": sent,
                   "received": sorted(received.values())}, f)
    os.replace(tmp, out)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="hafwkit traffic helpers (run inside a namespace)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("serve-tcp-echo")
    p.add_argument("--port", type=int, default=TCP_ECHO_PORT)
    p.add_argument("--max-seconds", type=float, default=3600)
    p = sub.add_parser("serve-udp-echo")
    p.add_argument("--port", type=int, default=UDP_ECHO_PORT)
    p.add_argument("--max-seconds", type=float, default=3600)
    p = sub.add_parser("udp-probe")
    p.add_argument("--dst", required=True)
    p.add_argument("--port", type=int, default=UDP_ECHO_PORT)
    p.add_argument("--interval-ms", type=float, default=10.0)
    p.add_argument("--duration", type=float, default=60.0)
    p.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    if a.cmd == "serve-tcp-echo":
        return _serve_tcp_echo(a.port, a.max_seconds)
    if a.cmd == "serve-udp-echo":
        return _serve_udp_echo(a.port, a.max_seconds)
    return _udp_probe(a.dst, a.port, a.interval_ms, a.duration, a.out)


if __name__ == "__main__":
    sys.exit(main())
