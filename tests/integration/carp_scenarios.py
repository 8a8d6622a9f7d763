"""CARP failover scenarios shared by the integration tests (which assert what
must hold whatever the timing) and the timing tests (which assert how fast,
with one retry when the machine is loaded): each function builds the
scenario in the given lab, asserts its non-timing facts, and returns the
measured figures.

Times come from packet captures: tcpdump on the lab's bridges in the switch
namespace stamps each advertisement with the moment it crossed the "wire",
on one clock for every node. Instants taken by the test (time.time(), the
same CLOCK_REALTIME) only start intervals and are taken just *before* the
action, so they can only lengthen what is measured.
"""

from __future__ import annotations

import dataclasses
import signal
import time
from pathlib import Path

from hafwkit import plan, waits
from hafwkit.agents import HafwCluster
from hafwkit.lab import Lab
from hafwkit.paths import HafwPaths
from hafwkit.pcap import CarpAdvert
from hafwkit.peers import Ucarp
from hafwkit.spec import Vhid, default_vhids
from hafwkit.traffic import ProbeResult

SERVER4 = plan.ip("server", "wan", 4)
# (vhid, bridge the vhid's adverts cross, the firewall's interface on it)
LEGS = ((1, "brlan", "lan0"), (2, "brwan", "wan0"))


@dataclasses.dataclass
class Leg:
    vhid: int
    bridge: str
    fw1: list[CarpAdvert]   # fw1's adverts of this vhid on this bridge
    fw2: list[CarpAdvert]


def start_fw1_master(cluster: HafwCluster) -> None:
    """Starts every agent and waits for the steady state: fw1 MASTER, others BACKUP."""
    cluster.start_all()
    for vhid, _, _ in LEGS:
        cluster.wait_for_master(vhid, "fw1", timeout=10)
        for fw in cluster.firewalls[1:]:
            cluster.wait_for_state(fw, vhid, "BACKUP", timeout=5)


def wait_advert_captured(cluster: HafwCluster, backup: str = "fw2") -> None:
    """Returns once the backup accepted a new advert on every leg, i.e. one
    the running capture has seen: the master's last advert before the
    failover is then in the capture."""
    seen = {vhid: cluster.vhost(backup, vhid)["adverts_received"] for vhid, _, _ in LEGS}
    cluster.wait_until(f"{backup} to accept an advert on every leg during the capture",
                       lambda: all(cluster.vhost(backup, v)["adverts_received"] > seen[v]
                                   for v in seen), timeout=5)


def _legs(cluster: HafwCluster, cap) -> list[Leg]:
    macs = {(fw, ifname): cluster.mac(fw, ifname) for fw in ("fw1", "fw2")
            for _, _, ifname in LEGS}
    legs = []
    for vhid, bridge, ifname in LEGS:
        leg = Leg(vhid, bridge, cap.adverts(vhid, bridge, src_mac=macs[("fw1", ifname)]),
                  cap.adverts(vhid, bridge, src_mac=macs[("fw2", ifname)]))
        assert leg.fw1, f"no advertisement of fw1 for vhid {vhid} captured on {bridge}"
        assert leg.fw2, f"fw2 never advertised vhid {vhid} on {bridge}"
        legs.append(leg)
    return legs


@dataclasses.dataclass
class DeadMaster:
    t_down: float                 # just before kill_node (CLOCK_REALTIME)
    legs: list[Leg]
    probe: ProbeResult
    mono_to_real: float           # add to probe times to compare with captures
    master_down: float = 3 * 1 + 100 / 256


def dead_master(lab: Lab, paths: HafwPaths) -> DeadMaster:
    """fw1 dies (kill_node: frozen, every link down, kill -9): fw2 takes both
    vhids and traffic flows through it; the client's probe saw one outage."""
    cluster = HafwCluster(lab, paths)
    start_fw1_master(cluster)
    lab.start_udp_echo_server()
    assert lab.ping("client", SERVER4), "no traffic through fw1 before the failover"
    probe = lab.start_udp_probe(SERVER4, interval_ms=20, duration=40)
    cap = cluster.capture()
    mono_to_real = time.time() - time.monotonic()
    wait_advert_captured(cluster)

    t_down = time.time()
    cluster.kill_node("fw1")
    for vhid, _, _ in LEGS:
        cluster.wait_for_master(vhid, "fw2", timeout=8)
    # Both VIPs moved, so requests and replies both pass fw2.
    cluster.wait_until("client -> server traffic through fw2",
                       lambda: lab.ping("client", SERVER4, timeout=1), timeout=5)
    assert lab.ping("client", SERVER4, count=5), "traffic through fw2 is not steady"
    result = probe.stop()
    cap.stop()
    legs = _legs(cluster, cap)
    for leg in legs:
        assert all(a.time > t_down for a in leg.fw2), (
            f"fw2 advertised vhid {leg.vhid} before fw1 died (it should have been BACKUP)")
    outages = result.outages()
    assert len(outages) == 1, f"expected one outage, got {outages}"
    return DeadMaster(t_down, legs, result, mono_to_real)


@dataclasses.dataclass
class BowOut:
    t_term: float
    legs: list[Leg]


def bow_out(lab: Lab, paths: HafwPaths) -> BowOut:
    """SIGTERM makes the master send a 255/255 advertisement (bow-out) per
    family on each leg before it removes its VIPs, and nothing after it."""
    cluster = HafwCluster(lab, paths)
    start_fw1_master(cluster)
    cap = cluster.capture()
    wait_advert_captured(cluster)
    t_term = time.time()
    assert cluster.stop("fw1", signal.SIGTERM) == 0, cluster.log("fw1")
    for vhid, _, _ in LEGS:
        cluster.wait_for_master(vhid, "fw2", timeout=3)
    cap.stop()
    legs = _legs(cluster, cap)
    for leg in legs:
        bow_outs = [a for a in leg.fw1 if a.bow_out]
        assert {a.family for a in bow_outs} == {4, 6}, (
            f"vhid {leg.vhid}: expected a 255/255 bow-out in IPv4 and IPv6 on {leg.bridge}, "
            f"fw1 sent {[(a.family, a.advbase, a.advskew) for a in leg.fw1[-4:]]}")
        for a in bow_outs:
            assert a.ttl == 255 and a.dst in ("224.0.0.18", "ff02::12"), a
        assert leg.fw1[-1].bow_out, "fw1 advertised again after its bow-out"
    return BowOut(t_term, legs)


@dataclasses.dataclass
class FastAdverts:
    t_down: float
    legs: list[Leg]
    fw1_v4_times: list[float]     # fw1's IPv4 adverts on brlan before it died
    nominal: float = 10 / 256     # advertisement interval
    master_down: float = 3 * 20 / 256


def advbase0(lab: Lab, paths: HafwPaths) -> FastAdverts:
    """advbase 0, advskews 10 (fw1) and 20 (fw2): fw1 advertises every 39 ms
    (about 50 IPv4 adverts in the window) and fw2 takes over when fw1 dies."""
    vhids = default_vhids(lab.firewalls)
    for v in vhids:
        v.advbase = 0
        v.advskew = {"fw1": 10, "fw2": 20}
    cluster = HafwCluster(lab, paths, vhids=vhids)
    start_fw1_master(cluster)
    cap = cluster.capture()
    sent0 = cluster.vhost("fw1", 1)["adverts_sent"]
    cluster.wait_until("fw1 to send 100 more adverts (2 families)",
                       lambda: cluster.vhost("fw1", 1)["adverts_sent"] >= sent0 + 100,
                       timeout=10)
    t_down = time.time()
    cluster.kill_node("fw1")
    for vhid, _, _ in LEGS:
        cluster.wait_for_master(vhid, "fw2", timeout=3)
    cap.stop()
    legs = _legs(cluster, cap)
    fw1_v4 = [a.time for a in legs[0].fw1 if a.family == 4]
    assert len(fw1_v4) >= 40, f"only {len(fw1_v4)} IPv4 adverts of fw1 captured"
    return FastAdverts(t_down, legs, fw1_v4)


# --- ucarp -----------------------------------------------------------------------

UCARP_VHID = 10
UCARP_VIP = "192.0.2.100"  # not one of the lab's reserved VIPs
UCARP_PASSPHRASE = "hafw-ucarp-interop"  # 18 bytes: UCARP refuses more than 19
FW2_LAN = plan.ip("fw2", "lan", 4)


def ucarp_cluster(lab: Lab, paths: HafwPaths, skews: dict[str, int]) -> HafwCluster:
    """The cluster file lists both lab firewalls; only fw1 runs ha-agent.
    fw2's advskew is what its ucarp uses (the file's advskews must differ)."""
    vhid = Vhid(UCARP_VHID, "lan0", [f"{UCARP_VIP}/24"], dict(skews),
                passphrase=UCARP_PASSPHRASE)
    cluster = HafwCluster(lab, paths, vhids=[vhid], groups={})
    cluster.check("fw1")
    return cluster


def ucarp_vhost(cluster: HafwCluster, node: str = "fw1") -> dict:
    return cluster.vhost(node, UCARP_VHID)


def agent_drops(cluster: HafwCluster, node: str = "fw1") -> dict[str, int]:
    """Every drop counter of the node: the vhid's and the interfaces'."""
    status = cluster.status(node)
    drops: dict[str, int] = {}
    for part in (*status.get("vhosts", []), *status.get("interfaces", [])):
        for k, n in part.get("drops", {}).items():
            drops[k] = drops.get(k, 0) + n
    return drops


def ucarp_diagnostics(cluster: HafwCluster, ucarp: Ucarp):
    return lambda: (cluster.logs_text() + f"\n--- ucarp on {ucarp.node} ---\n"
                    + ucarp.log()[-4000:] + "\n--- ucarp events ---\n"
                    + "\n".join(ucarp.events()))


def assert_mutual_acceptance(cluster: HafwCluster, ucarp: Ucarp) -> None:
    assert "Bad digest" not in ucarp.log(), ucarp.log()
    assert "Bad TTL" not in ucarp.log(), ucarp.log()
    drops = agent_drops(cluster)
    assert drops.get("bad_auth", 0) == 0, drops
    assert drops.get("bad_ttl", 0) == 0, drops


def agent_bows_out_to_ucarp(lab: Lab, paths: HafwPaths, workdir: Path) -> float:
    """ha-agent (advskew 0) MASTER, ucarp (100) BACKUP; on SIGTERM the agent's
    bow-out makes ucarp take over through its "too slow" rule, not its
    ~4.2 s master-down timer. Returns the seconds from SIGTERM to ucarp MASTER."""
    cluster = ucarp_cluster(lab, paths, {"fw1": 0, "fw2": 100})
    # No --preempt: the bow-out must work through the "too slow" rule alone.
    ucarp = Ucarp(lab, "fw2", workdir, vip=UCARP_VIP, password=UCARP_PASSPHRASE,
                  vhid=UCARP_VHID, advskew=100, preempt=False)
    diag = ucarp_diagnostics(cluster, ucarp)
    cluster.start("fw1")
    ucarp.start()
    waits.wait_until("ha-agent on fw1 to be MASTER",
                     lambda: cluster.state("fw1", UCARP_VHID) == "MASTER", 8, diagnostics=diag)
    # Without hearing us, ucarp (advskew 100) would claim MASTER about 4.2 s
    # after its start (§3.2, §6). Watch it well past that point.
    waits.holds_for("fw1 alone holding the VIP while ucarp runs",
                    lambda: lab.holders(UCARP_VIP, "lan0") == ["fw1"] and ucarp.running(),
                    max(0.0, ucarp.started_at + 7.0 - time.monotonic()), interval=0.25,
                    diagnostics=diag)
    assert ucarp.states() == ["BACKUP"], diag()
    assert ucarp.status_line() == f"BACKUP on lan0 id {UCARP_VHID}", diag()
    v = ucarp_vhost(cluster)
    assert v["state"] == "MASTER" and v["adverts_sent"] >= 3, v
    assert_mutual_acceptance(cluster, ucarp)
    assert lab.ping("client", UCARP_VIP, count=2), diag()

    t0 = time.monotonic()
    assert cluster.stop("fw1") == 0, diag()
    took = waits.wait_until("ucarp to become MASTER", lambda: ucarp.state() == "MASTER", 6,
                            interval=0.05, diagnostics=diag)
    waits.wait_until("the VIP to be on fw2 only",
                     lambda: lab.holders(UCARP_VIP, "lan0") == ["fw2"], 3, diagnostics=diag)
    # ucarp logs why after its up-script returned and it advertised: the
    # "too slow" rule (what a bow-out triggers), not a master-down timeout.
    waits.wait_until("ucarp's reason",
                     lambda: "Putting MASTER DOWN (going to time out)" in ucarp.log(), 3,
                     interval=0.05, diagnostics=diag)
    print(f"ucarp took over {took * 1000:.0f} ms after ha-agent's SIGTERM "
          f"({time.monotonic() - t0:.2f} s until the VIP moved)")
    assert ucarp.events()[-1] == f"up lan0 {UCARP_VIP}", diag()
    assert ucarp.status_line() == f"MASTER on lan0 id {UCARP_VHID}", diag()
    assert lab.ping("client", UCARP_VIP, count=2, timeout=2), diag()
    return took


def agent_takes_over_from_dead_ucarp(lab: Lab, paths: HafwPaths, workdir: Path) -> float:
    """ucarp (advskew 0) MASTER, ha-agent (100) BACKUP with ucarp as last_peer;
    when ucarp dies (it sends no bow-out) ha-agent takes over by its
    master-down timer. Returns the seconds from ucarp's SIGTERM to MASTER."""
    cluster = ucarp_cluster(lab, paths, {"fw1": 100, "fw2": 0})
    ucarp = Ucarp(lab, "fw2", workdir, vip=UCARP_VIP, password=UCARP_PASSPHRASE,
                  vhid=UCARP_VHID, advskew=0, preempt=True)
    diag = ucarp_diagnostics(cluster, ucarp)
    ucarp.start()
    waits.wait_until("ucarp on fw2 to be MASTER", lambda: ucarp.state() == "MASTER", 8,
                     diagnostics=diag)
    waits.wait_until("the VIP on fw2", lambda: lab.holders(UCARP_VIP, "lan0") == ["fw2"], 3,
                     diagnostics=diag)
    agent_started = time.monotonic()
    cluster.start("fw1")
    waits.wait_until("ha-agent to hear ucarp",
                     lambda: ucarp_vhost(cluster)["adverts_received"] >= 1, 5, diagnostics=diag)
    # ha-agent's master-down interval is 3 + 100/256 s: watch past it.
    waits.holds_for("ha-agent BACKUP and the VIP on fw2",
                    lambda: (cluster.state("fw1", UCARP_VHID) == "BACKUP"
                             and lab.holders(UCARP_VIP, "lan0") == ["fw2"]),
                    max(0.0, agent_started + 5.5 - time.monotonic()), interval=0.25,
                    diagnostics=diag)
    v = ucarp_vhost(cluster)
    assert v["state"] == "BACKUP" and v["adverts_received"] >= 4, v
    peer = v["last_peer"]
    assert peer["address"] == FW2_LAN, peer
    assert (peer["advbase"], peer["advskew"], peer["demote"]) == (1, 0, 0), peer
    assert ucarp.states() == ["BACKUP", "MASTER"], diag()
    assert ucarp.status_line() == f"MASTER on lan0 id {UCARP_VHID}", diag()
    assert_mutual_acceptance(cluster, ucarp)
    text = cluster.hactl("fw1", "status")
    assert "BACKUP" in text and FW2_LAN in text, text

    # ucarp dies: SIGTERM to its pid; with --shutdown it runs the
    # down-script (VIP removed) and exits without a bow-out (§3.7).
    ucarp.send_signal(signal.SIGTERM)
    killed = time.monotonic()
    ucarp.proc.wait(timeout=5)
    waits.wait_until("ucarp's down-script",
                     lambda: ucarp.events()[-1:] == [f"down lan0 {UCARP_VIP}"], 3,
                     diagnostics=diag)
    cluster.wait_for_state("fw1", UCARP_VHID, "MASTER", timeout=8)
    took = time.monotonic() - killed
    waits.wait_until("the VIP on fw1 only", lambda: lab.holders(UCARP_VIP, "lan0") == ["fw1"],
                     2, diagnostics=diag)
    assert ucarp_vhost(cluster)["last_transition"]["cause"] == "master-down"
    print(f"ha-agent took over {took * 1000:.0f} ms after ucarp was killed")
    assert lab.ping("client", UCARP_VIP, count=2, timeout=2), diag()
    assert agent_drops(cluster).get("bad_auth", 0) == 0
    return took

