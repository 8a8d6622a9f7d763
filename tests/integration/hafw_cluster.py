"""Runs real ha-agent daemons in the namespace lab: the cluster file, secrets,
one agent per firewall namespace, and hactl to ask each one for its status.

Used by the integration tests, the demo (tools/demo.py) and the failover
benchmark (bench/failover). Every agent is a child of this process, started
with lab.popen (stopped by pid at lab teardown); control sockets and state
directories live in a private temp directory, so parallel labs never collide.

    cluster = HafwCluster(lab, paths)            # etc/hafw.toml-like defaults
    cluster.start_all()
    cluster.wait_for_master(vhid=1, node="fw1")
    cluster.status("fw2")["vhosts"][0]["state"]

For timing measurements, ``cluster.capture()`` records CARP advertisements,
neighbour advertisements and ARP on the lab's bridges with tcpdump (in the
switch namespace, so it sees the wire, not what one node believes it sent)
and decodes them into ``CarpAdvert`` / ``NeighborAdvert`` / ``Arp`` records
with kernel capture timestamps (CLOCK_REALTIME, like time.time()).
"""

from __future__ import annotations

import atexit
import dataclasses
import ipaddress
import json
import os
import select
import secrets
import shutil
import signal
import struct
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterable

import lab as labmod

# How often a waiting loop polls; every wait is bounded by its own timeout.
POLL_INTERVAL = 0.02


class ClusterError(RuntimeError):
    pass


@dataclasses.dataclass(frozen=True)
class HafwPaths:
    """Where the built binaries are: a build directory of this repository."""

    build_dir: Path
    source_dir: Path | None = None

    @property
    def ha_agent(self) -> Path:
        return self.build_dir / "haagent" / "ha-agent"

    @property
    def hactl(self) -> Path:
        return self.build_dir / "haagent" / "cli" / "hactl"

    def require(self, binary: Path) -> Path:
        """Returns the binary; a missing one is an error (tests fail, never skip)."""
        if not (binary.is_file() and os.access(binary, os.X_OK)):
            raise ClusterError(f"{binary} is not built; build it first "
                               f"(cmake --build {self.build_dir})")
        return binary


@dataclasses.dataclass
class Vhid:
    """One [[vhid]] table. advskew maps node -> skew; VIPs as "addr/len"."""

    vhid: int
    interface: str
    vips: list[str]
    advskew: dict[str, int]
    advbase: int = 1
    preempt: bool = True
    master_down: str = "classic"
    demote_raises_advskew: bool = False
    vmac: bool = False
    passphrase: str = ""  # empty: a random one, shared by every node
    unicast_peer: dict[str, list[str]] | None = None


def default_vhids(firewalls: Iterable[str], ipv6: bool = True) -> list[Vhid]:
    """The lab's two vhids: LAN (1) and WAN (2), fw1 best, then fw2, fw3."""
    skews = {fw: 100 * i for i, fw in enumerate(firewalls)}
    lan = [f"{labmod.LAN_VIP4}/24"] + ([f"{labmod.LAN_VIP6}/64"] if ipv6 else [])
    wan = [f"{labmod.WAN_VIP4}/24"] + ([f"{labmod.WAN_VIP6}/64"] if ipv6 else [])
    return [Vhid(1, "lan0", lan, dict(skews)), Vhid(2, "wan0", wan, dict(skews))]


def _toml_str(s: str) -> str:
    return json.dumps(s)  # a JSON string is a valid TOML basic string


def _toml_list(items: Iterable[str]) -> str:
    return "[" + ", ".join(_toml_str(i) for i in items) + "]"


class HafwCluster:
    """The cluster file and the agents of one lab."""

    def __init__(self, lab: labmod.Lab, paths, vhids: list[Vhid] | None = None,
                 groups: dict[str, list[str]] | None = None,
                 hooks: dict[str, str] | None = None, log_level: str = "debug") -> None:
        self.lab = lab
        self.paths = paths
        self.firewalls = list(lab.firewalls)
        self.vhids = vhids if vhids is not None else default_vhids(self.firewalls)
        self.groups = groups if groups is not None else {"edge": ["lan0", "wan0"]}
        self.hooks = hooks or {}
        self.log_level = log_level
        self.dir = Path(tempfile.mkdtemp(prefix="hafw-cluster-"))
        os.chmod(self.dir, 0o700)
        # Secrets, logs and sockets go when the process exits (after the lab's
        # teardown stopped the agents); HAFW_KEEP_CLUSTER_DIR=1 keeps them.
        if os.environ.get("HAFW_KEEP_CLUSTER_DIR") != "1":
            atexit.register(shutil.rmtree, self.dir, ignore_errors=True)
        self.procs: dict[str, subprocess.Popen] = {}
        self.logs: dict[str, Path] = {}
        # A node-specific passphrase override (the wrong-passphrase test).
        self.passphrase_override: dict[tuple[str, int], str] = {}
        self._sync_key = secrets.token_hex(32)
        self._passphrases = {v.vhid: (v.passphrase or secrets.token_hex(8)) for v in self.vhids}

    # --- files --------------------------------------------------------------

    def _secret(self, name: str, value: str) -> Path:
        path = self.dir / name
        path.write_text(value + "\n")
        os.chmod(path, 0o600)
        return path

    def config_text(self, node: str | None = None) -> str:
        """The cluster file; `node` applies that node's passphrase overrides."""
        lines = ["# written by tests/integration/hafw_cluster.py", ""]
        for i, fw in enumerate(self.firewalls):
            lines += ["[[node]]", f"name = {_toml_str(fw)}",
                      f"sync_address = {_toml_str(labmod.Lab.ip(fw, 'sync', 4))}", ""]
        if self.groups:
            lines.append("[groups]")
            for name, members in self.groups.items():
                lines.append(f"{name} = {_toml_list(members)}")
            lines.append("")
        for v in self.vhids:
            passphrase = self.passphrase_override.get((node or "", v.vhid),
                                                      self._passphrases[v.vhid])
            suffix = f"-{node}" if (node or "", v.vhid) in self.passphrase_override else ""
            pass_file = self._secret(f"vhid{v.vhid}{suffix}.pass", passphrase)
            skews = ", ".join(f"{n} = {s}" for n, s in v.advskew.items())
            lines += ["[[vhid]]", f"vhid = {v.vhid}", f"interface = {_toml_str(v.interface)}",
                      f"vips = {_toml_list(v.vips)}",
                      f"passphrase_file = {_toml_str(str(pass_file))}",
                      f"advbase = {v.advbase}", f"advskew = {{ {skews} }}",
                      f"preempt = {'true' if v.preempt else 'false'}",
                      f"master_down = {_toml_str(v.master_down)}",
                      f"demote_raises_advskew = {'true' if v.demote_raises_advskew else 'false'}",
                      f"vmac = {'true' if v.vmac else 'false'}"]
            if v.unicast_peer:
                peers = ", ".join(f"{n} = {_toml_list(a)}" for n, a in v.unicast_peer.items())
                lines.append(f"unicast_peer = {{ {peers} }}")
            lines.append("")
        key = self._secret("sync.key", self._sync_key)
        lines += ["[sync]", 'interface = "sync0"', "port = 7788",
                  f"key_file = {_toml_str(str(key))}", ""]
        if self.hooks:
            lines.append("[hooks]")
            for key, value in self.hooks.items():
                lines.append(f"{key} = {_toml_str(value) if isinstance(value, str) else value}")
            lines.append("")
        return "\n".join(lines)

    def config_path(self, node: str) -> Path:
        path = self.dir / f"{node}.toml"
        path.write_text(self.config_text(node))
        return path

    def socket(self, node: str) -> Path:
        return self.dir / f"{node}.sock"

    # --- agents -------------------------------------------------------------

    def check(self, node: str) -> str:
        r = subprocess.run([str(self.paths.ha_agent), "--config", str(self.config_path(node)),
                            "--node", node, "--check"], capture_output=True, text=True,
                           timeout=10)
        if r.returncode != 0:
            raise ClusterError(f"ha-agent --check for {node} failed:\n{r.stderr}")
        return r.stdout

    def start(self, node: str, extra_args: Iterable[str] = ()) -> subprocess.Popen:
        """Starts ha-agent for `node` in its namespace and waits for its socket."""
        if node in self.procs and self.procs[node].poll() is None:
            raise ClusterError(f"ha-agent for {node} is already running")
        sock = self.socket(node)
        state_dir = self.dir / f"{node}-state"
        log = self.dir / f"{node}.log"
        self.logs[node] = log
        cmd = [str(self.paths.require(self.paths.ha_agent)), "--config",
               str(self.config_path(node)), "--node", node, "--control-socket", str(sock),
               "--state-dir", str(state_dir), "--log-level", self.log_level, *extra_args]
        out = open(log, "ab")
        proc = self.lab.popen(node, cmd, stdout=out, stderr=subprocess.STDOUT)
        out.close()
        self.procs[node] = proc
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise ClusterError(f"ha-agent for {node} exited with {proc.returncode}:\n"
                                   + self.log(node))
            if sock.exists() and self._hactl(node, ["status", "--json"], check=False)[0] == 0:
                return proc
            time.sleep(POLL_INTERVAL)
        raise ClusterError(f"ha-agent for {node} did not open {sock} within 10 s:\n"
                           + self.log(node))

    def start_all(self) -> None:
        for fw in self.firewalls:
            self.start(fw)

    def stop(self, node: str, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int:
        """Signals the agent and waits for it to exit; returns its exit status."""
        proc = self.procs[node]
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.lab.stop(proc, signal.SIGKILL)
        return proc.returncode

    def kill_node(self, node: str) -> None:
        """A dead node: every link and the agent fail at the same instant.

        The agent is frozen first (SIGSTOP), so it cannot react to its own
        links going down (a demotion advertised on the surviving link would
        move that vhid early); then the links go down; then kill -9.
        """
        proc = self.procs[node]
        if proc.poll() is None:
            proc.send_signal(signal.SIGSTOP)
        for ifname in ("lan0", "wan0", "sync0"):
            self.lab.link_down(node, ifname)
        self.stop(node, signal.SIGKILL)

    def log(self, node: str) -> str:
        path = self.logs.get(node)
        return path.read_text(errors="replace") if path and path.exists() else ""

    # --- hactl --------------------------------------------------------------

    def _hactl(self, node: str, args: list[str], check: bool = True) -> tuple[int, str, str]:
        r = subprocess.run([str(self.paths.hactl), "--socket", str(self.socket(node)), *args],
                           capture_output=True, text=True, timeout=15)
        if check and r.returncode != 0:
            raise ClusterError(f"hactl {' '.join(args)} on {node} exited {r.returncode}: "
                               f"{r.stderr.strip()}")
        return r.returncode, r.stdout, r.stderr

    def hactl(self, node: str, *args: str, check: bool = True) -> str:
        return self._hactl(node, list(args), check)[1]

    def status(self, node: str) -> dict:
        return json.loads(self.hactl(node, "status", "--json"))

    def state(self, node: str, vhid: int) -> str | None:
        """MASTER/BACKUP/INIT of a vhid on a node; None when its agent is down."""
        if node not in self.procs or self.procs[node].poll() is not None:
            return None
        code, out, _ = self._hactl(node, ["status", "--json"], check=False)
        if code != 0:
            return None
        for v in json.loads(out)["vhosts"]:
            if v["vhid"] == vhid:
                return v["state"]
        raise ClusterError(f"{node} has no vhid {vhid}")

    def masters(self, vhid: int) -> list[str]:
        return [fw for fw in self.firewalls if self.state(fw, vhid) == "MASTER"]

    def wait_until(self, what: str, predicate: Callable[[], bool], timeout: float) -> float:
        """Polls `predicate` until true; returns the seconds it took, fails on timeout."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if predicate():
                return time.monotonic() - start
            time.sleep(POLL_INTERVAL)
        raise ClusterError(f"timed out after {timeout} s waiting for {what}\n" + self.logs_text())

    def wait_for_master(self, vhid: int, node: str, timeout: float = 10.0) -> float:
        return self.wait_until(f"{node} to be the only MASTER of vhid {vhid}",
                               lambda: self.masters(vhid) == [node], timeout)

    def vhost(self, node: str, vhid: int) -> dict:
        """The `hactl status --json` entry of one vhid on a node, counters as ints.

        The proto3 JSON mapping renders uint64 fields (transitions, adverts_*,
        drops) as strings; this converts them so tests can compare numbers.
        """
        for v in self.status(node)["vhosts"]:
            if v["vhid"] == vhid:
                for key in ("transitions", "adverts_sent", "adverts_received"):
                    v[key] = int(v.get(key, 0))
                v["drops"] = {k: int(n) for k, n in v.get("drops", {}).items()}
                return v
        raise ClusterError(f"{node} has no vhid {vhid}")

    def wait_for_state(self, node: str, vhid: int, state: str, timeout: float = 10.0) -> float:
        return self.wait_until(f"vhid {vhid} on {node} to be {state}",
                               lambda: self.state(node, vhid) == state, timeout)

    def mac(self, node: str, ifname: str) -> str:
        """The interface's own MAC address (lower case, colon separated)."""
        data = json.loads(self.lab.run(node, ["ip", "-j", "link", "show", "dev", ifname]).stdout)
        return data[0]["address"].lower()

    def macs(self) -> dict[str, str]:
        """MAC -> firewall for every lan0/wan0, to tell who sent a captured frame."""
        return {self.mac(fw, ifname): fw for fw in self.firewalls for ifname in ("lan0", "wan0")}

    def capture(self, bridges: Iterable[str] = ("brlan", "brwan")) -> "PacketCapture":
        """Starts capturing CARP, NA and ARP on the lab's bridges (returns once live)."""
        cap = PacketCapture(self.lab, self.dir, list(bridges))
        cap.start()
        return cap

    def vip_holders(self, vip: str, ifname: str) -> list[str]:
        """Firewalls that have `vip` (bare address) on `ifname`."""
        return [fw for fw in self.firewalls
                if any(a.split("/")[0] == vip for a in self.lab.addresses(fw, ifname))]

    def logs_text(self) -> str:
        return "".join(f"\n--- {fw} log ---\n{self.log(fw)[-4000:]}" for fw in self.logs)


# --- packet capture ----------------------------------------------------------

# CARP (IP protocol 112) in either family, IPv6 neighbour advertisements, ARP.
CAPTURE_FILTER = ("(ip proto 112) or (ip6 proto 112) or arp "
                  "or (icmp6 and ip6[40] == 136)")


@dataclasses.dataclass(frozen=True)
class CarpAdvert:
    """One CARP advertisement as seen on a bridge."""

    time: float      # capture timestamp, seconds since the epoch
    bridge: str
    src_mac: str
    family: int      # 4 or 6
    src: str
    dst: str
    ttl: int
    vhid: int
    advbase: int
    advskew: int
    demote: int
    counter: int

    @property
    def bow_out(self) -> bool:
        return self.advbase == 255 and self.advskew == 255


@dataclasses.dataclass(frozen=True)
class NeighborAdvert:
    """An ICMPv6 neighbour advertisement (type 136)."""

    time: float
    bridge: str
    src_mac: str
    src: str
    dst: str
    target: str
    router: bool
    solicited: bool
    override: bool
    target_lladdr: str | None


@dataclasses.dataclass(frozen=True)
class Arp:
    time: float
    bridge: str
    src_mac: str
    op: int          # 1 request, 2 reply
    sender_mac: str
    sender_ip: str
    target_ip: str


def _mac(b: bytes) -> str:
    return ":".join(f"{x:02x}" for x in b)


def _ip(b: bytes) -> str:
    return str(ipaddress.ip_address(b))


def parse_pcap(path: Path, bridge: str) -> list:
    """Decodes a classic pcap file (tcpdump -w) into CarpAdvert/NeighborAdvert/Arp.

    A tiny decoder instead of scapy: only the three packet kinds above matter,
    and parsing the bytes ourselves keeps the test independent of how a
    dissector labels CARP (tcpdump and Wireshark call it VRRP by default).
    """
    data = path.read_bytes()
    if len(data) < 24:
        return []
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        raise ClusterError(f"{path}: not a pcap file")
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    (linktype,) = struct.unpack(endian + "I", data[20:24])
    if linktype != 1:
        raise ClusterError(f"{path}: link type {linktype}, expected Ethernet")
    rec = struct.Struct(endian + "IIII")
    out: list = []
    off = 24
    while off + rec.size <= len(data):
        sec, frac, incl, _orig = rec.unpack_from(data, off)
        off += rec.size
        frame = data[off:off + incl]
        off += incl
        t = sec + frac / (1e9 if nano else 1e6)
        pkt = _decode_frame(frame, t, bridge)
        if pkt is not None:
            out.append(pkt)
    return out


def _decode_frame(f: bytes, t: float, bridge: str):
    if len(f) < 14:
        return None
    src_mac = _mac(f[6:12])
    (etype,) = struct.unpack("!H", f[12:14])
    p = f[14:]
    if etype == 0x0806 and len(p) >= 28:
        (op,) = struct.unpack("!H", p[6:8])
        return Arp(t, bridge, src_mac, op, _mac(p[8:14]), _ip(p[14:18]), _ip(p[24:28]))
    if etype == 0x0800 and len(p) >= 20:
        ihl = (p[0] & 0x0F) * 4
        if p[9] != 112 or len(p) < ihl + 16:
            return None
        return _carp(t, bridge, src_mac, 4, _ip(p[12:16]), _ip(p[16:20]), p[8], p[ihl:])
    if etype == 0x86DD and len(p) >= 40:
        nh, hlim, src, dst, body = p[6], p[7], _ip(p[8:24]), _ip(p[24:40]), p[40:]
        if nh == 112 and len(body) >= 16:
            return _carp(t, bridge, src_mac, 6, src, dst, hlim, body)
        if nh == 58 and len(body) >= 24 and body[0] == 136:
            lladdr = None
            opts = body[24:]
            while len(opts) >= 8 and opts[1] > 0:
                if opts[0] == 2:
                    lladdr = _mac(opts[2:8])
                opts = opts[opts[1] * 8:]
            flags = body[4]
            return NeighborAdvert(t, bridge, src_mac, src, dst, _ip(body[8:24]),
                                  bool(flags & 0x80), bool(flags & 0x40), bool(flags & 0x20),
                                  lladdr)
    return None


def _carp(t, bridge, src_mac, family, src, dst, ttl, c: bytes) -> CarpAdvert:
    (counter,) = struct.unpack("!Q", c[8:16])
    return CarpAdvert(t, bridge, src_mac, family, src, dst, ttl, vhid=c[1], advskew=c[2],
                      demote=c[4], advbase=c[5], counter=counter)


class PacketCapture:
    """tcpdump on one or more of the lab's bridges, decoded when stopped.

    Captured in the switch namespace on the bridge device itself, so every
    frame any port sends is seen exactly once with one clock for all nodes.
    """

    def __init__(self, lab: labmod.Lab, directory: Path, bridges: list[str]) -> None:
        self.lab = lab
        self.dir = directory
        self.bridges = bridges
        self._procs: dict[str, subprocess.Popen] = {}
        self._files: dict[str, Path] = {}
        self.packets: list = []

    def start(self, timeout: float = 10.0) -> None:
        for br in self.bridges:
            path = self.dir / f"capture-{br}-{time.monotonic_ns()}.pcap"
            self._files[br] = path
            proc = self.lab.popen(labmod.SWITCH, [
                "tcpdump", "-i", br, "-n", "-U", "--immediate-mode", "-s", "256",
                "-Z", "root", "-w", str(path), CAPTURE_FILTER],
                stderr=subprocess.PIPE)
            self._procs[br] = proc
            # tcpdump says "listening on ..." once the capture is open.
            assert proc.stderr is not None
            ready, _, _ = select.select([proc.stderr], [], [], timeout)
            line = proc.stderr.readline().decode(errors="replace") if ready else ""
            if "listening on" not in line:
                self.lab.stop(proc, signal.SIGKILL)
                raise ClusterError(f"tcpdump on {br} did not start: {line!r}")

    def stop(self) -> "PacketCapture":
        """Stops tcpdump (it flushes on SIGTERM) and decodes what it wrote."""
        for br, proc in self._procs.items():
            self.lab.stop(proc, signal.SIGTERM, grace=5)
        self._procs.clear()
        packets: list = []
        for br, path in self._files.items():
            packets.extend(parse_pcap(path, br))
            path.unlink(missing_ok=True)
        self._files.clear()
        self.packets = sorted(packets, key=lambda p: p.time)
        return self

    def adverts(self, vhid: int | None = None, bridge: str | None = None,
                src_mac: str | None = None, family: int | None = None) -> list[CarpAdvert]:
        return [p for p in self.packets if isinstance(p, CarpAdvert)
                and (vhid is None or p.vhid == vhid) and (bridge is None or p.bridge == bridge)
                and (src_mac is None or p.src_mac == src_mac)
                and (family is None or p.family == family)]

    def neighbor_adverts(self) -> list[NeighborAdvert]:
        return [p for p in self.packets if isinstance(p, NeighborAdvert)]

    def arps(self) -> list[Arp]:
        return [p for p in self.packets if isinstance(p, Arp)]
