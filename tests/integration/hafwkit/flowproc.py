"""The processes behind hafwkit.flows (``python3 -m hafwkit.flowproc ...``),
one per side, each a single epoll loop however many flows it carries:

  serve  TCP and UDP echo for any number of connections / peers;
  run    N TCP + M UDP flows, each sending a numbered 16-byte message every
         interval and expecting its echo; per-flow accounting as JSON;

(bulk connections: hafwkit.bulkproc.)

Every loop is bounded (--duration / --max-seconds) and stops on SIGTERM.
Times are CLOCK_MONOTONIC seconds (the same clock as the test process).
"""

from __future__ import annotations

import argparse
import errno
import heapq
import json
import os
import resource
import select
import signal
import socket
import struct
import sys
import time

MSG = struct.Struct("!IIQ")  # flow id, sequence, send time (ns, CLOCK_MONOTONIC)
TCP_USER_TIMEOUT = getattr(socket, "TCP_USER_TIMEOUT", 18)
MAX_GAPS = 100          # gaps kept per flow in the result
PROGRESS_EVERY = 0.25
stopping = False


def on_signal(*_: object) -> None:
    global stopping
    stopping = True


def setup() -> None:
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _say(line: str) -> None:
    """A line on stdout that never blocks (skipped when the pipe is full)."""
    try:
        os.write(1, (line + "\n").encode())
    except (BlockingIOError, BrokenPipeError):
        pass


def family_of(dst: str) -> int:
    return socket.AF_INET6 if ":" in dst else socket.AF_INET


# --- serve -----------------------------------------------------------------------

def serve(tcp_port: int, udp_port: int, max_seconds: float) -> int:
    setup()
    ep = select.epoll()
    lst = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lst.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    lst.bind(("::", tcp_port))
    lst.listen(4096)
    lst.setblocking(False)
    udp = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    udp.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    udp.bind(("::", udp_port))
    udp.setblocking(False)
    ep.register(lst.fileno(), select.EPOLLIN)
    ep.register(udp.fileno(), select.EPOLLIN)
    conns: dict[int, socket.socket] = {}
    pending: dict[int, bytes] = {}
    deadline = time.monotonic() + max_seconds

    def close(fd: int) -> None:
        s = conns.pop(fd, None)
        pending.pop(fd, None)
        if s is not None:
            ep.unregister(fd)
            s.close()

    def flush(fd: int) -> None:
        data = pending.get(fd, b"")
        try:
            n = conns[fd].send(data)
        except BlockingIOError:
            n = 0
        except OSError:
            close(fd)
            return
        rest = data[n:]
        if rest:
            pending[fd] = rest
            ep.modify(fd, select.EPOLLIN | select.EPOLLOUT)
        elif fd in pending:
            del pending[fd]
            ep.modify(fd, select.EPOLLIN)

    print("ready", flush=True)
    os.set_blocking(1, False)
    while not stopping and time.monotonic() < deadline:
        try:
            events = ep.poll(0.5)
        except InterruptedError:
            continue
        for fd, ev in events:
            if fd == lst.fileno():
                for _ in range(1024):
                    try:
                        c, _ = lst.accept()
                    except (BlockingIOError, InterruptedError):
                        break
                    except OSError:
                        break  # e.g. EMFILE: the peer's connect times out
                    c.setblocking(False)
                    conns[c.fileno()] = c
                    ep.register(c.fileno(), select.EPOLLIN)
            elif fd == udp.fileno():
                for _ in range(1024):
                    try:
                        data, peer = udp.recvfrom(2048)
                    except (BlockingIOError, InterruptedError):
                        break
                    try:
                        udp.sendto(data, peer)
                    except OSError:
                        pass
            elif fd in conns:
                if ev & select.EPOLLIN:
                    try:
                        data = conns[fd].recv(65536)
                    except BlockingIOError:
                        data = None
                    except OSError:
                        close(fd)
                        continue
                    if data == b"":
                        close(fd)
                        continue
                    if data:
                        pending[fd] = pending.get(fd, b"") + data
                        flush(fd)
                elif ev & select.EPOLLOUT:
                    flush(fd)
                if fd in conns and ev & (select.EPOLLERR | select.EPOLLHUP):
                    close(fd)
    return 0


# --- run -------------------------------------------------------------------------

class _Flow:
    __slots__ = ("id", "proto", "sock", "local", "sent", "echoed", "seen", "rxbuf", "txbuf",
                 "first_send", "last_echo", "first_echo", "longest", "longest_start", "gaps",
                 "broken", "broken_at", "errors")

    def __init__(self, fid: int, proto: str, sock: socket.socket) -> None:
        self.id, self.proto, self.sock = fid, proto, sock
        self.local = ""
        self.sent = self.echoed = self.errors = 0
        self.seen = bytearray()
        self.rxbuf = b""
        self.txbuf = b""
        self.first_send = self.last_echo = self.first_echo = None
        self.longest = 0.0
        self.longest_start = None
        self.gaps: list[list[float]] = []
        self.broken: str | None = None
        self.broken_at: float | None = None

    def echo_at(self, now: float, gap_min: float) -> None:
        ref = self.last_echo if self.last_echo is not None else self.first_send
        if ref is not None:
            gap = now - ref
            if gap > self.longest:
                self.longest, self.longest_start = gap, ref
            if gap >= gap_min and len(self.gaps) < MAX_GAPS:
                self.gaps.append([round(ref, 6), round(now, 6)])
        if self.first_echo is None:
            self.first_echo = now
        self.last_echo = now

    def close_gap(self, end: float, gap_min: float) -> None:
        """The silence at the end of the run (or since the break) counts too."""
        ref = self.last_echo if self.last_echo is not None else self.first_send
        if ref is None:
            return
        gap = end - ref
        if gap > self.longest:
            self.longest, self.longest_start = gap, ref
        if gap >= gap_min and len(self.gaps) < MAX_GAPS:
            self.gaps.append([round(ref, 6), round(end, 6)])

    def result(self) -> dict:
        return {"id": self.id, "proto": self.proto, "local": self.local, "sent": self.sent,
                "echoed": self.echoed, "lost": self.sent - self.echoed,
                "longest_gap": round(self.longest, 6), "longest_gap_start": self.longest_start,
                "first_echo": self.first_echo, "last_echo": self.last_echo,
                "broken": self.broken is not None, "broken_reason": self.broken,
                "broken_at": self.broken_at, "errors": self.errors, "gaps": self.gaps}


def connect_all(socks: list[socket.socket], addr: tuple, timeout: float) -> dict[int, str]:
    """Non-blocking connects, all at once; returns errors by index."""
    ep = select.epoll()
    errors: dict[int, str] = {}
    waiting: dict[int, int] = {}
    for i, s in enumerate(socks):
        s.setblocking(False)
        rc = s.connect_ex(addr)
        if rc in (0, errno.EISCONN):
            continue
        if rc != errno.EINPROGRESS:
            errors[i] = f"connect: {os.strerror(rc)}"
            continue
        waiting[s.fileno()] = i
        ep.register(s.fileno(), select.EPOLLOUT)
    deadline = time.monotonic() + timeout
    while waiting and time.monotonic() < deadline:
        for fd, _ in ep.poll(max(0.0, deadline - time.monotonic())):
            i = waiting.pop(fd)
            ep.unregister(fd)
            err = socks[i].getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                errors[i] = f"connect: {os.strerror(err)}"
    for fd, i in waiting.items():
        errors[i] = "connect: timed out"
    ep.close()
    return errors


def run(dst: str, tcp_port: int, udp_port: int, n_tcp: int, n_udp: int, interval_ms: float,
        duration: float, out: str, user_timeout_ms: int, connect_timeout: float) -> int:
    setup()
    interval = interval_ms / 1000.0
    gap_min = max(3 * interval, 0.1)
    fam = family_of(dst)
    flows: list[_Flow] = []
    tcp_socks = [socket.socket(fam, socket.SOCK_STREAM) for _ in range(n_tcp)]
    for s in tcp_socks:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if user_timeout_ms > 0:
            s.setsockopt(socket.IPPROTO_TCP, TCP_USER_TIMEOUT, user_timeout_ms)
    errors = connect_all(tcp_socks, (dst, tcp_port), connect_timeout)
    now = time.monotonic()
    for i, s in enumerate(tcp_socks):
        f = _Flow(i, "tcp", s)
        if i in errors:
            f.broken, f.broken_at = errors[i], now
        else:
            f.local = "%s:%d" % s.getsockname()[:2]
        flows.append(f)
    for j in range(n_udp):
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.connect((dst, udp_port))
        s.setblocking(False)
        f = _Flow(n_tcp + j, "udp", s)
        f.local = "%s:%d" % s.getsockname()[:2]
        flows.append(f)
    ep = select.epoll()
    by_fd = {}
    for f in flows:
        if f.broken is None:
            by_fd[f.sock.fileno()] = f
            ep.register(f.sock.fileno(), select.EPOLLIN | select.EPOLLRDHUP)
    ok_tcp = sum(1 for f in flows if f.proto == "tcp" and f.broken is None)
    print(f"ready {ok_tcp} {n_udp}", flush=True)
    os.set_blocking(1, False)

    def brk(f: _Flow, reason: str, at: float) -> None:
        if f.broken is not None:
            return
        f.broken, f.broken_at = reason, at
        f.close_gap(at, gap_min)
        fd = f.sock.fileno()
        by_fd.pop(fd, None)
        try:
            ep.unregister(fd)
        except (OSError, ValueError):
            pass
        f.sock.close()

    def send(f: _Flow, at: float) -> None:
        msg = MSG.pack(f.id, f.sent, int(at * 1e9))
        if f.first_send is None:
            f.first_send = at
        f.sent += 1
        if f.proto == "udp":
            try:
                f.sock.send(msg)
            except OSError:
                f.errors += 1  # no route/neighbour, ICMP error: a lost message
            return
        f.txbuf += msg
        try:
            n = f.sock.send(f.txbuf)
            f.txbuf = f.txbuf[n:]
        except BlockingIOError:
            pass
        except OSError as e:
            brk(f, reason_of(e), at)

    def receive(f: _Flow, at: float) -> None:
        if f.proto == "udp":
            for _ in range(64):
                try:
                    data = f.sock.recv(2048)
                except BlockingIOError:
                    return
                except OSError:
                    f.errors += 1
                    return
                if len(data) >= MSG.size:
                    _, seq, _ = MSG.unpack_from(data)
                    if seq >= len(f.seen):
                        f.seen.extend(bytes(seq + 1024 - len(f.seen)))
                    if not f.seen[seq]:
                        f.seen[seq] = 1
                        f.echoed += 1
                        f.echo_at(at, gap_min)
            return
        try:
            data = f.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError as e:
            brk(f, reason_of(e), at)
            return
        if not data:
            brk(f, "eof", at)
            return
        buf = f.rxbuf + data
        n = len(buf) // MSG.size
        f.rxbuf = buf[n * MSG.size:]
        if n:
            f.echoed += n
            f.echo_at(at, gap_min)

    start = time.monotonic()
    end = start + duration
    # Phases spread over the interval, so sends do not come in one burst.
    heap = [(start + interval * i / max(1, len(flows)), i) for i in range(len(flows))]
    heapq.heapify(heap)
    next_progress = start
    while not stopping:
        now = time.monotonic()
        if now >= end:
            break
        while heap and heap[0][0] <= now:
            t, i = heapq.heappop(heap)
            f = flows[i]
            if f.broken is None:
                send(f, now)
                nxt = t + interval
                heapq.heappush(heap, (nxt if nxt > now else now + interval, i))
        if now >= next_progress:
            live = [f for f in flows if f.broken is None]
            stalled = sum(1 for f in live if now - (f.last_echo or start) > gap_min)
            _say(f"progress {sum(f.sent for f in flows)} {sum(f.echoed for f in flows)} "
                 f"{len(flows) - len(live)} {stalled}")
            next_progress = now + PROGRESS_EVERY
        wait = max(0.0, min(heap[0][0] if heap else end, end, next_progress) - time.monotonic())
        try:
            events = ep.poll(wait)
        except InterruptedError:
            continue
        at = time.monotonic()
        for fd, ev in events:
            f = by_fd.get(fd)
            if f is None:
                continue
            if ev & select.EPOLLIN:
                receive(f, at)
            if f.broken is None and ev & (select.EPOLLERR | select.EPOLLHUP):
                err = f.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                brk(f, reason_of_errno(err) if err else "hangup", at)
            if f.broken is None and f.txbuf:
                try:
                    n = f.sock.send(f.txbuf)
                    f.txbuf = f.txbuf[n:]
                except BlockingIOError:
                    pass
                except OSError as e:
                    brk(f, reason_of(e), at)
    # Echoes still in flight: wait for them a little (bounded).
    ended = time.monotonic()
    tail = ended + min(1.0, max(0.2, 10 * interval))
    while by_fd and time.monotonic() < tail:
        outstanding = [f for f in flows if f.broken is None and f.echoed < f.sent]
        if not outstanding:
            break
        for fd, ev in ep.poll(max(0.0, tail - time.monotonic())):
            f = by_fd.get(fd)
            if f is not None and ev & select.EPOLLIN:
                receive(f, time.monotonic())
    for f in flows:
        if f.broken is None:
            f.close_gap(ended, gap_min)
            f.sock.close()
    result = {"interval": interval, "started": start, "ended": ended, "dst": dst,
              "flows": [f.result() for f in flows]}
    tmp = out + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(result, fh)
    os.replace(tmp, out)
    return 0


def reason_of_errno(err: int) -> str:
    return {errno.ECONNRESET: "reset", errno.ETIMEDOUT: "timeout", errno.EPIPE: "reset",
            errno.ECONNREFUSED: "refused"}.get(err, f"error: {os.strerror(err)}")


def reason_of(e: OSError) -> str:
    return reason_of_errno(e.errno or 0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("serve")
    p.add_argument("--tcp-port", type=int, required=True)
    p.add_argument("--udp-port", type=int, required=True)
    p.add_argument("--max-seconds", type=float, default=3600)
    p = sub.add_parser("run")
    p.add_argument("--dst", required=True)
    p.add_argument("--tcp-port", type=int, required=True)
    p.add_argument("--udp-port", type=int, required=True)
    p.add_argument("--tcp", type=int, default=50)
    p.add_argument("--udp", type=int, default=50)
    p.add_argument("--interval-ms", type=float, default=20.0)
    p.add_argument("--duration", type=float, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--tcp-user-timeout-ms", type=int, default=10000)
    p.add_argument("--connect-timeout", type=float, default=10.0)
    a = ap.parse_args(argv)
    if a.cmd == "serve":
        return serve(a.tcp_port, a.udp_port, a.max_seconds)
    return run(a.dst, a.tcp_port, a.udp_port, a.tcp, a.udp, a.interval_ms, a.duration,
               a.out, a.tcp_user_timeout_ms, a.connect_timeout)


if __name__ == "__main__":
    sys.exit(main())
