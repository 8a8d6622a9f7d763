"""Building the lab: namespaces, the bridges in the switch namespace, one
veth pair per leg, addresses, sysctls, the firewalls' ruleset and the
default routes (through the VIPs). Lab.up() calls ``build`` and tears down
whatever was built if it fails.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import netns, plan
from .plan import BRIDGES, IFNAMES, SWITCH

if TYPE_CHECKING:
    from .lab import Lab


def _add_ns(lab: "Lab", node: str) -> None:
    name = lab.ns(node)
    netns.run_host(["ip", "netns", "add", name])
    lab._owned_ns.append(name)
    lab.run(node, ["ip", "link", "set", "lo", "up"])


def build(lab: "Lab") -> None:
    """Builds every namespace, link, address, sysctl and the ruleset of ``lab``."""
    _add_ns(lab, SWITCH)
    # The switch only bridges: no IPv6 (no RS/MLD chatter from the bridges).
    lab.sysctl(SWITCH, {"net.ipv6.conf.all.disable_ipv6": 1,
                        "net.ipv6.conf.default.disable_ipv6": 1})
    snoop = "1" if lab.igmp_snooping else "0"
    for br in BRIDGES.values():
        lab.run(SWITCH, ["ip", "link", "add", br, "type", "bridge", "stp_state", "0",
                         "mcast_snooping", snoop, "mcast_querier", snoop])
        lab.run(SWITCH, ["ip", "link", "set", br, "up"])
    ruleset = plan.firewall_ruleset(nat=lab.nat, ftp_helper=lab.ftp_helper)
    for node in lab.nodes:
        _add_ns(lab, node)
        fw = node.startswith("fw")
        # Settings that new interfaces in this namespace inherit: no DAD
        # (addresses usable at once), no autoconfiguration from RAs.
        lab.sysctl(node, {
            "net.ipv6.conf.all.accept_dad": 0,
            "net.ipv6.conf.default.accept_dad": 0,
            "net.ipv6.conf.all.accept_ra": 0,
            "net.ipv6.conf.default.accept_ra": 0,
            "net.ipv4.conf.all.rp_filter": 0,
            "net.ipv4.conf.default.rp_filter": 0,
        })
        if fw:
            lab.sysctl(node, {
                "net.ipv4.ip_forward": 1,
                "net.ipv6.conf.all.forwarding": 1,
                "net.ipv6.conf.default.forwarding": 1,
                # A firewall must not tell the client to bypass it.
                "net.ipv4.conf.all.send_redirects": 0,
                "net.ipv4.conf.default.send_redirects": 0,
            })
        for leg, ifname in IFNAMES[node].items():
            _add_leg(lab, node, leg, ifname)
        if fw:
            lab.run(node, ["nft", "-f", "-"], input=ruleset)
            # After the ruleset: conntrack is active in this namespace now.
            lab.sysctl(node, {"net.netfilter.nf_conntrack_tcp_loose": 0})
    lab.route_via_vips()


def _add_leg(lab: "Lab", node: str, leg: str, ifname: str) -> None:
    port = f"{node}-{leg}"  # bridge port name in sw, at most 10 chars
    lab.run(SWITCH, ["ip", "link", "add", port, "type", "veth",
                     "peer", "name", ifname, "netns", lab.ns(node)])
    lab.run(SWITCH, ["ip", "link", "set", port, "master", BRIDGES[leg]])
    lab.run(SWITCH, ["ip", "link", "set", port, "up"])
    lab.sysctl(node, {f"net.ipv6.conf.{ifname}.accept_dad": 0})
    for addr in plan.static_addresses(node, leg):
        lab.run(node, ["ip", "addr", "add", addr, "dev", ifname])
    lab.run(node, ["ip", "link", "set", ifname, "up"])
