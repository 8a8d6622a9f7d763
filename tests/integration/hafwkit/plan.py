"""The lab's fixed plan: node and interface names, documentation addresses,
ports, and the firewalls' nftables ruleset (with the optional NAT and FTP
helper parts). Pure data and text: nothing here touches the system.

    client --+                        +-- server
             |  LAN bridge   WAN bridge |
    fw1 lan0-+                        +-wan0 fw1
    fw2 lan0-+                        +-wan0 fw2      sync0 of every firewall
   (fw3 lan0-+                        +-wan0 fw3)     on a third bridge
"""

from __future__ import annotations

import ipaddress
import sys

PYTHON = "/usr/bin/python3"  # Debian's python: the helpers need nothing else.

SYNC_PORT = 7788
TCP_ECHO_PORT = 5001
UDP_ECHO_PORT = 5002
FLOW_TCP_PORT = 5003   # hafwkit.flows server (long-lived flows, bulk connections)
FLOW_UDP_PORT = 5004
FTP_PORT = 21

MAX_FIREWALLS = 3

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

FIREWALL_NAMES = tuple(f"fw{i}" for i in range(1, MAX_FIREWALLS + 1))
HOST_IDS = {
    "client": {"lan": 10},
    "server": {"wan": 10},
    **{fw: {"lan": i + 1, "wan": i + 1, "sync": i} for i, fw in enumerate(FIREWALL_NAMES, 1)},
}

# Interface name of each leg inside its node.
IFNAMES = {
    "client": {"lan": "eth0"},
    "server": {"wan": "eth0"},
    **{fw: {"lan": "lan0", "wan": "wan0", "sync": "sync0"} for fw in FIREWALL_NAMES},
}
BRIDGES = {"lan": "brlan", "wan": "brwan", "sync": "brsync"}
SWITCH = "sw"
ALL_NODES = ("client", "server", *FIREWALL_NAMES, SWITCH)

NAT_MODES = (None, "snat", "masquerade")


def host(net: ipaddress.IPv4Network | ipaddress.IPv6Network, host_id: int
         ) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """Host .N in IPv4 and ::N in IPv6 with the same digits (.10 and ::10)."""
    if net.version == 6:
        host_id = int(str(host_id), 16)
    return net.network_address + host_id


def ip(node: str, leg: str, family: int = 4) -> str:
    """A node's static address on a leg ("lan", "wan", "sync"), no prefix length."""
    return str(host(NETWORKS[leg][0 if family == 4 else 1], HOST_IDS[node][leg]))


def static_addresses(node: str, leg: str) -> list[str]:
    """The node's addresses on a leg with prefix length, IPv4 then IPv6."""
    return [f"{host(net, HOST_IDS[node][leg])}/{net.prefixlen}" for net in NETWORKS[leg]]


def ifname(node: str, leg: str) -> str:
    """Interface name of a node's leg: client/server "eth0", firewalls lan0/wan0/sync0."""
    return IFNAMES[node][leg]


# The firewalls' ruleset: the *user's* table. Strict and stateful: forward
# policy drop, NEW only LAN -> WAN, invalid dropped, and the input chain lets
# through only what an HA pair needs (ND/MLD, ICMP, CARP, the sync port on the
# sync leg). Counters with comments let tests read why packets were dropped.
_FILTER = """\
table inet filter {{
{helper_object}    chain input {{
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
        iifname "sync0" meta l4proto {{ tcp, udp }} th dport {sync_port} counter accept comment "sync"
        counter comment "input-policy-drop"
    }}
{helper_chain}    chain forward {{
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

# This kernel never assigns helpers by itself (nf_conntrack_helper=0): an
# explicit ct helper object, for FTP control connections from the LAN.
_HELPER_OBJECT = """\
    ct helper ftp-standard {
        type "ftp" protocol tcp;
        l3proto inet;
    }
"""
_HELPER_CHAIN = f"""\
    chain helpers {{
        type filter hook prerouting priority filter; policy accept;
        iifname "lan0" tcp dport {FTP_PORT} ct helper set "ftp-standard" counter comment "ftp-helper"
    }}
"""

# Only forwarded LAN traffic (iifname is empty for the node's own packets, so
# CARP adverts and sync traffic keep their real source address).
_NAT = """\
table inet nat {{
    chain postrouting {{
        type nat hook postrouting priority srcnat; policy accept;
{rules}    }}
}}
"""


def firewall_ruleset(nat: str | None = None, ftp_helper: bool = False,
                     sync_port: int = SYNC_PORT) -> str:
    """The ruleset loaded into every firewall (``nft -f -``).

    ``nat``: None (no NAT), "snat" (LAN -> WAN rewritten to the WAN VIPs, what
    an HA pair needs: replies follow the VIP) or "masquerade" (to the node's
    own primary WAN address). ``ftp_helper``: assign conntrack's FTP helper
    to LAN -> WAN tcp/21 through a ``ct helper`` object.
    """
    if nat not in NAT_MODES:
        raise ValueError(f"nat must be one of {NAT_MODES}, not {nat!r}")
    text = _FILTER.format(sync_port=sync_port,
                          helper_object=_HELPER_OBJECT if ftp_helper else "",
                          helper_chain=_HELPER_CHAIN if ftp_helper else "")
    if nat:
        match = 'iifname "lan0" oifname "wan0"'
        if nat == "snat":
            rules = (f'        {match} meta nfproto ipv4 counter snat ip to {WAN_VIP4} '
                     f'comment "snat4"\n'
                     f'        {match} meta nfproto ipv6 counter snat ip6 to {WAN_VIP6} '
                     f'comment "snat6"\n')
        else:
            rules = f'        {match} counter masquerade comment "masquerade"\n'
        text += _NAT.format(rules=rules)
    return text


# The ruleset without options, as tests and docs refer to it.
FIREWALL_RULESET = firewall_ruleset()

if __name__ == "__main__":  # print the ruleset: python3 -m hafwkit.plan [snat|masquerade]
    print(firewall_ruleset(sys.argv[1] if len(sys.argv) > 1 else None, ftp_helper=True))
