"""Long-lived flows with per-flow loss accounting, and bulk connections,
through the firewalls (the processes are hafwkit.flowproc and hafwkit.bulkproc:
one per side, one epoll loop each).

    flows.start_server(lab)                                  # in "server"
    run = flows.start_flows(lab, "198.51.100.10", tcp=50, udp=50,
                            interval_ms=20, duration=120)
    run.wait_flowing(timeout=10)                             # every flow echoes
    ...                                                      # cause a failover
    report = run.wait(timeout=180)                           # or run.stop()
    assert not report.broken(), report.summary()
    assert report.worst_gap("tcp") < 2.0

    bulk = flows.start_bulk(lab, "198.51.100.10", count=10_000)
    bulk.check(timeout=10).answered                          # how many still work

A flow sends a 16-byte numbered message every interval and expects its echo.
Per flow: sent, echoed, lost (= sent - echoed), longest gap between echoes
(also from the first send and until the end), whether a TCP connection broke
(reset, eof, timeout through TCP_USER_TIMEOUT, ...) and when. A broken
connection is never reconnected: it stays broken in the report.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import time
from typing import TYPE_CHECKING

from . import waits
from .netns import LabError
from .plan import FLOW_TCP_PORT, FLOW_UDP_PORT

if TYPE_CHECKING:
    from .lab import Lab

MODULE = "hafwkit.flowproc"


def start_server(lab: "Lab", node: str = "server", tcp_port: int = FLOW_TCP_PORT,
                 udp_port: int = FLOW_UDP_PORT, max_seconds: float = 3600) -> subprocess.Popen:
    """The echo side for flows and bulk connections (TCP and UDP, dual stack)."""
    return lab.start_helper(node, MODULE, ["serve", "--tcp-port", str(tcp_port),
                                           "--udp-port", str(udp_port),
                                           "--max-seconds", str(max_seconds)])


@dataclasses.dataclass(frozen=True)
class FlowStats:
    id: int
    proto: str                      # "tcp" or "udp"
    local: str                      # "addr:port" of the client socket
    sent: int
    echoed: int
    lost: int
    longest_gap: float              # seconds without an echo
    longest_gap_start: float | None
    first_echo: float | None
    last_echo: float | None
    broken: bool
    broken_reason: str | None       # "reset", "eof", "timeout", "connect: ...", ...
    broken_at: float | None
    errors: int                     # UDP send/receive errors (ICMP unreachable, ...)
    gaps: list[tuple[float, float]]  # (from, to) of silences >= 3 intervals (at most 100)


@dataclasses.dataclass
class FlowReport:
    interval: float
    started: float
    ended: float
    flows: list[FlowStats]

    @property
    def tcp(self) -> list[FlowStats]:
        return [f for f in self.flows if f.proto == "tcp"]

    @property
    def udp(self) -> list[FlowStats]:
        return [f for f in self.flows if f.proto == "udp"]

    def of(self, proto: str | None) -> list[FlowStats]:
        return self.flows if proto is None else [f for f in self.flows if f.proto == proto]

    def broken(self) -> list[FlowStats]:
        return [f for f in self.flows if f.broken]

    def lost(self, proto: str | None = None) -> int:
        return sum(f.lost for f in self.of(proto))

    def sent(self, proto: str | None = None) -> int:
        return sum(f.sent for f in self.of(proto))

    def worst_gap(self, proto: str | None = None) -> float:
        return max((f.longest_gap for f in self.of(proto)), default=0.0)

    def summary(self) -> str:
        parts = []
        for proto in ("tcp", "udp"):
            fl = self.of(proto)
            if fl:
                parts.append(f"{proto}: {len(fl)} flows, sent {self.sent(proto)}, "
                             f"lost {self.lost(proto)}, worst gap "
                             f"{self.worst_gap(proto) * 1000:.0f} ms, broken "
                             f"{sum(1 for f in fl if f.broken)}")
        reasons: dict[str, int] = {}
        for f in self.broken():
            reasons[f.broken_reason or "?"] = reasons.get(f.broken_reason or "?", 0) + 1
        if reasons:
            parts.append(f"broken by reason: {reasons}")
        return "; ".join(parts)

    @classmethod
    def from_json(cls, data: dict) -> "FlowReport":
        return cls(data["interval"], data["started"], data["ended"],
                   [FlowStats(**{**f, "gaps": [tuple(g) for g in f["gaps"]]})
                    for f in data["flows"]])


@dataclasses.dataclass(frozen=True)
class FlowProgress:
    sent: int
    echoed: int
    broken: int
    stalled: int  # live flows without an echo for 3 intervals (at least 100 ms)


class Flows:
    """Handle on a running flow client."""

    def __init__(self, lab: "Lab", proc: subprocess.Popen, out, n_tcp: int, n_udp: int,
                 duration: float) -> None:
        self.lab = lab
        self.proc = proc
        self.out = out
        self.duration = duration
        words = proc.ready_line.split()  # type: ignore[attr-defined]
        self.tcp_connected = int(words[1])
        self.n_tcp, self.n_udp = n_tcp, n_udp
        self._buf = b""
        self._progress = FlowProgress(0, 0, 0, n_tcp + n_udp)

    def progress(self) -> FlowProgress:
        """The latest counts the client reported (every 250 ms; non-blocking)."""
        if self.proc.stdout is None or self.proc.stdout.closed:
            return self._progress
        fd = self.proc.stdout.fileno()
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
            w = line.split()
            if len(w) == 5 and w[0] == b"progress":
                self._progress = FlowProgress(*(int(x) for x in w[1:]))
                break
        return self._progress

    def wait_flowing(self, timeout: float = 10.0) -> FlowProgress:
        """Waits until every live flow has echoed recently (none stalled)."""
        return waits.wait_for_value(
            "every flow to echo", self.progress,
            lambda p: p.echoed > 0 and p.stalled == 0, timeout, interval=0.05)

    def wait(self, timeout: float | None = None) -> FlowReport:
        """Waits for the run to end by itself (its duration) and returns the report."""
        try:
            self.proc.wait(timeout=timeout if timeout is not None else self.duration + 30)
        except subprocess.TimeoutExpired as e:
            self.lab.stop(self.proc, signal.SIGKILL)
            raise LabError("flow client did not finish in time") from e
        return self.report()

    def stop(self, timeout: float = 15.0) -> FlowReport:
        """Ends the run now (SIGTERM: it drains the echoes in flight) and reports."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.wait(timeout)

    def report(self) -> FlowReport:
        try:
            data = json.loads(self.out.read_text())
        except (OSError, ValueError) as e:
            err = self.proc.stderr.read() if self.proc.stderr else ""
            raise LabError(f"flow client wrote no result ({e}): {err}") from e
        return FlowReport.from_json(data)


def start_flows(lab: "Lab", dst: str, *, node: str = "client", tcp: int = 50, udp: int = 50,
                interval_ms: float = 20.0, duration: float = 60.0,
                tcp_port: int = FLOW_TCP_PORT, udp_port: int = FLOW_UDP_PORT,
                tcp_user_timeout_ms: int = 10000, connect_timeout: float = 10.0) -> Flows:
    """Starts ``tcp`` TCP and ``udp`` UDP flows from ``node`` to ``dst`` (the
    server from ``start_server``); returns once every TCP connect finished
    (``Flows.tcp_connected`` of them succeeded) and sending has begun."""
    out = lab.tmpfile("flows")
    proc = lab.start_helper(node, MODULE, [
        "run", "--dst", dst, "--tcp-port", str(tcp_port), "--udp-port", str(udp_port),
        "--tcp", str(tcp), "--udp", str(udp), "--interval-ms", str(interval_ms),
        "--duration", str(duration), "--out", str(out),
        "--tcp-user-timeout-ms", str(tcp_user_timeout_ms),
        "--connect-timeout", str(connect_timeout)], ready_timeout=connect_timeout + 10)
    return Flows(lab, proc, out, tcp, udp, duration)


@dataclasses.dataclass(frozen=True)
class BulkCheck:
    answered: int         # flows that echoed the probe byte
    no_answer: int        # flows without an echo within the timeout
    dead: dict[str, int]  # TCP connections found broken, by reason
    open: int             # connections still open after the check


class Bulk:
    """K idle connections (or UDP flows) held open by one client process."""

    def __init__(self, lab: "Lab", proc: subprocess.Popen, count: int) -> None:
        self.lab = lab
        self.proc = proc
        self.count = count
        words = proc.ready_line.split(maxsplit=4)  # type: ignore[attr-defined]
        self.established = int(words[1])
        self.failed = int(words[2])
        self.seconds = float(words[3])
        self.failures: dict[str, int] = json.loads(words[4]) if len(words) > 4 else {}

    def check(self, timeout: float = 10.0) -> BulkCheck:
        """Sends one byte on every flow and counts the echoes (bounded by timeout)."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f"check {timeout}\n")
        self.proc.stdin.flush()
        import select
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout + 30)
        line = self.proc.stdout.readline() if ready else ""
        if not line:
            raise LabError("bulk client did not answer its check")
        return BulkCheck(**json.loads(line))

    def close(self, timeout: float = 10.0) -> None:
        if self.proc.poll() is None and self.proc.stdin is not None:
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=timeout)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.lab.stop(self.proc)


def start_bulk(lab: "Lab", dst: str, *, count: int = 10_000, proto: str = "tcp",
               node: str = "client", port: int | None = None, parallel: int = 256,
               keepalive: float = 0.0, max_seconds: float = 3600,
               connect_timeout: float = 10.0) -> Bulk:
    """Opens ``count`` long-lived idle TCP connections (or UDP flows, each
    answered once so its entry exists) from ``node`` to ``dst``; returns
    when all are made. ``keepalive`` > 0 sends one byte per flow that often
    (UDP entries expire after 30-120 s idle). At most ~19,000 per process
    (RLIMIT_NOFILE)."""
    if port is None:
        port = FLOW_TCP_PORT if proto == "tcp" else FLOW_UDP_PORT
    t0 = time.monotonic()
    proc = lab.start_helper(node, "hafwkit.bulkproc", [
        "--dst", dst, "--port", str(port), "--count", str(count), "--proto", proto,
        "--parallel", str(parallel), "--max-seconds", str(max_seconds),
        "--keepalive", str(keepalive), "--connect-timeout", str(connect_timeout)],
        ready_timeout=max(30.0, count / 200 + connect_timeout))
    bulk = Bulk(lab, proc, count)
    bulk.wall_seconds = time.monotonic() - t0  # type: ignore[attr-defined]
    return bulk
