#!/usr/bin/env python3
"""The hafw network-namespace lab (design.md, "The test lab").

Builds, inside network namespaces only, a small deployment on one machine:

    client --+                        +-- server
             |  LAN bridge   WAN bridge |
    fw1 lan0-+                        +-wan0 fw1
    fw2 lan0-+                        +-wan0 fw2      sync0 of every firewall
   (fw3 lan0-+                        +-wan0 fw3)     on a third bridge

The three bridges live in their own namespace ``<prefix>sw`` so multicast (CARP
advertisements) is switched like on a real LAN. No link reaches the root
namespace and there is no route out; only documentation addresses are used.

Used by the integration tests (through the ``lab`` pytest fixture), the demo
(tools/demo.py) and the failover benchmarks, so the API is meant to be stable:
see ``Lab``. Also a small CLI for shell scripts::

    /usr/bin/python3 tests/integration/lab.py up --prefix P [--firewalls 3]
    /usr/bin/python3 tests/integration/lab.py status --prefix P
    /usr/bin/python3 tests/integration/lab.py down --prefix P

The ``serve-tcp-echo``, ``serve-udp-echo`` and ``udp-probe`` subcommands are the
helper processes the lab starts inside namespaces.
"""

from __future__ import annotations

import argparse
import atexit
import ctypes
import dataclasses
import ipaddress
import json
import os
import re
import select
import shlex
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Sequence

THIS_FILE = Path(__file__).resolve()
PYTHON = "/usr/bin/python3"  # Debian's python: the helpers need nothing else.

SYNC_PORT = 7788
TCP_ECHO_PORT = 5001
UDP_ECHO_PORT = 5002

# Address plan (documentation ranges only). Host part per node and network.
LAN4 = ipaddress.ip_network("192.0.2.0/24")
LAN6 = ipaddress.ip_network("2001:db8:1::/64")
WAN4 = ipaddress.ip_network("198.51.100.0/24")
WAN6 = ipaddress.ip_network("2001:db8:2::/64")
SYNC4 = ipaddress.ip_network("203.0.113.0/24")
SYNC6 = ipaddress.ip_network("2001:db8:3::/64")
NETWORKS = {"lan": (LAN4, LAN6), "wan": (WAN4, WAN6), "sync": (SYNC4, SYNC6)}

LAN_VIP4 = "192.0.2.1"
LAN_VIP6 = "2001:db8:1::1"
WAN_VIP4 = "198.51.100.1"
WAN_VIP6 = "2001:db8:2::1"

HOST_IDS = {
    "client": {"lan": 10},
    "server": {"wan": 10},
    "fw1": {"lan": 2, "wan": 2, "sync": 1},
    "fw2": {"lan": 3, "wan": 3, "sync": 2},
    "fw3": {"lan": 4, "wan": 4, "sync": 3},
}


def _host(net: ipaddress.IPv4Network | ipaddress.IPv6Network, host_id: int
          ) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """Host .N in IPv4 and ::N in IPv6 with the same digits (.10 and ::10)."""
    if net.version == 6:
        host_id = int(str(host_id), 16)
    return net.network_address + host_id


# Interface name of each leg inside its node.
IFNAMES = {
    "client": {"lan": "eth0"},
    "server": {"wan": "eth0"},
    **{f"fw{i}": {"lan": "lan0", "wan": "wan0", "sync": "sync0"} for i in (1, 2, 3)},
}
BRIDGES = {"lan": "brlan", "wan": "brwan", "sync": "brsync"}
SWITCH = "sw"
ALL_NODES = ("client", "server", "fw1", "fw2", "fw3", SWITCH)

DEFAULT_TIMEOUT = 15.0
STOP_GRACE = 3.0
_PREFIX_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,23}$")
# Default prefixes carry the creating pid so stale labs of dead runs can be found.
_AUTO_PREFIX_RE = re.compile(r"^hafw(\d+)-(\d+)-")

CLONE_NEWNET = 0x40000000

# The firewalls' ruleset: the *user's* table. Strict and stateful: forward
# policy drop, NEW only LAN -> WAN, invalid dropped, and the input chain lets
# through only what an HA pair needs (ND/MLD, ICMP, CARP, the sync port on the
# sync leg). Counters with comments let tests read why packets were dropped.
FIREWALL_RULESET = f"""\
table inet filter {{
    chain input {{
        type filter hook input priority filter; policy drop;
        iif "lo" accept
        # ND and MLD are not tracked by conntrack (they would look invalid).
        icmpv6 type {{ nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit,
                      nd-router-advert, mld-listener-query, mld-listener-report,
                      mld-listener-done, mld2-listener-report }} accept
        ct state established,related accept
        ct state invalid counter drop comment "invalid"
        meta l4proto {{ icmp, ipv6-icmp }} accept
        ip protocol igmp accept
        ip protocol 112 counter accept comment "carp4"
        meta nfproto ipv6 meta l4proto 112 counter accept comment "carp6"
        iifname "sync0" meta l4proto {{ tcp, udp }} th dport {SYNC_PORT} counter accept comment "sync"
        counter comment "input-policy-drop"
    }}
    chain forward {{
        type filter hook forward priority filter; policy drop;
        ct state established,related accept
        ct state invalid counter drop comment "invalid"
        iifname "lan0" oifname "wan0" ct state new counter accept comment "new-lan-to-wan"
        counter comment "forward-policy-drop"
    }}
    chain output {{
        type filter hook output priority filter; policy accept;
    }}
}}
"""


class LabError(RuntimeError):
    """A lab operation failed; the message carries the command and its stderr."""


def _log(msg: str) -> None:
    if os.environ.get("HAFW_LAB_QUIET") != "1":
        print(f"[lab] {msg}", file=sys.stderr, flush=True)


def _run_host(cmd: Sequence[str], timeout: float = DEFAULT_TIMEOUT, check: bool = True,
              input: str | None = None) -> subprocess.CompletedProcess:
    """Runs a command (in the root namespace: only `ip netns` management)."""
    try:
        cp = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout,
                            input=input, stdin=None if input is not None else subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        raise LabError(f"timed out after {timeout}s: {shlex.join(cmd)}") from e
    if check and cp.returncode != 0:
        raise LabError(f"exit {cp.returncode}: {shlex.join(cmd)}\n{cp.stdout}{cp.stderr}".rstrip())
    return cp


def list_netns() -> list[str]:
    """Names of all named network namespaces (`ip netns list`)."""
    out = _run_host(["ip", "-j", "netns", "list"], check=False).stdout.strip()
    if not out:
        return []
    return [entry["name"] for entry in json.loads(out)]


def _netns_pids(ns: str) -> list[int]:
    out = _run_host(["ip", "netns", "pids", ns], check=False).stdout
    return [int(p) for p in out.split() if p.isdigit()]


def _kill_pids_and_wait(pids: list[int], grace: float = STOP_GRACE) -> None:
    """SIGTERM, bounded wait, SIGKILL: for processes left inside our namespaces."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        alive = []
        for pid in pids:
            try:
                os.kill(pid, sig)
                alive.append(pid)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + grace
        while alive and time.monotonic() < deadline:
            alive = [p for p in alive if Path(f"/proc/{p}").exists()
                     and not _is_zombie(p)]
            time.sleep(0.05)
        pids = alive
        if not pids:
            return


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


def delete_namespaces(names: Sequence[str]) -> list[str]:
    """Kills what runs inside the given namespaces, then deletes them.

    Returns the names that could not be deleted (empty on success).
    """
    existing = set(list_netns())
    targets = [n for n in names if n in existing]
    pids: list[int] = []
    for ns in targets:
        pids.extend(_netns_pids(ns))
    pids = [p for p in set(pids) if p != os.getpid()]
    if pids:
        _kill_pids_and_wait(pids)
    for ns in targets:
        _run_host(["ip", "netns", "delete", ns], check=False)
    remaining = set(list_netns())
    return [n for n in targets if n in remaining]


def sweep_stale_labs() -> list[str]:
    """Deletes labs with an automatic prefix whose creating process is dead.

    A run killed with SIGKILL (e.g. a ctest timeout) cannot clean up after
    itself; the next run does it. Labs of live processes are never touched.
    """
    stale = []
    for ns in list_netns():
        m = _AUTO_PREFIX_RE.match(ns)
        if m and not Path(f"/proc/{m.group(1)}").exists():
            stale.append(ns)
    if stale:
        _log(f"removing stale lab namespaces of dead runs: {' '.join(sorted(stale))}")
        delete_namespaces(stale)
    return stale


# ----------------------------------------------------------------------------
# Entering a namespace from this process (for in-process client sockets).

_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


class _InNetns:
    """Moves the calling thread into a namespace; sockets made inside stay there."""

    def __init__(self, ns: str) -> None:
        self._ns = ns
        self._own: int | None = None

    def __enter__(self) -> None:
        self._own = os.open(f"/proc/self/task/{threading.get_native_id()}/ns/net", os.O_RDONLY)
        target = os.open(f"/run/netns/{self._ns}", os.O_RDONLY)
        try:
            _setns(target)
        except BaseException:
            os.close(self._own)
            raise
        finally:
            os.close(target)

    def __exit__(self, *exc: object) -> None:
        assert self._own is not None
        try:
            _setns(self._own)
        finally:
            os.close(self._own)


# ----------------------------------------------------------------------------
# Traffic helpers.


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
            except socket.timeout:
                return None
            except OSError:
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


class UdpProbe:
    """Handle on a running ``udp-probe`` process (client side)."""

    def __init__(self, lab: "Lab", proc: subprocess.Popen, out_path: Path,
                 interval: float) -> None:
        self._lab = lab
        self.proc = proc
        self.out_path = out_path
        self.interval = interval

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
# The lab.

_live_labs: list["Lab"] = []
_live_lock = threading.Lock()
_seq = 0
_handlers_installed = False


def _teardown_all() -> None:
    with _live_lock:
        labs = list(_live_labs)
    for lab in labs:
        lab.teardown()


def _on_sigterm(signum: int, frame: object) -> None:
    # Unwind like Ctrl-C does, so `with Lab()` blocks and fixtures clean up;
    # atexit is the backstop.
    raise SystemExit(128 + signum)


def _install_handlers() -> None:
    global _handlers_installed
    if _handlers_installed:
        return
    _handlers_installed = True
    atexit.register(_teardown_all)
    if threading.current_thread() is threading.main_thread():
        if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
            signal.signal(signal.SIGTERM, _on_sigterm)
        # SIGINT: Python's default raises KeyboardInterrupt, which unwinds the
        # same way; only restore it if something set it to "ignore" or "die".
        if signal.getsignal(signal.SIGINT) in (signal.SIG_DFL, None):
            signal.signal(signal.SIGINT, signal.default_int_handler)


class Lab:
    """The namespace lab. Use as a context manager::

        with Lab(firewalls=2) as lab:
            lab.route_via_static("fw1")
            lab.run("client", ["ping", "-c1", "198.51.100.10"])

    Nodes: "client", "server", "fw1".."fwN", and "sw" (the bridges).
    Everything created (namespaces, processes) is removed by ``teardown()``,
    which runs on leaving the ``with`` block, at exit and on SIGTERM/SIGINT.
    """

    def __init__(self, prefix: str | None = None, firewalls: int = 2,
                 igmp_snooping: bool = False) -> None:
        global _seq
        if firewalls not in (2, 3):
            raise ValueError("firewalls must be 2 or 3")
        if prefix is None:
            with _live_lock:
                prefix = f"hafw{os.getpid()}-{_seq}-"
                _seq += 1
        if not _PREFIX_RE.match(prefix):
            raise ValueError(f"bad lab prefix {prefix!r}: want [A-Za-z0-9_.-], at most 24 chars")
        self.prefix = prefix
        self.firewall_count = firewalls
        self.firewalls = [f"fw{i}" for i in range(1, firewalls + 1)]
        self.nodes = ["client", "server", *self.firewalls]
        self.igmp_snooping = igmp_snooping
        self._owned_ns: list[str] = []   # namespaces this object created
        self._procs: list[subprocess.Popen] = []
        self._clients: list[TcpEchoClient] = []
        self._tmpfiles: list[Path] = []  # probe results not collected by the test
        self._lock = threading.RLock()
        self._up = False
        self._torn_down = False

    # -- life cycle ---------------------------------------------------------

    def __enter__(self) -> "Lab":
        self.up()
        return self

    def __exit__(self, *exc: object) -> None:
        self.teardown()

    @classmethod
    def attach(cls, prefix: str) -> "Lab":
        """A handle on a lab built elsewhere (e.g. by ``lab.py up``).

        Its teardown stops only the processes it started; the namespaces stay
        (``lab.py down`` removes them).
        """
        existing = set(list_netns())
        missing = [n for n in ("client", "server", "fw1", "fw2", SWITCH)
                   if prefix + n not in existing]
        if missing:
            raise LabError(f"no lab with prefix {prefix!r} (missing: {', '.join(missing)})")
        lab = cls(prefix=prefix, firewalls=3 if prefix + "fw3" in existing else 2)
        lab._up = True
        with _live_lock:
            _live_labs.append(lab)
        _install_handlers()
        return lab

    def up(self) -> None:
        """Builds the lab; on any failure removes what it built and re-raises."""
        if self._up:
            return
        if self._torn_down:
            raise LabError("this Lab was torn down; make a new one")
        clash = [n for n in list_netns() if n.startswith(self.prefix)]
        if clash:
            raise LabError(f"namespaces with prefix {self.prefix!r} already exist: {clash}")
        with _live_lock:
            _live_labs.append(self)
        _install_handlers()
        t0 = time.monotonic()
        try:
            self._build()
        except BaseException:
            self.teardown()
            raise
        self._up = True
        _log(f"lab {self.prefix} up ({self.firewall_count} firewalls) "
             f"in {time.monotonic() - t0:.1f}s")

    def detach(self) -> None:
        """Forgets the lab without tearing it down (CLI ``up``)."""
        with _live_lock:
            if self in _live_labs:
                _live_labs.remove(self)
        self._owned_ns = []
        self._procs = []

    def teardown(self) -> None:
        """Stops every process started here and deletes owned namespaces.

        Idempotent; safe on a half-built lab and from atexit. Signals arriving
        meanwhile are held back so a second Ctrl-C cannot leave debris.
        """
        with self._lock:
            if self._torn_down:
                return
            deferred: list[int] = []
            old = {}
            main = threading.current_thread() is threading.main_thread()
            if main:
                for s in (signal.SIGINT, signal.SIGTERM):
                    old[s] = signal.getsignal(s)
                    signal.signal(s, lambda n, f: deferred.append(n))
            try:
                for c in self._clients:
                    c.close()
                self._clients.clear()
                for p in list(self._procs):
                    self.stop(p)
                self._procs.clear()
                for f in self._tmpfiles:
                    f.unlink(missing_ok=True)
                self._tmpfiles.clear()
                if self._owned_ns:
                    left = delete_namespaces(self._owned_ns)
                    if left:
                        print(f"[lab] WARNING: could not delete namespaces {left}",
                              file=sys.stderr, flush=True)
                    else:
                        _log(f"lab {self.prefix} torn down")
                self._owned_ns = []
                self._torn_down = True
                self._up = False
                with _live_lock:
                    if self in _live_labs:
                        _live_labs.remove(self)
            finally:
                if main:
                    for s, h in old.items():
                        signal.signal(s, h)
                    if deferred:
                        os.kill(os.getpid(), deferred[0])

    # -- building -----------------------------------------------------------

    def ns(self, node: str) -> str:
        """The namespace name of a node ("client", "fw1", ..., "sw")."""
        if node not in self.nodes and node != SWITCH:
            raise ValueError(f"unknown lab node {node!r} (have {self.nodes + [SWITCH]})")
        return self.prefix + node

    def _add_ns(self, node: str) -> None:
        name = self.ns(node)
        _run_host(["ip", "netns", "add", name])
        self._owned_ns.append(name)
        self.run(node, ["ip", "link", "set", "lo", "up"])

    def _build(self) -> None:
        self._add_ns(SWITCH)
        # The switch only bridges: no IPv6 (no RS/MLD chatter from the bridges).
        self._sysctl(SWITCH, {"net.ipv6.conf.all.disable_ipv6": 1,
                              "net.ipv6.conf.default.disable_ipv6": 1})
        snoop = "1" if self.igmp_snooping else "0"
        for br in BRIDGES.values():
            self.run(SWITCH, ["ip", "link", "add", br, "type", "bridge",
                              "stp_state", "0", "mcast_snooping", snoop,
                              "mcast_querier", snoop])
            self.run(SWITCH, ["ip", "link", "set", br, "up"])

        for node in self.nodes:
            self._add_ns(node)
            fw = node.startswith("fw")
            # Settings that new interfaces in this namespace inherit: no DAD
            # (addresses usable at once), no autoconfiguration from RAs.
            self._sysctl(node, {
                "net.ipv6.conf.all.accept_dad": 0,
                "net.ipv6.conf.default.accept_dad": 0,
                "net.ipv6.conf.all.accept_ra": 0,
                "net.ipv6.conf.default.accept_ra": 0,
                "net.ipv4.conf.all.rp_filter": 0,
                "net.ipv4.conf.default.rp_filter": 0,
            })
            if fw:
                self._sysctl(node, {
                    "net.ipv4.ip_forward": 1,
                    "net.ipv6.conf.all.forwarding": 1,
                    "net.ipv6.conf.default.forwarding": 1,
                    # A firewall must not tell the client to bypass it.
                    "net.ipv4.conf.all.send_redirects": 0,
                    "net.ipv4.conf.default.send_redirects": 0,
                })
            for leg, ifname in IFNAMES[node].items():
                self._add_leg(node, leg, ifname)
            if fw:
                self.run(node, ["nft", "-f", "-"], input=FIREWALL_RULESET)
                # After the ruleset: conntrack is active in this namespace now.
                self._sysctl(node, {"net.netfilter.nf_conntrack_tcp_loose": 0})
        self.route_via_vips()

    def _add_leg(self, node: str, leg: str, ifname: str) -> None:
        port = f"{node}-{leg}"  # bridge port name in sw, at most 10 chars
        self.run(SWITCH, ["ip", "link", "add", port, "type", "veth",
                          "peer", "name", ifname, "netns", self.ns(node)])
        self.run(SWITCH, ["ip", "link", "set", port, "master", BRIDGES[leg]])
        self.run(SWITCH, ["ip", "link", "set", port, "up"])
        self._sysctl(node, {f"net.ipv6.conf.{ifname}.accept_dad": 0})
        for addr in self.static_addresses(node, leg):
            self.run(node, ["ip", "addr", "add", addr, "dev", ifname])
        self.run(node, ["ip", "link", "set", ifname, "up"])

    def _sysctl(self, node: str, values: dict[str, object]) -> None:
        args = [f"{k}={v}" for k, v in values.items()]
        self.run(node, ["sysctl", "-q", "-w", *args])

    # -- addresses and routes -----------------------------------------------

    @staticmethod
    def ip(node: str, leg: str, family: int = 4) -> str:
        """A node's static address on a leg ("lan", "wan", "sync"), no prefix length."""
        return str(_host(NETWORKS[leg][0 if family == 4 else 1], HOST_IDS[node][leg]))

    @staticmethod
    def static_addresses(node: str, leg: str) -> list[str]:
        """The node's addresses on a leg with prefix length, IPv4 then IPv6."""
        out = []
        for net in NETWORKS[leg]:
            out.append(f"{_host(net, HOST_IDS[node][leg])}/{net.prefixlen}")
        return out

    @staticmethod
    def ifname(node: str, leg: str) -> str:
        """Interface name of a node's leg: client/server "eth0", firewalls lan0/wan0/sync0."""
        return IFNAMES[node][leg]

    def addresses(self, node: str, ifname: str, family: int | None = None) -> list[str]:
        """Global addresses configured on an interface, as "addr/len" strings."""
        cmd = ["ip", "-j"] + ([f"-{family}"] if family else []) + ["addr", "show", "dev", ifname]
        data = json.loads(self.run(node, cmd).stdout or "[]")
        return [f"{a['local']}/{a['prefixlen']}" for d in data for a in d.get("addr_info", [])
                if a.get("scope") == "global"]

    def _set_routes(self, lan4: str, lan6: str, wan4: str, wan6: str) -> None:
        self.run("client", ["ip", "route", "replace", "default", "via", lan4, "dev", "eth0"])
        self.run("client", ["ip", "-6", "route", "replace", "default", "via", lan6, "dev", "eth0"])
        self.run("server", ["ip", "route", "replace", str(LAN4), "via", wan4, "dev", "eth0"])
        self.run("server", ["ip", "-6", "route", "replace", str(LAN6), "via", wan6, "dev", "eth0"])

    def route_via_vips(self) -> None:
        """Client and server route through the virtual addresses (.1 / ::1)."""
        self._set_routes(LAN_VIP4, LAN_VIP6, WAN_VIP4, WAN_VIP6)

    def route_via_static(self, fw: str) -> None:
        """Client and server route through one firewall's own addresses."""
        if fw not in self.firewalls:
            raise ValueError(f"unknown firewall {fw!r}")
        self._set_routes(self.ip(fw, "lan", 4), self.ip(fw, "lan", 6),
                         self.ip(fw, "wan", 4), self.ip(fw, "wan", 6))
        # Forget neighbour entries for the old gateway so the switch is immediate.
        for node, dev in (("client", "eth0"), ("server", "eth0")):
            self.run(node, ["ip", "neigh", "flush", "dev", dev], check=False)

    # -- running things -----------------------------------------------------

    def _wrap(self, node: str, cmd: Sequence[str] | str) -> list[str]:
        argv = ["sh", "-c", cmd] if isinstance(cmd, str) else [str(c) for c in cmd]
        return ["ip", "netns", "exec", self.ns(node), *argv]

    def run(self, node: str, cmd: Sequence[str] | str, check: bool = True,
            timeout: float = DEFAULT_TIMEOUT, input: str | None = None,
            ) -> subprocess.CompletedProcess:
        """Runs a command inside a node and waits (bounded) for it.

        A string runs through ``sh -c``. Output is captured as text. With
        check, a non-zero exit raises LabError carrying stdout/stderr.
        """
        return _run_host(self._wrap(node, cmd), timeout=timeout, check=check, input=input)

    def popen(self, node: str, cmd: Sequence[str] | str, **kwargs: object) -> subprocess.Popen:
        """Starts a long-running process inside a node; stopped at teardown.

        kwargs go to subprocess.Popen (stdout/stderr default to DEVNULL).
        The process gets its own session so stopping it stops its children.
        """
        if self._torn_down:
            raise LabError("lab is torn down")
        kwargs.setdefault("stdin", subprocess.DEVNULL)
        kwargs.setdefault("stdout", subprocess.DEVNULL)
        kwargs.setdefault("stderr", subprocess.DEVNULL)
        kwargs["start_new_session"] = True
        proc = subprocess.Popen(self._wrap(node, cmd), **kwargs)  # type: ignore[call-overload]
        with self._lock:
            self._procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen, sig: int = signal.SIGTERM,
             grace: float = STOP_GRACE) -> int | None:
        """Signals a process started with popen (its whole session).

        SIGTERM (or ``sig``), then SIGKILL if it has not exited within
        ``grace`` seconds. Returns its exit status. With SIGSTOP/SIGCONT or
        other non-fatal signals it only sends the signal (returns None).
        """
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                pass
            if sig in (signal.SIGSTOP, signal.SIGCONT, signal.SIGHUP, signal.SIGUSR1,
                       signal.SIGUSR2):
                return None
            if sig == signal.SIGTERM or sig == signal.SIGINT:
                try:
                    os.killpg(proc.pid, signal.SIGCONT)  # a stopped process can't exit
                except ProcessLookupError:
                    pass
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(timeout=grace)
        # The session leader is gone; stragglers in the group get SIGKILL.
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        for stream in (proc.stdout, proc.stderr, proc.stdin):
            if stream:
                stream.close()
        with self._lock:
            if proc in self._procs:
                self._procs.remove(proc)
        return proc.returncode

    def in_netns(self, node: str) -> _InNetns:
        """``with lab.in_netns("client"): s = socket.socket(...)``: sockets
        created inside the block live in that node's namespace."""
        return _InNetns(self.ns(node))

    def link_down(self, node: str, ifname: str) -> None:
        self.run(node, ["ip", "link", "set", ifname, "down"])

    def link_up(self, node: str, ifname: str) -> None:
        self.run(node, ["ip", "link", "set", ifname, "up"])

    def ping(self, src: str, dst: str, count: int = 1, timeout: float = 2.0) -> bool:
        """True when ``count`` echo requests from node ``src`` to address ``dst`` all get replies."""
        cp = self.run(src, ["ping", "-n", "-q", "-c", str(count), "-i", "0.2",
                            "-W", str(timeout), dst],
                      check=False, timeout=timeout * count + 5)
        return cp.returncode == 0

    def conntrack_count(self, node: str) -> int:
        """Entries in a node's conntrack table."""
        cp = self.run(node, ["conntrack", "-C"], check=False)
        return int(cp.stdout.strip() or 0) if cp.returncode == 0 else 0

    def rule_counter(self, node: str, chain: str, comment: str,
                     table: str = "filter", family: str = "inet") -> int:
        """Packets counted by the rule carrying ``comment`` (FIREWALL_RULESET)."""
        data = json.loads(self.run(node, ["nft", "-j", "list", "chain", family, table, chain]).stdout)
        for item in data.get("nftables", []):
            rule = item.get("rule")
            if rule and rule.get("comment") == comment:
                for expr in rule.get("expr", []):
                    if "counter" in expr:
                        return int(expr["counter"]["packets"])
        raise LabError(f"no rule with comment {comment!r} in {family} {table} {chain} on {node}")

    # -- traffic helpers ----------------------------------------------------

    def _start_helper(self, node: str, args: list[str], ready_timeout: float = 10.0
                      ) -> subprocess.Popen:
        proc = self.popen(node, [PYTHON, str(THIS_FILE), *args],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], ready_timeout)
        line = proc.stdout.readline().strip() if ready else ""
        if line != "ready":
            self.stop(proc, signal.SIGKILL)
            raise LabError(f"helper {args[0]} in {node} did not start: {line!r}")
        return proc

    def start_tcp_echo_server(self, node: str = "server", port: int = TCP_ECHO_PORT,
                              max_seconds: float = 3600) -> subprocess.Popen:
        """Starts a dual-stack line echo server (one thread per connection)."""
        return self._start_helper(node, ["serve-tcp-echo", "--port", str(port),
                                         "--max-seconds", str(max_seconds)])

    def tcp_echo_client(self, dst: str, node: str = "client", port: int = TCP_ECHO_PORT,
                        connect_timeout: float = 5.0) -> TcpEchoClient:
        """Opens a long-lived TCP connection from ``node`` to ``dst``:port.

        The socket lives in this process (created inside the node's namespace),
        so a test can keep it across failovers. Closed at teardown.
        """
        fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
        with self.in_netns(node):
            sock = socket.socket(fam, socket.SOCK_STREAM)
        try:
            sock.settimeout(connect_timeout)
            sock.connect((dst, port))
        except OSError as e:
            sock.close()
            raise LabError(f"TCP connect {node} -> [{dst}]:{port} failed: {e}") from e
        client = TcpEchoClient(sock, (dst, port))
        with self._lock:
            self._clients.append(client)
        return client

    def start_udp_echo_server(self, node: str = "server", port: int = UDP_ECHO_PORT,
                              max_seconds: float = 3600) -> subprocess.Popen:
        """Starts a dual-stack UDP echo server (the probe's far end)."""
        return self._start_helper(node, ["serve-udp-echo", "--port", str(port),
                                         "--max-seconds", str(max_seconds)])

    def start_udp_probe(self, dst: str, node: str = "client", port: int = UDP_ECHO_PORT,
                        interval_ms: float = 10.0, duration: float = 60.0) -> UdpProbe:
        """Sends a numbered UDP packet every ``interval_ms`` to an echo server.

        Runs in its own process until ``duration`` seconds pass or
        ``UdpProbe.stop()``; the result has every probe's send and reply times,
        so benchmarks can compute the longest outage.
        """
        out = Path(f"/tmp/{self.prefix}probe-{os.getpid()}-{time.monotonic_ns()}.json")
        proc = self._start_helper(node, ["udp-probe", "--dst", dst, "--port", str(port),
                                         "--interval-ms", str(interval_ms),
                                         "--duration", str(duration), "--out", str(out)])
        self._tmpfiles.append(out)
        return UdpProbe(self, proc, out, interval_ms / 1000.0)

    # -- status -------------------------------------------------------------

    def status(self) -> dict:
        """Namespaces, interfaces, addresses and routes, for humans and scripts."""
        existing = set(list_netns())
        info: dict = {"prefix": self.prefix, "firewalls": self.firewall_count, "nodes": {}}
        for node in [*self.nodes, SWITCH]:
            name = self.ns(node)
            entry: dict = {"namespace": name, "exists": name in existing}
            if entry["exists"] and node != SWITCH:
                links = json.loads(self.run(node, ["ip", "-j", "addr", "show"]).stdout or "[]")
                entry["interfaces"] = {
                    l["ifname"]: {"state": l.get("operstate"),
                                  "addresses": [f"{a['local']}/{a['prefixlen']}"
                                                for a in l.get("addr_info", [])
                                                if a.get("scope") == "global"]}
                    for l in links if l["ifname"] != "lo"}
                entry["routes"] = [
                    r.strip() for fam in ("-4", "-6")
                    for r in self.run(node, ["ip", fam, "route", "show"]).stdout.splitlines()
                    if r.startswith("default") or " via " in r]
            info["nodes"][node] = entry
        info["complete"] = all(e["exists"] for e in info["nodes"].values())
        return info


# ----------------------------------------------------------------------------
# Helper processes (run inside namespaces by the Lab).


def _bounded_deadline(max_seconds: float) -> float:
    return time.monotonic() + max_seconds


def _serve_tcp_echo(port: int, max_seconds: float) -> int:
    deadline = _bounded_deadline(max_seconds)
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
    deadline = _bounded_deadline(max_seconds)
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
    start = time.monotonic()
    end = start + duration
    next_send = start
    seq = 0
    print("ready", flush=True)
    while not stop.is_set():
        now = time.monotonic()
        if now >= end:
            break
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
        timeout = max(0.0, min(next_send, end) - time.monotonic())
        try:
            ready, _, _ = select.select([sock], [], [], timeout)
        except InterruptedError:
            continue
        if not ready:
            continue
        for _ in range(256):  # drain, bounded
            try:
                data = sock.recv(2048)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                break  # ICMP errors surface here: a lost probe
            if len(data) >= _PROBE.size:
                rseq, sent_at = _PROBE.unpack_from(data)
                received.setdefault(rseq, (rseq, sent_at, time.monotonic()))
    # Late replies to the last probes: wait a little, bounded.
    tail = time.monotonic() + min(0.5, 20 * interval)
    while time.monotonic() < tail:
        ready, _, _ = select.select([sock], [], [], max(0.0, tail - time.monotonic()))
        if not ready:
            break
        try:
            data = sock.recv(2048)
        except OSError:
            continue
        if len(data) >= _PROBE.size:
            rseq, sent_at = _PROBE.unpack_from(data)
            received.setdefault(rseq, (rseq, sent_at, time.monotonic()))
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"interval": interval, "sent": sent,
                   "received": sorted(received.values())}, f)
    os.replace(tmp, out)
    return 0


# ----------------------------------------------------------------------------
# CLI.


def _cli_down(prefix: str) -> int:
    names = [prefix + n for n in ALL_NODES]
    left = delete_namespaces(names)
    if left:
        print(f"lab down: could not delete {left}", file=sys.stderr)
        return 1
    print(f"lab {prefix}: down")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("up", help="build a lab and leave it running")
    p.add_argument("--prefix", required=True)
    p.add_argument("--firewalls", type=int, choices=(2, 3), default=2)
    p.add_argument("--igmp-snooping", action="store_true")
    p.add_argument("--route-via", metavar="FW",
                   help="route client/server via this firewall's static addresses")
    for name in ("down", "status"):
        p = sub.add_parser(name)
        p.add_argument("--prefix", required=True)
        if name == "status":
            p.add_argument("--json", action="store_true")
    sub.add_parser("sweep", help="delete labs left behind by dead test runs")
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
    if a.cmd == "udp-probe":
        return _udp_probe(a.dst, a.port, a.interval_ms, a.duration, a.out)
    if a.cmd == "sweep":
        sweep_stale_labs()
        return 0
    if not _PREFIX_RE.match(a.prefix):
        ap.error(f"bad prefix {a.prefix!r}")
    if a.cmd == "up":
        lab = Lab(prefix=a.prefix, firewalls=a.firewalls, igmp_snooping=a.igmp_snooping)
        lab.up()
        if a.route_via:
            lab.route_via_static(a.route_via)
        lab.detach()
        print(f"lab {a.prefix}: up; namespaces: "
              + " ".join(lab.ns(n) for n in [*lab.nodes, SWITCH]))
        return 0
    if a.cmd == "down":
        return _cli_down(a.prefix)
    if a.cmd == "status":
        existing = set(list_netns())
        if a.prefix + "fw1" not in existing:
            print(f"lab {a.prefix}: not present")
            return 1
        lab = Lab(prefix=a.prefix, firewalls=3 if a.prefix + "fw3" in existing else 2)
        info = lab.status()
        if a.json:
            print(json.dumps(info, indent=2))
        else:
            print(f"lab {a.prefix}: {'complete' if info['complete'] else 'INCOMPLETE'}, "
                  f"{info['firewalls']} firewalls")
            for node, e in info["nodes"].items():
                print(f"  {node:7} {e['namespace']}{'' if e['exists'] else '  (missing)'}")
                for ifn, i in e.get("interfaces", {}).items():
                    print(f"          {ifn:6} {i['state']:5} {' '.join(i['addresses'])}")
                for r in e.get("routes", []):
                    print(f"          route {r}")
        return 0 if info["complete"] else 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
