"""The hafw network-namespace lab (design.md, "The test lab"): namespaces,
links, addresses, the strict ruleset, routes, and every process started in
it, torn down on exit, on failure and on SIGTERM/SIGINT.

    with Lab(firewalls=2) as lab:
        lab.route_via_static("fw1")
        lab.run("client", ["ping", "-c1", "198.51.100.10"])

Options: ``firewalls`` (1..3), ``igmp_snooping``, ``nat`` (None, "snat" to
the WAN VIPs, "masquerade"; with NAT the server has no route to the LAN) and
``ftp_helper`` (conntrack's FTP helper on LAN -> WAN tcp/21). All default
off. The address plan and the ruleset are in hafwkit.plan.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Sequence

from . import build, netns, plan, traffic
from .netns import LabError, list_netns, log
from .plan import IFNAMES, SWITCH

KIT_PARENT = Path(__file__).resolve().parent.parent  # put on PYTHONPATH for helpers
_PREFIX_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,23}$")

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


def valid_prefix(prefix: str) -> bool:
    return bool(_PREFIX_RE.match(prefix))


class Lab:
    """The namespace lab; nodes "client", "server", "fw1".."fwN" and "sw" (the bridges).

    Everything created (namespaces, processes, cleanups registered with
    ``add_cleanup``) is removed by ``teardown()``, which runs on leaving the
    ``with`` block, at exit and on SIGTERM/SIGINT.
    """

    # Static address plan, also reachable as Lab.ip(...) etc.
    ip = staticmethod(plan.ip)
    static_addresses = staticmethod(plan.static_addresses)
    ifname = staticmethod(plan.ifname)

    def __init__(self, prefix: str | None = None, firewalls: int = 2,
                 igmp_snooping: bool = False, nat: str | None = None,
                 ftp_helper: bool = False) -> None:
        global _seq
        if not 1 <= firewalls <= plan.MAX_FIREWALLS:
            raise ValueError(f"firewalls must be 1..{plan.MAX_FIREWALLS}")
        if nat not in plan.NAT_MODES:
            raise ValueError(f"nat must be one of {plan.NAT_MODES}")
        if prefix is None:
            with _live_lock:
                prefix = f"hafw{os.getpid()}-{_seq}-"
                _seq += 1
        if not valid_prefix(prefix):
            raise ValueError(f"bad lab prefix {prefix!r}: want [A-Za-z0-9_.-], at most 24 chars")
        self.prefix = prefix
        self.firewall_count = firewalls
        self.firewalls = [f"fw{i}" for i in range(1, firewalls + 1)]
        self.nodes = ["client", "server", *self.firewalls]
        self.igmp_snooping = igmp_snooping
        self.nat = nat
        self.ftp_helper = ftp_helper
        self._owned_ns: list[str] = []   # namespaces this object created
        self._procs: list[subprocess.Popen] = []
        self._clients: list[traffic.TcpEchoClient] = []
        self._tmpfiles: list[Path] = []  # probe results not collected by the test
        self._cleanups: list[Callable[[], None]] = []
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
    def attach(cls, prefix: str, **options: object) -> "Lab":
        """A handle on a lab built elsewhere (e.g. by ``lab.py up``).

        Its teardown stops only the processes it started and runs its
        cleanups; the namespaces stay (``lab.py down`` removes them). Pass
        the options the lab was built with (nat=..., ftp_helper=...) if a
        caller relies on them; the firewall count is detected.
        """
        existing = set(list_netns())
        missing = [n for n in ("client", "server", "fw1", SWITCH) if prefix + n not in existing]
        if missing:
            raise LabError(f"no lab with prefix {prefix!r} (missing: {', '.join(missing)})")
        count = sum(1 for fw in plan.FIREWALL_NAMES if prefix + fw in existing)
        lab = cls(prefix=prefix, firewalls=count, **options)  # type: ignore[arg-type]
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
        log(f"lab {self.prefix} up ({self.firewall_count} firewalls) "
            f"in {time.monotonic() - t0:.1f}s")

    def detach(self) -> None:
        """Forgets the lab without tearing it down (CLI ``up``)."""
        with _live_lock:
            if self in _live_labs:
                _live_labs.remove(self)
        self._owned_ns = []
        self._procs = []
        self._cleanups = []

    def add_cleanup(self, fn: Callable[[], None]) -> None:
        """Runs ``fn`` at teardown (last added first), before processes stop.

        For changes that must be undone also in an attached lab whose
        namespaces outlive this object (faults, extra rules).
        """
        with self._lock:
            self._cleanups.append(fn)

    def teardown(self) -> None:
        """Runs cleanups, stops every process started here, deletes owned namespaces.

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
                while self._cleanups:
                    fn = self._cleanups.pop()
                    try:
                        fn()
                    except Exception as e:  # one failing cleanup must not skip the rest
                        print(f"[lab] WARNING: cleanup {fn!r} failed: {e}", file=sys.stderr)
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
                    left = netns.delete_namespaces(self._owned_ns)
                    if left:
                        print(f"[lab] WARNING: could not delete namespaces {left}",
                              file=sys.stderr, flush=True)
                    else:
                        log(f"lab {self.prefix} torn down")
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

    def namespaces(self) -> list[str]:
        """Every namespace name of this lab (nodes and switch)."""
        return [self.ns(n) for n in [*self.nodes, SWITCH]]

    def _build(self) -> None:
        build.build(self)

    def sysctl(self, node: str, values: dict[str, object]) -> None:
        args = [f"{k}={v}" for k, v in values.items()]
        self.run(node, ["sysctl", "-q", "-w", *args])

    # -- addresses, links and routes ----------------------------------------

    def legs(self, node: str) -> dict[str, str]:
        """The lab's legs of a node: leg -> interface name (e.g. {"lan": "lan0", ...})."""
        self.ns(node)
        return dict(IFNAMES[node])

    def links(self, node: str) -> list[str]:
        """Every interface in the node's namespace except lo, as it is now
        (the lab's legs plus any a test added)."""
        data = json.loads(self.run(node, ["ip", "-j", "link", "show"]).stdout or "[]")
        return [link["ifname"] for link in data if link["ifname"] != "lo"]

    def addresses(self, node: str, ifname: str, family: int | None = None) -> list[str]:
        """Global addresses configured on an interface, as "addr/len" strings."""
        cmd = ["ip", "-j"] + ([f"-{family}"] if family else []) + ["addr", "show", "dev", ifname]
        data = json.loads(self.run(node, cmd).stdout or "[]")
        return [f"{a['local']}/{a['prefixlen']}" for d in data for a in d.get("addr_info", [])
                if a.get("scope") == "global"]

    def holders(self, address: str, ifname: str, among: Sequence[str] | None = None) -> list[str]:
        """Firewalls that have ``address`` (bare, no length) on ``ifname``: the VIP-holder probe."""
        return [fw for fw in (among or self.firewalls)
                if any(a.split("/")[0] == address for a in self.addresses(fw, ifname))]

    def mac(self, node: str, ifname: str) -> str:
        """The interface's own MAC address (lower case, colon separated)."""
        data = json.loads(self.run(node, ["ip", "-j", "link", "show", "dev", ifname]).stdout)
        return data[0]["address"].lower()

    def _set_routes(self, lan4: str, lan6: str, wan4: str, wan6: str) -> None:
        self.run("client", ["ip", "route", "replace", "default", "via", lan4, "dev", "eth0"])
        self.run("client", ["ip", "-6", "route", "replace", "default", "via", lan6, "dev", "eth0"])
        if self.nat:
            # Masqueraded: the server sees only WAN addresses and needs no
            # route to the LAN (none is left over from an earlier call).
            for fam, net in (("-4", plan.LAN4), ("-6", plan.LAN6)):
                self.run("server", ["ip", fam, "route", "del", str(net)], check=False)
            return
        self.run("server", ["ip", "route", "replace", str(plan.LAN4), "via", wan4, "dev", "eth0"])
        self.run("server", ["ip", "-6", "route", "replace", str(plan.LAN6), "via", wan6,
                            "dev", "eth0"])

    def route_via_vips(self) -> None:
        """Client and server route through the virtual addresses (.1 / ::1)."""
        self._set_routes(plan.LAN_VIP4, plan.LAN_VIP6, plan.WAN_VIP4, plan.WAN_VIP6)

    def route_via_static(self, fw: str) -> None:
        """Client and server route through one firewall's own addresses."""
        if fw not in self.firewalls:
            raise ValueError(f"unknown firewall {fw!r}")
        self._set_routes(plan.ip(fw, "lan", 4), plan.ip(fw, "lan", 6),
                         plan.ip(fw, "wan", 4), plan.ip(fw, "wan", 6))
        # Forget neighbour entries for the old gateway so the switch is immediate.
        for node, dev in (("client", "eth0"), ("server", "eth0")):
            self.run(node, ["ip", "neigh", "flush", "dev", dev], check=False)

    def link_down(self, node: str, ifname: str) -> None:
        self.run(node, ["ip", "link", "set", ifname, "down"])

    def link_up(self, node: str, ifname: str) -> None:
        self.run(node, ["ip", "link", "set", ifname, "up"])

    def links_down(self, node: str, ifnames: Sequence[str]) -> None:
        """Several links down in one `ip -batch` (within well under a millisecond)."""
        self.run(node, ["ip", "-force", "-batch", "-"],
                 input="".join(f"link set {i} down\n" for i in ifnames))

    # -- running things -----------------------------------------------------

    def _wrap(self, node: str, cmd: Sequence[str] | str) -> list[str]:
        argv = ["sh", "-c", cmd] if isinstance(cmd, str) else [str(c) for c in cmd]
        return ["ip", "netns", "exec", self.ns(node), *argv]

    def run(self, node: str, cmd: Sequence[str] | str, check: bool = True,
            timeout: float = netns.DEFAULT_TIMEOUT, input: str | None = None,
            ) -> subprocess.CompletedProcess:
        """Runs a command inside a node and waits (bounded) for it.

        A string runs through ``sh -c``. Output is captured as text. With
        check, a non-zero exit raises LabError carrying stdout/stderr.
        """
        return netns.run_host(self._wrap(node, cmd), timeout=timeout, check=check, input=input)

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
             grace: float = netns.STOP_GRACE) -> int | None:
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
            if sig in (signal.SIGTERM, signal.SIGINT):
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

    def start_helper(self, node: str, module: str, args: Sequence[str],
                     ready_timeout: float = 10.0, ready_word: str = "ready"
                     ) -> subprocess.Popen:
        """Starts ``python3 -m <module> <args>`` (a hafwkit helper) in a node and
        waits for its first stdout line to start with ``ready_word``."""
        env = dict(os.environ, PYTHONPATH=str(KIT_PARENT), PYTHONDONTWRITEBYTECODE="1")
        proc = self.popen(node, [plan.PYTHON, "-m", module, *args], env=env,
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], ready_timeout)
        line = proc.stdout.readline().strip() if ready else ""
        if not line.startswith(ready_word):
            err = ""
            if proc.poll() is not None and proc.stderr is not None:
                err = proc.stderr.read()[-2000:]
            self.stop(proc, signal.SIGKILL)
            raise LabError(f"helper {module} {args[0] if args else ''} in {node} did not "
                           f"start: {line!r} {err}")
        proc.ready_line = line  # type: ignore[attr-defined]
        return proc

    def in_netns(self, node: str) -> netns.InNetns:
        """``with lab.in_netns("client"): s = socket.socket(...)``: sockets
        created inside the block live in that node's namespace."""
        return netns.InNetns(self.ns(node))

    def tmpfile(self, name: str) -> Path:
        """A path in /tmp for this lab, deleted at teardown."""
        path = Path(f"/tmp/{self.prefix}{name}-{os.getpid()}-{time.monotonic_ns()}")
        self._tmpfiles.append(path)
        return path

    # -- probes of the kernel state -------------------------------------------

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
        """Packets counted by the rule carrying ``comment`` (plan.firewall_ruleset)."""
        data = json.loads(self.run(node, ["nft", "-j", "list", "chain", family, table,
                                          chain]).stdout)
        for item in data.get("nftables", []):
            rule = item.get("rule")
            if rule and rule.get("comment") == comment:
                for expr in rule.get("expr", []):
                    if "counter" in expr:
                        return int(expr["counter"]["packets"])
        raise LabError(f"no rule with comment {comment!r} in {family} {table} {chain} on {node}")

    # -- traffic (hafwkit.traffic) ------------------------------------------

    def start_tcp_echo_server(self, node: str = "server", port: int = plan.TCP_ECHO_PORT,
                              max_seconds: float = 3600) -> subprocess.Popen:
        """Starts a dual-stack line echo server (one thread per connection)."""
        return self.start_helper(node, "hafwkit.traffic", [
            "serve-tcp-echo", "--port", str(port), "--max-seconds", str(max_seconds)])

    def tcp_echo_client(self, dst: str, node: str = "client", port: int = plan.TCP_ECHO_PORT,
                        connect_timeout: float = 5.0) -> traffic.TcpEchoClient:
        """Opens a long-lived TCP connection from ``node`` to ``dst``:port.

        The socket lives in this process (created inside the node's namespace),
        so a test can keep it across failovers. Closed at teardown.
        """
        client = traffic.tcp_echo_client(self, dst, node, port, connect_timeout)
        with self._lock:
            self._clients.append(client)
        return client

    def start_udp_echo_server(self, node: str = "server", port: int = plan.UDP_ECHO_PORT,
                              max_seconds: float = 3600) -> subprocess.Popen:
        """Starts a dual-stack UDP echo server (the probe's far end)."""
        return self.start_helper(node, "hafwkit.traffic", [
            "serve-udp-echo", "--port", str(port), "--max-seconds", str(max_seconds)])

    def start_udp_probe(self, dst: str, node: str = "client", port: int = plan.UDP_ECHO_PORT,
                        interval_ms: float = 10.0, duration: float = 60.0) -> traffic.UdpProbe:
        """Sends a numbered UDP packet every ``interval_ms`` to an echo server.

        Runs in its own process until ``duration`` seconds pass or
        ``UdpProbe.stop()``; the result has every probe's send and reply times;
        ``UdpProbe.progress()`` reads its live counts.
        """
        out = self.tmpfile("probe")
        proc = self.start_helper(node, "hafwkit.traffic", [
            "udp-probe", "--dst", dst, "--port", str(port), "--interval-ms", str(interval_ms),
            "--duration", str(duration), "--out", str(out)])
        return traffic.UdpProbe(self, proc, out, interval_ms / 1000.0)

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
                    link["ifname"]: {"state": link.get("operstate"),
                                     "addresses": [f"{a['local']}/{a['prefixlen']}"
                                                   for a in link.get("addr_info", [])
                                                   if a.get("scope") == "global"]}
                    for link in links if link["ifname"] != "lo"}
                entry["routes"] = [
                    r.strip() for fam in ("-4", "-6")
                    for r in self.run(node, ["ip", fam, "route", "show"]).stdout.splitlines()
                    if r.startswith("default") or " via " in r]
            info["nodes"][node] = entry
        info["complete"] = all(e["exists"] for e in info["nodes"].values())
        return info
