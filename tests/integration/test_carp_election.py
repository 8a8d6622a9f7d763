"""CARP elections between real ha-agents in the namespace lab (issue 4):
advskew decides, a wrong passphrase is refused, several vhids on one
interface elect independently, and a three-node cluster fails over twice.

No timing is asserted here (test_carp_failover_timing.py does that); waits
are bounded by generous multiples of the master-down interval.
"""

from __future__ import annotations

import re

import pytest
from hafwkit import plan
from hafwkit.agents import HafwCluster
from hafwkit.spec import Vhid, default_vhids

SERVER4 = plan.ip("server", "wan", 4)
LAN_VIPS = (plan.LAN_VIP4, plan.LAN_VIP6)
WAN_VIPS = (plan.WAN_VIP4, plan.WAN_VIP6)


def _assert_holds_vips(cluster: HafwCluster, node: str, among: list[str] | None = None) -> None:
    """`node` alone (among the running nodes) holds every LAN and WAN VIP."""
    among = among or cluster.firewalls
    for vips, ifname in ((LAN_VIPS, "lan0"), (WAN_VIPS, "wan0")):
        for vip in vips:
            holders = [fw for fw in cluster.vip_holders(vip, ifname) if fw in among]
            assert holders == [node], f"{vip} on {ifname} is held by {holders}, expected [{node}]"


def _assert_stable_election(cluster: HafwCluster, master: str, backup: str,
                            master_skew: int) -> None:
    """The master won both vhids, and the backup keeps hearing and accepting it."""
    for vhid in (1, 2):
        cluster.wait_for_master(vhid, master, timeout=10)
        cluster.wait_for_state(backup, vhid, "BACKUP", timeout=5)
    # Stable: the backup accepts three more of the master's adverts (about
    # 3 x 1.4 s, bounded) and nothing changes meanwhile.
    received = {vhid: cluster.vhost(backup, vhid)["adverts_received"] for vhid in (1, 2)}
    cluster.wait_until(
        f"{backup} to accept 3 more adverts from {master}",
        lambda: all(cluster.vhost(backup, v)["adverts_received"] >= received[v] + 3
                    for v in (1, 2)), timeout=10)
    for vhid in (1, 2):
        assert cluster.masters(vhid) == [master]
        m = cluster.vhost(master, vhid)
        assert m["last_transition"]["to"] == "MASTER"
        assert m["last_transition"]["cause"] == "master-down", m["last_transition"]
        assert m["transitions"] == 2, f"{master} vhid {vhid} flapped: {m['transitions']}"
        b = cluster.vhost(backup, vhid)
        assert b["last_peer"]["advskew"] == master_skew, b["last_peer"]
        assert b["drops"].get("bad_auth", 0) == 0
    _assert_holds_vips(cluster, master)
    assert cluster.lab.ping("client", SERVER4), "no traffic through the VIPs"


def test_election_lowest_advskew_wins_fw1(lab, hafw_paths):
    """Default plan: fw1 advskew 0, fw2 100: fw1 masters both vhids."""
    cluster = HafwCluster(lab, hafw_paths)
    cluster.start_all()
    _assert_stable_election(cluster, master="fw1", backup="fw2", master_skew=0)


def test_election_lowest_advskew_wins_fw2(lab, hafw_paths):
    """The reverse plan, fw1 100 and fw2 0: fw2 wins, so the result follows
    advskew and not, say, start order or node name (fw1 starts first)."""
    vhids = default_vhids(lab.firewalls)
    for v in vhids:
        v.advskew = {"fw1": 100, "fw2": 0}
    cluster = HafwCluster(lab, hafw_paths, vhids=vhids)
    cluster.start_all()
    _assert_stable_election(cluster, master="fw2", backup="fw1", master_skew=0)


def test_wrong_passphrase_adverts_dropped_as_bad_auth_both_master(lab, hafw_paths):
    """fw2 has another passphrase for vhid 1: each side drops the other's
    advertisements (HMAC mismatch), so both become MASTER of vhid 1, as
    CARP defines, and `hactl status` shows the bad_auth drops. vhid 2 is
    unaffected."""
    cluster = HafwCluster(lab, hafw_paths)
    cluster.passphrase_override[("fw2", 1)] = "other"
    cluster.start_all()
    cluster.wait_until("both nodes MASTER of vhid 1",
                       lambda: cluster.masters(1) == ["fw1", "fw2"], timeout=10)
    cluster.wait_for_master(2, "fw1", timeout=5)
    cluster.wait_until(
        "bad_auth drops on both nodes",
        lambda: all(cluster.vhost(fw, 1)["drops"].get("bad_auth", 0) >= 2
                    for fw in ("fw1", "fw2")), timeout=10)
    for fw in ("fw1", "fw2"):
        v1 = cluster.vhost(fw, 1)
        assert v1["adverts_received"] == 0, f"{fw} accepted an advert with the wrong key"
        assert "last_peer" not in v1 or not v1["last_peer"].get("address"), v1.get("last_peer")
        text = cluster.hactl(fw, "status")
        line = next((l for l in text.splitlines() if l.strip().startswith("vhid 1 on lan0:")),
                    None)
        assert line is not None, f"no counters line for vhid 1 in:\n{text}"
        m = re.search(r"dropped:.*\bbad_auth (\d+)", line)
        assert m and int(m.group(1)) >= 2, f"{fw}: bad_auth not visible in: {line!r}"
    # vhid 2 (same passphrase) is a normal election.
    assert cluster.state("fw2", 2) == "BACKUP"
    v2 = cluster.vhost("fw2", 2)
    assert v2["adverts_received"] > 0 and v2["drops"].get("bad_auth", 0) == 0


def test_two_vhids_on_one_interface_elect_independently(lab, hafw_paths):
    """vhid 1 and vhid 3 share lan0 with different VIPs and opposite advskews:
    fw1 masters vhid 1, fw2 vhid 3. Each engine gets only its own vhid's
    adverts (a mix-up would show as a wrong peer advskew or bad_auth drops,
    since the HMAC covers the VIPs), ARP for each VIP is answered by its
    master, and vhid 3 fails over alone when fw2 stops."""
    extra4, extra6 = "192.0.2.100", "2001:db8:1::100"
    vhids = [
        Vhid(1, "lan0", [f"{plan.LAN_VIP4}/24", f"{plan.LAN_VIP6}/64"],
             {"fw1": 0, "fw2": 100}),
        Vhid(3, "lan0", [f"{extra4}/24", f"{extra6}/64"], {"fw1": 100, "fw2": 0}),
        Vhid(2, "wan0", [f"{plan.WAN_VIP4}/24", f"{plan.WAN_VIP6}/64"],
             {"fw1": 0, "fw2": 100}),
    ]
    cluster = HafwCluster(lab, hafw_paths, vhids=vhids)
    cluster.start_all()
    cluster.wait_for_master(1, "fw1", timeout=10)
    cluster.wait_for_master(2, "fw1", timeout=10)
    cluster.wait_for_master(3, "fw2", timeout=10)
    for node, vhid in (("fw2", 1), ("fw1", 3)):
        cluster.wait_for_state(node, vhid, "BACKUP", timeout=5)
        cluster.wait_until(f"{node} to hear vhid {vhid}'s master",
                           lambda: cluster.vhost(node, vhid)["adverts_received"] >= 2,
                           timeout=10)
        v = cluster.vhost(node, vhid)
        assert v["last_peer"]["advskew"] == 0, (node, vhid, v["last_peer"])
    for fw in ("fw1", "fw2"):
        for vhid in (1, 3):
            drops = cluster.vhost(fw, vhid)["drops"]
            assert not drops, f"{fw} vhid {vhid} dropped adverts: {drops}"
    assert cluster.vip_holders(plan.LAN_VIP4, "lan0") == ["fw1"]
    assert cluster.vip_holders(extra4, "lan0") == ["fw2"]
    assert cluster.vip_holders(extra6, "lan0") == ["fw2"]

    # The client reaches each VIP at its own master's MAC.
    for vip, owner in ((plan.LAN_VIP4, "fw1"), (extra4, "fw2"), (extra6, "fw2")):
        assert lab.ping("client", vip), f"{vip} does not answer"
        neigh = lab.run("client", ["ip", "neigh", "show", vip, "dev", "eth0"]).stdout
        assert cluster.mac(owner, "lan0") in neigh.lower(), f"{vip}: {neigh!r}"

    # Only vhid 3 moves when fw2 stops (bow-out); fw1's vhid 1 is untouched.
    transitions = cluster.vhost("fw1", 1)["transitions"]
    cluster.stop("fw2")
    cluster.wait_for_master(3, "fw1", timeout=5)
    assert cluster.vhost("fw1", 1)["transitions"] == transitions
    assert cluster.vip_holders(extra4, "lan0") == ["fw1"]


@pytest.mark.lab(firewalls=3)
def test_three_nodes_next_best_takes_over_twice(lab, hafw_paths):
    """fw1 (0), fw2 (100), fw3 (200): one master per vhid; when fw1 dies fw2
    (the next best) takes over, not fw3; when fw2 dies too, fw3 does."""
    cluster = HafwCluster(lab, hafw_paths)
    cluster.start_all()
    for vhid in (1, 2):
        cluster.wait_for_master(vhid, "fw1", timeout=10)
        for fw in ("fw2", "fw3"):
            cluster.wait_for_state(fw, vhid, "BACKUP", timeout=5)
    _assert_holds_vips(cluster, "fw1")

    cluster.kill_node("fw1")
    for vhid in (1, 2):
        cluster.wait_for_master(vhid, "fw2", timeout=10)
    alive = ["fw2", "fw3"]
    # fw3 stays BACKUP and now follows fw2 (advskew 100). fw2 may have
    # needed a moment to become MASTER: wait for fw3 to hear it.
    for vhid in (1, 2):
        cluster.wait_until(f"fw3 to hear fw2 on vhid {vhid}",
                           lambda: cluster.vhost("fw3", vhid).get("last_peer", {})
                           .get("advskew") == 100, timeout=5)
        assert cluster.state("fw3", vhid) == "BACKUP"
    _assert_holds_vips(cluster, "fw2", among=alive)
    cluster.wait_until("client -> server through fw2",
                       lambda: lab.ping("client", SERVER4, timeout=1), timeout=5)

    cluster.kill_node("fw2")
    for vhid in (1, 2):
        cluster.wait_for_master(vhid, "fw3", timeout=10)
        # lan0 went down first, so vhid 1 timed out; fw2's agent was still
        # alive for a few ms and may have advertised its link demotion on wan0.
        assert cluster.vhost("fw3", vhid)["last_transition"]["cause"] in (
            "master-down", "master-demoted")
    _assert_holds_vips(cluster, "fw3", among=["fw3"])
    cluster.wait_until("client -> server through fw3",
                       lambda: lab.ping("client", SERVER4, timeout=1), timeout=5)
