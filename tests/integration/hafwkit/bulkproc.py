"""The process behind hafwkit.flows.start_bulk (``python3 -m hafwkit.bulkproc``):
K idle TCP connections (or UDP flows) opened quickly from one process, held
open, and probed once each by every ``check TIMEOUT`` line on stdin (one JSON
line answers); ``quit`` or EOF ends it, as do SIGTERM and --max-seconds.
"""

from __future__ import annotations

import argparse
import json
import select
import socket
import sys
import time

from . import flowproc
from .flowproc import connect_all, family_of, reason_of, setup


def bulk(dst: str, port: int, count: int, proto: str, parallel: int, max_seconds: float,
         keepalive: float, connect_timeout: float) -> int:
    setup()
    deadline = time.monotonic() + max_seconds
    fam = family_of(dst)
    t0 = time.monotonic()
    socks: list[socket.socket | None] = []
    failed: dict[str, int] = {}
    if proto == "tcp":
        for first in range(0, count, parallel):
            batch = [socket.socket(fam, socket.SOCK_STREAM)
                     for _ in range(min(parallel, count - first))]
            errs = connect_all(batch, (dst, port), connect_timeout)
            for i, s in enumerate(batch):
                if i in errs:
                    failed[errs[i]] = failed.get(errs[i], 0) + 1
                    s.close()
                    socks.append(None)
                else:
                    socks.append(s)
    else:
        for _ in range(count):
            s = socket.socket(fam, socket.SOCK_DGRAM)
            s.connect((dst, port))
            s.setblocking(False)
            socks.append(s)
        _probe_all(socks, proto, connect_timeout)  # one exchange creates every entry
    ok = sum(1 for s in socks if s is not None)
    print(f"ready {ok} {count - ok} {time.monotonic() - t0:.3f} {json.dumps(failed)}",
          flush=True)
    next_keepalive = time.monotonic() + keepalive if keepalive > 0 else None
    while not flowproc.stopping and time.monotonic() < deadline:
        r, _, _ = select.select([sys.stdin], [], [], 0.5)
        now = time.monotonic()
        if next_keepalive is not None and now >= next_keepalive:
            for s in socks:
                if s is not None:
                    try:
                        s.send(b"k")
                    except OSError:
                        pass
            next_keepalive = now + keepalive
        if not r:
            continue
        line = sys.stdin.readline()
        if not line or line.strip() == "quit":
            break
        words = line.split()
        if words[0] == "check":
            timeout = float(words[1]) if len(words) > 1 else 5.0
            print(json.dumps(_probe_all(socks, proto, timeout)), flush=True)
    for s in socks:
        if s is not None:
            s.close()
    return 0


def _probe_all(socks: list, proto: str, timeout: float) -> dict:
    """Sends one byte on every flow and waits (bounded) for every echo."""
    ep = select.epoll()
    waiting: dict[int, int] = {}
    dead: dict[str, int] = {}
    idx_ok = 0
    for i, s in enumerate(socks):
        if s is None:
            continue
        # Whatever an earlier check left unread (late echoes, keepalive replies).
        try:
            while s.recv(65536):
                pass
        except BlockingIOError:
            pass
        except OSError as e:
            if proto == "tcp":
                dead[reason_of(e)] = dead.get(reason_of(e), 0) + 1
                socks[i] = None
                s.close()
                continue
        try:
            s.send(b"p")
        except OSError as e:
            if proto == "tcp":
                dead[reason_of(e)] = dead.get(reason_of(e), 0) + 1
                socks[i] = None
                s.close()
                continue
        waiting[s.fileno()] = i
        ep.register(s.fileno(), select.EPOLLIN)
    deadline = time.monotonic() + timeout
    while waiting and time.monotonic() < deadline:
        for fd, _ in ep.poll(max(0.0, deadline - time.monotonic())):
            i = waiting.pop(fd)
            ep.unregister(fd)
            s = socks[i]
            try:
                data = s.recv(65536)
            except OSError as e:
                data = None
                if proto == "tcp":
                    dead[reason_of(e)] = dead.get(reason_of(e), 0) + 1
                    socks[i] = None
                    s.close()
                continue
            if data:
                idx_ok += 1
            elif proto == "tcp":
                dead["eof"] = dead.get("eof", 0) + 1
                socks[i] = None
                s.close()
    ep.close()
    return {"answered": idx_ok, "no_answer": len(waiting), "dead": dead,
            "open": sum(1 for s in socks if s is not None)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dst", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--proto", choices=("tcp", "udp"), default="tcp")
    ap.add_argument("--parallel", type=int, default=256)
    ap.add_argument("--max-seconds", type=float, default=3600)
    ap.add_argument("--keepalive", type=float, default=0.0)
    ap.add_argument("--connect-timeout", type=float, default=10.0)
    a = ap.parse_args(argv)
    return bulk(a.dst, a.port, a.count, a.proto, a.parallel, a.max_seconds, a.keepalive,
                a.connect_timeout)


if __name__ == "__main__":
    sys.exit(main())
