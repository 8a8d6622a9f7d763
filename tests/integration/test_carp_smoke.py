"""Smoke test of the real agent in the lab: two ha-agents elect, the VIPs
land on the master, and client-to-server traffic flows through them."""

from hafwkit import plan
from hafwkit.agents import HafwCluster


def test_two_agents_elect_and_forward_through_vips(lab, hafw_paths):
    cluster = HafwCluster(lab, hafw_paths)
    cluster.check("fw1")
    cluster.start_all()
    # fw1 (advskew 0) wins both vhids after one master-down interval (3 s).
    cluster.wait_for_master(1, "fw1", timeout=8)
    cluster.wait_for_master(2, "fw1", timeout=8)
    assert cluster.vip_holders(plan.LAN_VIP4, "lan0") == ["fw1"]
    assert cluster.vip_holders(plan.WAN_VIP4, "wan0") == ["fw1"]
    assert lab.ping("client", "198.51.100.10")
    status = cluster.status("fw2")
    lan = next(v for v in status["vhosts"] if v["vhid"] == 1)
    assert lan["state"] == "BACKUP"
    # Dual-stack vhid: the last advert heard came from fw1's IPv4 or link-local address.
    peer = lan["last_peer"]["address"]
    assert peer == "192.0.2.2" or peer.startswith("fe80:"), peer
    text = cluster.hactl("fw1", "status")
    assert "MASTER" in text
