"""CARP and the real Linux links (issue 4): a parent link going down moves
every vhid of its interface group, and IPv6 VIPs work end to end (usable
addresses, forwarding, unsolicited NAs with the override flag on takeover).
"""

from __future__ import annotations

import json

from hafwkit import plan
from hafwkit.agents import HafwCluster

SERVER4 = plan.ip("server", "wan", 4)
SERVER6 = plan.ip("server", "wan", 6)


def _wait_fw1_master(cluster: HafwCluster) -> None:
    for vhid in (1, 2):
        cluster.wait_for_master(vhid, "fw1", timeout=10)
        cluster.wait_for_state("fw2", vhid, "BACKUP", timeout=5)


def test_parent_link_down_moves_whole_group_and_preempt_brings_it_back(lab, hafw_paths):
    """fw1's lan0 goes down: vhid 1 (lan0) goes INIT on fw1 and fw2 takes it
    after its master-down interval; vhid 2 (wan0, link still up) must move
    too, because the link failure demotes group "edge" = [lan0, wan0] and fw2
    takes over a more-demoted master at once. Otherwise the WAN VIP would
    stay on fw1, which cannot reach the LAN any more. With lan0 back up the
    demotion is withdrawn and preempt returns both vhids to fw1."""
    cluster = HafwCluster(lab, hafw_paths)
    cluster.start_all()
    _wait_fw1_master(cluster)
    assert lab.ping("client", SERVER4)

    lab.link_down("fw1", "lan0")
    for vhid in (1, 2):
        cluster.wait_for_master(vhid, "fw2", timeout=8)
    lan = cluster.vhost("fw1", 1)
    assert lan["state"] == "INIT" and not lan["link_up"], lan
    assert lan["last_transition"]["cause"] == "link-down", lan["last_transition"]
    wan = cluster.vhost("fw1", 2)
    assert wan["state"] == "BACKUP" and wan["link_up"] and wan["demote"] >= 1, wan
    reasons = {(r["group"], r["reason"]) for r in wan["demotion_reasons"]}
    assert any(g == "edge" and "lan0" in r for g, r in reasons), reasons
    # fw2 took the WAN vhid because fw1 advertised its demotion, not by timeout.
    assert cluster.vhost("fw2", 2)["last_transition"]["cause"] == "master-demoted"
    for vip in (plan.WAN_VIP4, plan.WAN_VIP6):
        assert cluster.vip_holders(vip, "wan0") == ["fw2"], f"{vip} left behind on fw1"
    assert cluster.vip_holders(plan.LAN_VIP4, "lan0") == ["fw2"]
    cluster.wait_until("client -> server through fw2",
                       lambda: lab.ping("client", SERVER4, timeout=1), timeout=5)

    lab.link_up("fw1", "lan0")
    for vhid in (1, 2):
        cluster.wait_for_master(vhid, "fw1", timeout=8)
        assert cluster.vhost("fw1", vhid)["last_transition"]["cause"] == "preempted"
        cluster.wait_for_state("fw2", vhid, "BACKUP", timeout=5)
    assert cluster.vhost("fw1", 2)["demote"] == 0
    for vip, ifname in ((plan.LAN_VIP4, "lan0"), (plan.WAN_VIP4, "wan0"),
                        (plan.WAN_VIP6, "wan0")):
        assert cluster.vip_holders(vip, ifname) == ["fw1"], vip
    cluster.wait_until("client -> server through fw1 again",
                       lambda: lab.ping("client", SERVER4, timeout=1), timeout=5)


def _ipv6_vip_flags(lab, node: str, ifname: str, vip: str) -> dict | None:
    """The `ip -j` entry of an IPv6 address (flags such as tentative), or None."""
    data = json.loads(lab.run(node, ["ip", "-j", "-6", "addr", "show", "dev", ifname]).stdout)
    for link in data:
        for a in link.get("addr_info", []):
            if a.get("local") == vip:
                return a
    return None


def _neighbour_mac(lab, node: str, addr: str) -> str | None:
    data = json.loads(lab.run(node, ["ip", "-j", "neigh", "show", addr, "dev", "eth0"]).stdout
                      or "[]")
    return data[0].get("lladdr", "").lower() if data else None


def test_ipv6_vips_usable_ping6_and_override_na_on_takeover(lab, hafw_paths):
    """The master's IPv6 VIPs are usable at once (not tentative, no DAD
    failure), ping6 client -> server goes through them, and every takeover
    sends an unsolicited NA (to ff02::1, override flag, the new master's
    MAC) that moves the client's and the server's neighbour entries."""
    cluster = HafwCluster(lab, hafw_paths)
    cap = cluster.capture()
    cluster.start_all()
    _wait_fw1_master(cluster)
    macs = {(fw, ifname): cluster.mac(fw, ifname) for fw in ("fw1", "fw2")
            for ifname in ("lan0", "wan0")}

    for vip, ifname in ((plan.LAN_VIP6, "lan0"), (plan.WAN_VIP6, "wan0")):
        entry = _ipv6_vip_flags(lab, "fw1", ifname, vip)
        assert entry is not None, f"{vip} not on fw1 {ifname}"
        assert entry["prefixlen"] == 64
        for flag in ("tentative", "dadfailed", "deprecated"):
            assert not entry.get(flag), f"{vip} on fw1 is {flag}: {entry}"
        assert _ipv6_vip_flags(lab, "fw2", ifname, vip) is None, f"{vip} also on fw2"
    assert lab.ping("client", SERVER6), "ping6 client -> server through fw1 failed"
    assert _neighbour_mac(lab, "client", plan.LAN_VIP6) == macs[("fw1", "lan0")]
    assert _neighbour_mac(lab, "server", plan.WAN_VIP6) == macs[("fw1", "wan0")]

    cluster.stop("fw1")
    for vhid in (1, 2):
        cluster.wait_for_master(vhid, "fw2", timeout=5)
    cluster.wait_until("ping6 client -> server through fw2",
                       lambda: lab.ping("client", SERVER6, timeout=1), timeout=5)
    cap.stop()
    # The NA override flag is what lets the existing (reachable) entries
    # switch to fw2's MAC without waiting for them to go stale.
    assert _neighbour_mac(lab, "client", plan.LAN_VIP6) == macs[("fw2", "lan0")]
    assert _neighbour_mac(lab, "server", plan.WAN_VIP6) == macs[("fw2", "wan0")]
    for vip, ifname in ((plan.LAN_VIP6, "lan0"), (plan.WAN_VIP6, "wan0")):
        assert cluster.vip_holders(vip, ifname) == ["fw2"]

    nas = cap.neighbor_adverts()
    for fw in ("fw1", "fw2"):
        for vip, ifname, bridge in ((plan.LAN_VIP6, "lan0", "brlan"),
                                    (plan.WAN_VIP6, "wan0", "brwan")):
            mine = [n for n in nas if n.bridge == bridge and n.target == vip
                    and n.src_mac == macs[(fw, ifname)] and not n.solicited]
            assert mine, (f"no unsolicited NA for {vip} from {fw} on {bridge}; saw "
                          f"{[(n.src_mac, n.target, n.solicited) for n in nas]}")
            na = mine[0]
            assert na.override, f"NA for {vip} from {fw} lacks the override flag: {na}"
            assert na.dst == "ff02::1", na
            assert na.target_lladdr == macs[(fw, ifname)], na
