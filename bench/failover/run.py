#!/usr/bin/python3
"""Failover benchmark: ha-agent vs keepalived (VRRPv3) vs ucarp in the netns lab.

In one lab and one run, for every contender and setting, measures the outage
that a 1 ms UDP probe from the client to the server sees (client -> LAN VIP ->
firewall -> server, replies back through the WAN VIP; each contender must move
BOTH VIPs) when the master firewall fw1

  * dies:    its lan0/wan0/sync0 links go down and its daemon gets SIGKILL at
             the same instant ("kill"), or
  * stops:   its daemon gets SIGTERM ("term"; ha-agent sends a CARP bow-out,
             keepalived a priority-0 advertisement, ucarp nothing).

The failure is triggered right after fw1's LAN advertisement is seen on the
wire, so every run starts from the same phase (the worst case for the LAN
side: the backup waits its full master-down interval there).

Outage = the longest gap between consecutive echo replies around the failure
(lab.ProbeResult times); lost = probes without a reply. Each run also captures
CARP/VRRP and ARP on both bridges to break the outage down (old master's last
advertisement, the new master's first advertisement and first gratuitous ARP).

Rounds are interleaved (round 1 of every case, then round 2, ...) so slow
changes in machine load spread over all contenders. Between runs the lab is
restored: stale VIPs removed from fw1 (as if it rebooted), links up, its daemon
restarted, fw1 holding both VIPs again (preemption), then a settle time.

Run as root from the repository (builds nothing itself):

    /usr/bin/python3 bench/failover/run.py --build-dir build-i --runs 5

It stops by itself (every wait is bounded, plus --max-minutes), tears the lab
down also on failure and leaves no namespace behind. Results: a JSON file and a
Markdown table in --out-dir, and the timeline plot (--plot).
"""

from __future__ import annotations

import argparse
import ctypes
import dataclasses
import json
import os
import random
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path


HERE = Path(__file__).resolve().parent
SOURCE_DIR = HERE.parents[1]
sys.path.insert(0, str(SOURCE_DIR / "tests" / "integration"))

from hafwkit import load, netns, plan, waits  # noqa: E402
from hafwkit.agents import HafwCluster  # noqa: E402
from hafwkit.lab import Lab  # noqa: E402
from hafwkit.netns import LabError  # noqa: E402
from hafwkit.paths import HafwPaths, MissingBinary  # noqa: E402
from hafwkit.pcap import Arp, CarpAdvert, Capture, VrrpAdvert  # noqa: E402
from hafwkit.peers import Keepalived, Ucarp, VrrpInstance  # noqa: E402
from hafwkit.spec import Vhid  # noqa: E402
from hafwkit.traffic import ProbeResult  # noqa: E402

SERVER = plan.ip("server", "wan", 4)
LAN_VIP = plan.LAN_VIP4
WAN_VIP = plan.WAN_VIP4
VIPS = {"lan0": LAN_VIP, "wan0": WAN_VIP}
PREFIXLEN = 24

PROBE_INTERVAL_MS = 1.0
PRE_WINDOW = 0.5        # seconds of probing before the failure
SETTLE = 1.0            # after restore, before the next run (ARP caches)
READY_TIMEOUT = 20.0    # daemon start to "fw1 holds both VIPs"


class BenchError(RuntimeError):
    pass


def log(msg: str) -> None:
    print(f"[failover {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------
# Settings of the contenders (documented in docs/benchmarks.md).

@dataclasses.dataclass(frozen=True)
class Setting:
    contender: str        # ha-agent | keepalived | ucarp
    name: str             # "advbase 1" | "fast"
    label: str            # human description of the timing
    params: dict
    recover_after: float  # seconds after the failure when fw2 should hold both VIPs


def settings(args: argparse.Namespace) -> list[Setting]:
    s1 = [int(x) for x in args.hafw_skews_1.split(",")]
    s0 = [int(x) for x in args.hafw_skews_0.split(",")]
    p = [int(x) for x in args.keepalived_prio.split(",")]
    u = [int(x) for x in args.ucarp_skews.split(",")]
    out = [
        Setting("ha-agent", "advbase 1",
                f"advbase 1, advskew fw1 {s1[0]} / fw2 {s1[1]}",
                {"advbase": 1, "skew": {"fw1": s1[0], "fw2": s1[1]}}, 4.0),
        Setting("keepalived", "advbase 1",
                f"advert_int 1, priority fw1 {p[0]} / fw2 {p[1]}",
                {"advert_int": "1", "prio": {"fw1": p[0], "fw2": p[1]}}, 4.0),
        Setting("ucarp", "advbase 1",
                f"advbase 1, advskew fw1 {u[0]} / fw2 {u[1]}",
                {"advbase": 1, "skew": {"fw1": u[0], "fw2": u[1]}}, 5.5),
        Setting("ha-agent", "fast",
                f"advbase 0, advskew fw1 {s0[0]} / fw2 {s0[1]}",
                {"advbase": 0, "skew": {"fw1": s0[0], "fw2": s0[1]}}, 0.4),
        Setting("keepalived", "fast",
                f"advert_int 0.01, priority fw1 {p[0]} / fw2 {p[1]}",
                {"advert_int": "0.01", "prio": {"fw1": p[0], "fw2": p[1]}}, 0.4),
    ]
    want = set(args.contenders.split(","))
    want_settings = set(args.settings.split(","))
    key = {"advbase 1": "advbase1", "fast": "fast"}
    return [s for s in out if s.contender in want and key[s.name] in want_settings]


# ----------------------------------------------------------------------------
# The contenders. Each runs one daemon set per firewall and can say whether
# fw1 holds both VIPs (and fw2 none).

def vip_holders(lab: Lab) -> dict[str, list[str]]:
    """Which firewalls have each VIP configured (ifname -> [fw])."""
    return {ifname: lab.holders(vip, ifname) for ifname, vip in VIPS.items()}


def remove_vips(lab: Lab, fw: str) -> list[str]:
    """Deletes leftover VIPs from a firewall; returns what it removed."""
    removed = []
    for ifname, vip in VIPS.items():
        if fw in lab.holders(vip, ifname, [fw]):
            lab.run(fw, ["ip", "addr", "del", f"{vip}/{PREFIXLEN}", "dev", ifname], check=False)
            removed.append(f"{vip} on {ifname}")
    return removed


class Contender:
    name = ""

    def __init__(self, lab: Lab, setting: Setting, workdir: Path) -> None:
        self.lab = lab
        self.setting = setting
        self.workdir = workdir
        self.tag = f"{setting.name.replace(' ', '')}-{time.monotonic_ns()}"

    def start(self, fw: str) -> None: ...
    def kill(self, fw: str) -> None: ...       # SIGKILL, no wait
    def term(self, fw: str) -> None: ...       # SIGTERM, no wait
    def reap(self, fw: str, timeout: float = 10.0) -> None: ...
    def stop_all(self) -> None: ...

    def start_all(self) -> None:
        for fw in ("fw1", "fw2"):
            self.start(fw)

    def ready(self) -> bool:
        h = vip_holders(self.lab)
        return h["lan0"] == ["fw1"] and h["wan0"] == ["fw1"]

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> float:
        try:
            return waits.wait_until("fw1 to hold both VIPs alone", self.ready, timeout,
                                    interval=0.05)
        except waits.WaitTimeout as e:
            raise BenchError(f"{self.name}: fw1 does not hold both VIPs alone after {timeout} s "
                             f"(holders {vip_holders(self.lab)})\n{self.logs()}") from e

    def taken_over(self) -> bool:
        # fw1 may still have the VIPs configured (SIGKILL: no clean-up), but its
        # links are down; what matters is that fw2 has both.
        h = vip_holders(self.lab)
        return "fw2" in h["lan0"] and "fw2" in h["wan0"]

    def logs(self) -> str:
        return ""


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def _wait_proc(lab: Lab, proc: subprocess.Popen, timeout: float) -> None:
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        log(f"pid {proc.pid} still running after {timeout} s: SIGKILL")
    lab.stop(proc, signal.SIGKILL)   # reaps, kills stragglers of the session


class HaAgent(Contender):
    name = "ha-agent"

    def __init__(self, lab, setting, workdir, paths) -> None:
        super().__init__(lab, setting, workdir)
        p = setting.params
        vhids = [Vhid(1, "lan0", [f"{LAN_VIP}/{PREFIXLEN}"], dict(p["skew"]),
                      advbase=p["advbase"], preempt=True),
                 Vhid(2, "wan0", [f"{WAN_VIP}/{PREFIXLEN}"], dict(p["skew"]),
                      advbase=p["advbase"], preempt=True)]
        self.cluster = HafwCluster(lab, paths, vhids=vhids, groups={"edge": ["lan0", "wan0"]},
                                   log_level="info")

    def start(self, fw: str) -> None:
        self.cluster.start(fw)

    def kill(self, fw: str) -> None:
        _signal_group(self.cluster.procs[fw], signal.SIGKILL)

    def term(self, fw: str) -> None:
        self.cluster.procs[fw].send_signal(signal.SIGTERM)

    def reap(self, fw: str, timeout: float = 10.0) -> None:
        _wait_proc(self.lab, self.cluster.procs[fw], timeout)

    def ready(self) -> bool:
        return (super().ready() and self.cluster.masters(1) == ["fw1"]
                and self.cluster.masters(2) == ["fw1"])

    def stop_all(self) -> None:
        for fw, proc in self.cluster.procs.items():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for fw in list(self.cluster.procs):
            self.reap(fw)
        shutil.rmtree(self.cluster.dir, ignore_errors=True)

    def logs(self) -> str:
        return self.cluster.logs_text()


class KeepalivedContender(Contender):
    name = "keepalived"

    def __init__(self, lab, setting, workdir) -> None:
        super().__init__(lab, setting, workdir)
        self.daemons: dict[str, Keepalived] = {}

    def start(self, fw: str) -> None:
        p = self.setting.params
        # Two instances, one per VIP, in one sync group so they fail over
        # together, like ha-agent's two vhids in demotion group "edge".
        instances = [VrrpInstance(name, ifname, vrid, p["prio"][fw], p["advert_int"],
                                  [f"{vip}/{PREFIXLEN}"])
                     for name, ifname, vrid, vip in (("LAN", "lan0", 51, LAN_VIP),
                                                     ("WAN", "wan0", 52, WAN_VIP))]
        d = Keepalived(self.lab, fw, self.workdir, instances)
        d.start()
        self.daemons[fw] = d
        time.sleep(0.2)  # a config error makes keepalived exit at once
        if not d.running():
            raise BenchError(f"keepalived on {fw} exited at once:\n{self.logs()}")

    def kill(self, fw: str) -> None:
        self.daemons[fw].kill()                           # parent and VRRP child

    def term(self, fw: str) -> None:
        self.daemons[fw].send_signal(signal.SIGTERM)      # like `systemctl stop`

    def reap(self, fw: str, timeout: float = 10.0) -> None:
        _wait_proc(self.lab, self.daemons[fw].proc, timeout)

    def stop_all(self) -> None:
        for d in self.daemons.values():
            d.stop()

    def logs(self) -> str:
        return "".join(f"\n--- keepalived {fw} ---\n{d.log()[-3000:]}"
                       for fw, d in self.daemons.items())


class UcarpContender(Contender):
    name = "ucarp"

    def __init__(self, lab, setting, workdir) -> None:
        super().__init__(lab, setting, workdir)
        self.daemons: dict[str, list[Ucarp]] = {}
        self.password = os.urandom(6).hex()

    def start(self, fw: str) -> None:
        p = self.setting.params
        ds = [Ucarp(self.lab, fw, self.workdir, vip=vip, password=self.password, vhid=vhid,
                    interface=ifname, prefixlen=PREFIXLEN, advbase=p["advbase"],
                    advskew=p["skew"][fw], preempt=True, shutdown=True)
              for vhid, ifname, vip in ((1, "lan0", LAN_VIP), (2, "wan0", WAN_VIP))]
        for d in ds:
            d.start()
        self.daemons[fw] = ds
        time.sleep(0.2)  # bad arguments make ucarp exit at once
        if not all(d.running() for d in ds):
            raise BenchError(f"ucarp on {fw} exited at once:\n{self.logs()}")

    def kill(self, fw: str) -> None:
        for d in self.daemons[fw]:
            d.kill()

    def term(self, fw: str) -> None:
        for d in self.daemons[fw]:
            d.send_signal(signal.SIGTERM)

    def reap(self, fw: str, timeout: float = 10.0) -> None:
        for d in self.daemons[fw]:
            _wait_proc(self.lab, d.proc, timeout)

    def stop_all(self) -> None:
        for ds in self.daemons.values():
            for d in ds:
                d.stop()

    def logs(self) -> str:
        return "".join(f"\n--- ucarp {fw} {d.interface} ---\n{d.log()[-3000:]}"
                       for fw, ds in self.daemons.items() for d in ds)


# ----------------------------------------------------------------------------
# Failure injection: links down through a waiting `ip -batch` (no process
# start on the critical path), and the advertisement trigger.

class LinkCtl:
    """A long-running `ip -batch -` in a firewall: link changes in well under 1 ms
    (no process start on the critical path). The links are the lab's, as the
    node has them (like HafwCluster.kill_node)."""

    def __init__(self, lab: Lab, fw: str) -> None:
        self.lab = lab
        self.fw = fw
        self.links = lab.links(fw)
        self.proc = lab.popen(fw, ["ip", "-force", "-batch", "-"], stdin=subprocess.PIPE)

    def down(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"".join(b"link set %s down\n" % l.encode() for l in self.links))
        self.proc.stdin.flush()

    def up(self) -> None:
        for l in self.links:
            self.lab.link_up(self.fw, l)


SO_ATTACH_FILTER = 26
ETH_P_IP = 0x0800


def _bpf_ip_proto_src(proto: int, src: str) -> bytes:
    """Classic BPF on an Ethernet AF_PACKET socket: IPv4, this protocol, this source."""
    (src_int,) = struct.unpack("!I", socket.inet_aton(src))
    insns = [
        (0x28, 0, 0, 12),          # ldh [12]        ethertype
        (0x15, 0, 5, ETH_P_IP),    # jeq IPv4 else drop
        (0x30, 0, 0, 23),          # ldb [23]        IP protocol
        (0x15, 0, 3, proto),       # jeq proto else drop
        (0x20, 0, 0, 26),          # ld  [26]        IP source
        (0x15, 0, 1, src_int),     # jeq src else drop
        (0x06, 0, 0, 0xFFFF),      # accept
        (0x06, 0, 0, 0),           # drop
    ]
    return b"".join(struct.pack("HBBI", *i) for i in insns)


class AdvertTrigger:
    """Waits for the next advertisement (IP protocol 112) from fw1 on the client's LAN."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        prog = _bpf_ip_proto_src(112, plan.ip("fw1", "lan", 4))
        self._prog_buf = ctypes.create_string_buffer(prog, len(prog))
        self._fprog = struct.pack("HL", len(prog) // 8, ctypes.addressof(self._prog_buf))

    def wait(self, timeout: float = 5.0) -> float:
        with self.lab.in_netns("client"):
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP))
        try:
            s.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, self._fprog)
            s.bind((plan.ifname("client", "lan"), 0))
            s.setblocking(False)
            while True:  # drop anything queued before the filter was attached
                try:
                    s.recv(2048)
                except BlockingIOError:
                    break
            s.settimeout(timeout)
            try:
                s.recv(2048)
            except socket.timeout:
                raise BenchError(f"no advertisement from fw1 within {timeout} s")
            return time.monotonic()
        finally:
            s.close()


# ----------------------------------------------------------------------------
# Packet capture on the bridges: the kit's tcpdump capture and decoder
# (CARP, VRRPv3 and ARP records with capture timestamps).

CAPTURE_FILTER = "ip proto 112 or arp"


def start_capture(lab: Lab, workdir: Path) -> Capture:
    return Capture(lab, workdir, [(plan.SWITCH, "brlan"), (plan.SWITCH, "brwan")],
                   bpf=CAPTURE_FILTER, snaplen=128).start()


def is_advert(p) -> bool:
    return isinstance(p, (CarpAdvert, VrrpAdvert))


# ----------------------------------------------------------------------------
# One run.

@dataclasses.dataclass
class RunResult:
    contender: str
    setting: str
    scenario: str
    round: int
    outage_ms: float
    lost: int
    pre_lost: int             # probes lost before the failure (should be 0)
    fw2_adverts_before: int   # fw2 advertising while fw1 was master (a flap)
    events: dict              # capture events (ms) relative to the failure
    gap_series: list          # [(t_rel, gap_ms)] of replies around the failure
    error: str = ""


def _machine_load() -> str:
    return f"{load.loadavg()[0]:.2f}"


def analyse(result: ProbeResult, t_fail: float, packets: list,
            offset: float, macs: dict[str, str], window: float) -> dict:
    """Outage, lost probes and the takeover time line of one run."""
    replies = sorted(r[2] for r in result.received)
    sent = result.sent
    ok = {r[0] for r in result.received}
    # Outage: the longest gap between consecutive replies from just before the
    # failure on (the gap that contains the failure, normally).
    # Only gaps that begin before the takeover is complete on the wire (the new
    # master's first advertisement and GARP on both sides, + 100 ms) count, so
    # an unrelated scheduling hiccup a second later is not called an outage.
    takeover = [p.time - offset for p in packets
                if macs.get(p.src_mac) == "fw2" and p.time - offset > t_fail - 0.01]
    firsts = []
    for br in ("brlan", "brwan"):
        ts = [p.time - offset for p in packets if p.bridge == br
              and macs.get(p.src_mac) == "fw2" and p.time - offset > t_fail - 0.01]
        firsts.append(min(ts) if ts else t_fail + window)
    window_end = max(firsts) + 0.1 if takeover else t_fail + window
    before = [t for t in replies if t <= t_fail]
    after = [t for t in replies if t > t_fail]
    seq_times = ([before[-1]] if before else [t_fail]) + after
    gaps = [(b - a, a, b) for a, b in zip(seq_times, seq_times[1:]) if a <= window_end]
    if not after:
        last_sent = sent[-1][1] if sent else t_fail
        gaps.append((last_sent - seq_times[-1], seq_times[-1], last_sent))
    outage, o_start, o_end = max(gaps) if gaps else (0.0, t_fail, t_fail)
    # Baseline jitter: the longest gap between replies before the failure.
    pre = [t for t in replies if t <= t_fail]
    pre_gap = max((b - a for a, b in zip(pre, pre[1:])), default=0.0)
    last_answered = max((t for s, t in sent if s in ok), default=t_fail)
    lost = sum(1 for s, t in sent if s not in ok and t <= last_answered)
    pre_lost = sum(1 for s, t in sent if s not in ok and t < t_fail - 0.02)
    # Reply inter-arrival gaps around the failure, for the plot.
    series = [(round(b - t_fail, 6), round((b - a) * 1e3, 4))
              for a, b in zip(replies, replies[1:])
              if t_fail - 0.3 <= b <= t_fail + window]

    def rel(t: float) -> float:
        return round((t - offset - t_fail) * 1e3, 3)

    ev: dict[str, float | None] = {}
    fw_of = {m: fw for m, fw in macs.items()}
    for br, side in (("brlan", "lan"), ("brwan", "wan")):
        adv = [p for p in packets if is_advert(p) and p.bridge == br]
        fw1 = [p for p in adv if fw_of.get(p.src_mac) == "fw1" or p.src == plan.ip("fw1", side)]
        fw2 = [p for p in adv if fw_of.get(p.src_mac) == "fw2" or p.src == plan.ip("fw2", side)]
        t_rel = lambda p: p.time - offset - t_fail  # noqa: E731
        old = [p for p in fw1 if t_rel(p) <= 0.002 and not p.bow_out]
        ev[f"{side}_fw1_last_advert"] = rel(old[-1].time) if old else None
        bow = [p for p in fw1 if p.bow_out and t_rel(p) > -0.01]
        ev[f"{side}_fw1_bow_out"] = rel(bow[0].time) if bow else None
        late = [p for p in fw1 if t_rel(p) > 0.002 and not p.bow_out]
        ev[f"{side}_fw1_adverts_after"] = len(late)
        new = [p for p in fw2 if t_rel(p) > -0.01]
        ev[f"{side}_fw2_first_advert"] = rel(new[0].time) if new else None
        vip = VIPS["lan0" if side == "lan" else "wan0"]
        garp = [p for p in packets if isinstance(p, Arp) and p.bridge == br
                and fw_of.get(p.src_mac) == "fw2" and p.sender_ip == vip and t_rel(p) > -0.01]
        ev[f"{side}_fw2_first_garp"] = rel(garp[0].time) if garp else None
        ev[f"{side}_fw2_garps_1s"] = sum(1 for p in garp if t_rel(p) < 1.0)
        ev.setdefault("fw2_adverts_before", 0)
        ev["fw2_adverts_before"] += sum(1 for p in fw2 if t_rel(p) <= -0.01)
    ev["outage_start"] = round((o_start - t_fail) * 1e3, 3)
    ev["outage_end"] = round((o_end - t_fail) * 1e3, 3)
    ev["window_end"] = round((window_end - t_fail) * 1e3, 3)
    ev["pre_gap"] = round(pre_gap * 1e3, 3)
    return {"outage_ms": round(outage * 1e3, 3), "lost": lost, "pre_lost": pre_lost,
            "events": ev, "series": series}


def soak(lab: Lab, seconds: float, macs: dict[str, str], workdir: Path) -> dict:
    """Stability check: probe + capture with fw1 master and nothing failing.

    Any advertisement from fw2 means it believed itself MASTER (a flap)."""
    cap = start_capture(lab, workdir)
    probe = lab.start_udp_probe(SERVER, interval_ms=PROBE_INTERVAL_MS, duration=seconds + 5)
    try:
        time.sleep(seconds)  # the soak itself: watch for flaps this long
        result = probe.stop()
    finally:
        if probe.proc.poll() is None:
            lab.stop(probe.proc, signal.SIGKILL)
        packets = cap.stop().packets
    fw2 = sum(1 for p in packets if is_advert(p) and macs.get(p.src_mac) == "fw2")
    fw1 = sum(1 for p in packets if is_advert(p) and macs.get(p.src_mac) == "fw1")
    replies = sorted(r[2] for r in result.received)
    return {"seconds": seconds, "fw2_adverts": fw2, "fw1_adverts": fw1, "lost": result.lost,
            "longest_gap_ms": round(max((b - a for a, b in zip(replies, replies[1:])),
                                        default=0.0) * 1e3, 3)}


def run_once(lab: Lab, contender: Contender, scenario: str, rnd: int,
             links: LinkCtl, trigger: AdvertTrigger, macs: dict[str, str],
             workdir: Path) -> RunResult:
    setting = contender.setting
    window = setting.recover_after + 1.0
    cap = start_capture(lab, workdir)
    probe = lab.start_udp_probe(SERVER, interval_ms=PROBE_INTERVAL_MS,
                                duration=PRE_WINDOW + 10 + window + 5)
    killed_links = False
    try:
        time.sleep(PRE_WINDOW)
        trigger.wait(timeout=5.0)
        t_fail = time.monotonic()
        if scenario == "kill":
            links.down()
            killed_links = True
            contender.kill("fw1")
        else:
            contender.term("fw1")
        offset = time.time() - time.monotonic()
        # No polling on the critical path: sleep through the expected takeover.
        time.sleep(setting.recover_after)
        deadline = time.monotonic() + 10.0
        while not contender.taken_over():
            if time.monotonic() > deadline:
                raise BenchError(f"fw2 did not take both VIPs within "
                                 f"{setting.recover_after + 10} s: {vip_holders(lab)}")
            time.sleep(0.05)
        time.sleep(0.5)
        result = probe.stop()
    finally:
        if probe.proc.poll() is None:
            lab.stop(probe.proc, signal.SIGKILL)
        packets = cap.stop().packets
        # Restore: as if fw1 rebooted (no stale VIPs), links up, daemon back.
        contender.reap("fw1", timeout=10.0)
        remove_vips(lab, "fw1")
        if killed_links:
            links.up()
        contender.start("fw1")
        contender.wait_ready()
    a = analyse(result, t_fail, packets, offset, macs, window)
    return RunResult(contender.name, setting.name, scenario, rnd, a["outage_ms"], a["lost"],
                     a["pre_lost"], a["events"]["fw2_adverts_before"], a["events"], a["series"])


# ----------------------------------------------------------------------------
# Reporting.

def summarize(results: list[RunResult], order: list[Setting], scenarios: list[str]) -> list[dict]:
    rows = []
    for s in order:
        for sc in scenarios:
            rs = [r for r in results if r.contender == s.contender and r.setting == s.name
                  and r.scenario == sc and not r.error]
            if not rs:
                continue
            o = [r.outage_ms for r in rs]
            lost = [r.lost for r in rs]
            rows.append({"contender": s.contender, "setting": s.name, "label": s.label,
                         "scenario": sc, "runs": len(rs),
                         "median": statistics.median(o), "min": min(o), "max": max(o),
                         "lost_median": statistics.median(lost), "lost_min": min(lost),
                         "lost_max": max(lost),
                         "flaps": sum(r.fw2_adverts_before for r in rs),
                         "pre_lost": sum(r.pre_lost for r in rs)})
    return rows


SCEN_NAME = {"kill": "dead node (links down + SIGKILL)", "term": "graceful (SIGTERM)"}


def markdown(rows: list[dict], results: list[RunResult]) -> str:
    def fmt(x: float) -> str:
        return f"{x:.0f}" if x >= 100 else f"{x:.1f}"

    lines = ["| Contender | Setting | Scenario | Runs | Outage median (ms) | min | max "
             "| Lost probes median (min-max) | Probe jitter before the failure (ms) |",
             "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        # Baseline: the longest reply gap in the 0.5 s before the failure
        # (median over the runs): outages below it are within the probe's noise.
        pre = [x.events.get("pre_gap") for x in results
               if (x.contender, x.setting, x.scenario) == (r["contender"], r["setting"],
                                                            r["scenario"])
               and not x.error and x.events.get("pre_gap") is not None]
        jitter = f"{statistics.median(pre):.1f}" if pre else "-"
        lines.append(f"| {r['contender']} | {r['label']} | {SCEN_NAME[r['scenario']]} "
                     f"| {r['runs']} | **{fmt(r['median'])}** | {fmt(r['min'])} "
                     f"| {fmt(r['max'])} | {r['lost_median']:.0f} "
                     f"({r['lost_min']}-{r['lost_max']}) | {jitter} |")
    lines.append("")
    lines.append("| Setting | Scenario | ha-agent / keepalived (median outage) |")
    lines.append("| --- | --- | ---: |")
    for setting in ("advbase 1", "fast"):
        for sc in ("kill", "term"):
            h = [r for r in rows if r["contender"] == "ha-agent" and r["setting"] == setting
                 and r["scenario"] == sc]
            k = [r for r in rows if r["contender"] == "keepalived" and r["setting"] == setting
                 and r["scenario"] == sc]
            if h and k and k[0]["median"] > 0:
                lines.append(f"| {setting} | {SCEN_NAME[sc]} | "
                             f"{h[0]['median'] / k[0]['median']:.2f} |")
    lines.append("")
    # Break-down: medians of the capture events.
    lines.append("| Contender | Setting | Scenario | fw1 last advert LAN/WAN | fw1 bow-out LAN "
                 "| fw2 first advert LAN/WAN | fw2 first GARP LAN/WAN | outage end "
                 "| flaps before |")
    lines.append("| --- | --- | --- | --- | --- | --- | --- | --- | ---: |")
    keys = sorted({(r.contender, r.setting, r.scenario) for r in results},
                  key=lambda k: (k[1], k[0], k[2]))

    def med(rs: list[RunResult], key: str) -> str:
        vals = [r.events.get(key) for r in rs if r.events.get(key) is not None]
        return f"{statistics.median(vals):.1f}" if vals else "-"

    for c, s, sc in keys:
        rs = [r for r in results if (r.contender, r.setting, r.scenario) == (c, s, sc)
              and not r.error]
        if not rs:
            continue
        lines.append(
            f"| {c} | {s} | {sc} | {med(rs, 'lan_fw1_last_advert')} / "
            f"{med(rs, 'wan_fw1_last_advert')} | {med(rs, 'lan_fw1_bow_out')} | "
            f"{med(rs, 'lan_fw2_first_advert')} / {med(rs, 'wan_fw2_first_advert')} | "
            f"{med(rs, 'lan_fw2_first_garp')} / {med(rs, 'wan_fw2_first_garp')} | "
            f"{med(rs, 'outage_end')} | {sum(r.fw2_adverts_before for r in rs)} |")
    return "\n".join(lines) + "\n"


COLORS = {"ha-agent": "tab:blue", "keepalived": "tab:orange", "ucarp": "tab:green"}


def plot(results: list[RunResult], path: Path, title_note: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("kill", "advbase 1"), ("kill", "fast"), ("term", "advbase 1"), ("term", "fast")]
    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    for ax, (sc, setting) in zip(axes.flat, panels):
        xmax = 0.1
        for c in ("ha-agent", "keepalived", "ucarp"):
            rs = [r for r in results if r.contender == c and r.setting == setting
                  and r.scenario == sc and not r.error and r.gap_series]
            if not rs:
                continue
            med = statistics.median(r.outage_ms for r in rs)
            rep = min(rs, key=lambda r: abs(r.outage_ms - med))   # the median run
            xs = [x for x, _ in rep.gap_series]
            ys = [y for _, y in rep.gap_series]
            ax.scatter(xs, ys, s=4, color=COLORS[c], alpha=0.7,
                       label=f"{c} (run {rep.round}: {rep.outage_ms:.1f} ms, {rep.lost} lost)")
            # Long gaps as a plateau from the last reply before to the reply after.
            for x, y in rep.gap_series:
                if y >= 5:
                    ax.hlines(y, x - y / 1e3, x, color=COLORS[c], linewidth=2, alpha=0.8)
            # When the new master's first gratuitous ARP hit the LAN (capture).
            g = rep.events.get("lan_fw2_first_garp")
            if g is not None:
                ax.axvline(g / 1e3, color=COLORS[c], linestyle="--", linewidth=0.8)
            xmax = max(xmax, rep.events.get("outage_end", 0) / 1e3 * 1.3,
                       (g or 0) / 1e3 * 1.1)
        ax.axvline(0, color="black", linestyle=":", linewidth=1)
        ax.set_yscale("log")
        ax.set_ylim(0.3, 1e4 if setting == "advbase 1" and sc == "kill" else 100)
        if setting == "advbase 1" and sc == "kill":
            ax.set_xlim(2.9, 3.3)   # the outages all start at 0: zoom on their ends
        else:
            ax.set_xlim(-0.1 if setting == "advbase 1" else -0.02,
                        max(xmax, 0.08 if setting == "fast" else 1.0))
        ax.set_xlabel("time since the failure (s)")
        ax.set_ylabel("gap since previous echo reply (ms)")
        ax.set_title(f"{SCEN_NAME[sc]}, {setting}"
                     + (" (zoom: end of the outage)" if setting == "advbase 1" and sc == "kill"
                        else ""))
        ax.grid(True, which="both", alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8, loc="upper right")
    fig.suptitle("1 ms UDP probe client -> LAN VIP -> server -> WAN VIP: time since the previous "
                 "echo reply, per reply (median run of each case)\nbars: gaps >= 5 ms; dashed: "
                 "new master's first gratuitous ARP on the LAN; gaps < 0.3 ms (bursts) off scale"
                 f"\n{title_note}", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ----------------------------------------------------------------------------
# Main.

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-dir", default=str(SOURCE_DIR / "build"),
                    help="build tree with haagent/ha-agent and haagent/cli/hactl")
    ap.add_argument("--runs", type=int, default=5, help="runs per case (default 5)")
    ap.add_argument("--contenders", default="ha-agent,keepalived,ucarp")
    ap.add_argument("--settings", default="advbase1,fast")
    ap.add_argument("--scenarios", default="kill,term")
    ap.add_argument("--hafw-skews-1", default="0,1", help="fw1,fw2 advskew at advbase 1")
    ap.add_argument("--hafw-skews-0", default="1,2", help="fw1,fw2 advskew at advbase 0")
    ap.add_argument("--keepalived-prio", default="254,253", help="fw1,fw2 priority")
    ap.add_argument("--ucarp-skews", default="0,1", help="fw1,fw2 advskew (advbase 1)")
    ap.add_argument("--out-dir", default=None, help="default: a new /tmp/hafw-failover-* dir")
    ap.add_argument("--plot", default=None, help="PNG of the reply-gap time lines")
    ap.add_argument("--max-load", type=float, default=0.0,
                    help="wait (bounded by --quiet-wait) for the 1-min load to drop below this")
    ap.add_argument("--quiet-wait", type=float, default=900.0)
    ap.add_argument("--max-minutes", type=float, default=60.0,
                    help="stop starting new runs after this long")
    ap.add_argument("--soak", type=float, default=5.0,
                    help="seconds of stability check (fw2 must stay silent) per fast case and round")
    ap.add_argument("--seed", type=int, default=None, help="shuffle the case order per round")
    ap.add_argument("--replot", metavar="RESULTS_JSON",
                    help="only redraw --plot (and print the table) from an earlier results.json")
    args = ap.parse_args(argv)

    if args.replot:
        data = json.loads(Path(args.replot).read_text())
        runs = [RunResult(**r) for r in data["runs"]]
        m = data["meta"]
        if args.plot:
            plot(runs, Path(args.plot),
                 f"{m['date']}, {m['cpus']} CPUs, load average at start "
                 f"{m['loadavg_start'].split()[0]}, CPU busy during run {m['cpu_busy_percent']:.0f} %")
        print(markdown(data["summary"], runs))
        return 0

    if os.geteuid() != 0:
        print("run as root (network namespaces)", file=sys.stderr)
        return 2
    paths = HafwPaths(Path(args.build_dir).resolve(), SOURCE_DIR)
    try:
        paths.require(paths.ha_agent)
        paths.require(paths.hactl)
        if not paths.control_pb2.is_file():
            raise MissingBinary(f"{paths.control_pb2} is not built (target hafw_proto_python)")
    except MissingBinary as e:
        raise BenchError(str(e)) from e
    for tool in ("keepalived", "ucarp", "tcpdump", "ip"):
        if shutil.which(tool) is None:
            raise BenchError(f"{tool} is not installed (tools/bootstrap.sh)")
    scenarios = args.scenarios.split(",")
    cases = settings(args)
    out_dir = Path(args.out_dir or tempfile.mkdtemp(prefix="hafw-failover-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="hafw-failover-work-"))
    os.environ.setdefault("HAFW_LAB_QUIET", "1")
    netns.sweep_stale_labs()

    load_before, waited = (load.loadavg()[0], 0.0)
    if args.max_load > 0:
        load_before, waited = load.wait_quiet(args.max_load, args.quiet_wait, log)
    loadavg_start = load.loadavg_text()
    log(f"load average at start: {loadavg_start} (waited {waited:.0f} s)")
    t_start = time.monotonic()
    cpu = load.CpuBusy()
    results: list[RunResult] = []
    soaks: list[dict] = []
    loads: list[float] = []
    rng = random.Random(args.seed)
    aborted = ""
    try:
        with Lab(firewalls=2) as lab:
            lab.start_udp_echo_server()
            links = LinkCtl(lab, "fw1")
            trigger = AdvertTrigger(lab)
            macs = {}
            for fw in lab.firewalls:
                for ifname in ("lan0", "wan0"):
                    data = json.loads(lab.run(fw, ["ip", "-j", "link", "show", ifname]).stdout)
                    macs[data[0]["address"].lower()] = fw
            for rnd in range(1, args.runs + 1):
                order = list(cases)
                if args.seed is not None:
                    rng.shuffle(order)
                for setting in order:
                    if time.monotonic() - t_start > args.max_minutes * 60:
                        aborted = f"stopped after {args.max_minutes} min (--max-minutes)"
                        break
                    loads.append(load.loadavg()[0])
                    if setting.contender == "ha-agent":
                        c: Contender = HaAgent(lab, setting, workdir, paths)
                    elif setting.contender == "keepalived":
                        c = KeepalivedContender(lab, setting, workdir)
                    else:
                        c = UcarpContender(lab, setting, workdir)
                    try:
                        c.start_all()
                        c.wait_ready()
                        lab.ping("client", SERVER, count=2)   # ARP entries everywhere
                        time.sleep(SETTLE)
                        if args.soak > 0 and setting.name == "fast":
                            st = soak(lab, args.soak, macs, workdir)
                            st.update(contender=c.name, setting=setting.name, round=rnd)
                            soaks.append(st)
                            log(f"{c.name:10} {setting.name:9} soak {args.soak:.0f} s: fw2 "
                                f"adverts {st['fw2_adverts']} (fw1 {st['fw1_adverts']}), lost "
                                f"{st['lost']}, longest reply gap {st['longest_gap_ms']} ms")
                        for sc in scenarios:
                            try:
                                r = run_once(lab, c, sc, rnd, links, trigger, macs, workdir)
                            except (BenchError, LabError) as e:
                                log(f"{c.name} {setting.name} {sc} round {rnd}: FAILED: {e}")
                                results.append(RunResult(c.name, setting.name, sc, rnd,
                                                         float("nan"), -1, -1, 0, {}, [],
                                                         error=str(e)[:2000]))
                                raise
                            results.append(r)
                            log(f"{c.name:10} {setting.name:9} {sc:4} round {rnd}: outage "
                                f"{r.outage_ms:8.1f} ms, lost {r.lost:5}, pre-lost "
                                f"{r.pre_lost}, flaps {r.fw2_adverts_before}, "
                                f"load {_machine_load()}")
                            time.sleep(SETTLE)
                    except (BenchError, LabError) as e:
                        log(f"case aborted: {e}")
                    finally:
                        c.stop_all()
                        remove_vips(lab, "fw1")
                        remove_vips(lab, "fw2")
                        for node in ("client", "server"):
                            lab.run(node, ["ip", "neigh", "flush", "dev", "eth0"], check=False)
                if aborted:
                    break
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        left = [n for n in netns.list_netns() if n.startswith(f"hafw{os.getpid()}-")]
        if left:
            log(f"WARNING: namespaces left behind: {left}")

    busy = cpu.percent()
    elapsed = time.monotonic() - t_start
    loadavg_end = load.loadavg_text()
    rows = summarize(results, cases, scenarios)
    meta = {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "command": " ".join(sys.argv),
            "runs": args.runs, "cpus": os.cpu_count(), "kernel": os.uname().release,
            "loadavg_start": loadavg_start, "loadavg_end": loadavg_end,
            "load_1min_during": {"min": min(loads, default=0), "max": max(loads, default=0),
                                 "median": statistics.median(loads) if loads else 0},
            "cpu_busy_percent": round(busy, 1), "elapsed_s": round(elapsed, 1),
            "quiet_wait_s": round(waited, 1), "aborted": aborted,
            "settings": [dataclasses.asdict(s) for s in cases]}
    md = markdown(rows, results)
    if soaks:
        md += "\n| Contender | Setting | Soak rounds | Seconds each | fw2 adverts (flaps) | Lost probes | Longest reply gap (ms, max) |\n"
        md += "| --- | --- | ---: | ---: | ---: | ---: | ---: |\n"
        for c in ("ha-agent", "keepalived"):
            st = [x for x in soaks if x["contender"] == c]
            if st:
                md += (f"| {c} | fast | {len(st)} | {st[0]['seconds']:.0f} "
                       f"| {sum(x['fw2_adverts'] for x in st)} | {sum(x['lost'] for x in st)} "
                       f"| {max(x['longest_gap_ms'] for x in st):.1f} |\n")
    (out_dir / "results.json").write_text(json.dumps(
        {"meta": meta, "summary": rows, "soaks": soaks, "runs": [dataclasses.asdict(r) for r in results]},
        indent=1))
    (out_dir / "results.md").write_text(md)
    note = (f"{meta['date']}, {meta['cpus']} CPUs, load average at start "
            f"{loadavg_start.split()[0]}, CPU busy during run {busy:.0f} %")
    if args.plot:
        plot(results, Path(args.plot), note)
    print(md)
    print(json.dumps(meta, indent=1))
    log(f"results in {out_dir}; {len(results)} runs, {elapsed:.0f} s")
    errors = [r for r in results if r.error]
    return 1 if errors or aborted else 0


if __name__ == "__main__":
    sys.exit(main())
