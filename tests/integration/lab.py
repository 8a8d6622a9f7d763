#!/usr/bin/env python3
"""Command line of the hafw network-namespace lab (the lab itself is
hafwkit.lab; see docs/testing.md). For shell scripts and the demo:

    /usr/bin/python3 tests/integration/lab.py up --prefix P [--firewalls 3]
         [--igmp-snooping] [--nat snat|masquerade] [--ftp-helper] [--route-via fw1]
    /usr/bin/python3 tests/integration/lab.py status --prefix P [--json]
    /usr/bin/python3 tests/integration/lab.py down --prefix P
    /usr/bin/python3 tests/integration/lab.py sweep
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hafwkit import netns, plan  # noqa: E402
from hafwkit.lab import Lab, valid_prefix  # noqa: E402


def _down(prefix: str) -> int:
    left = netns.delete_namespaces([prefix + n for n in plan.ALL_NODES])
    if left:
        print(f"lab down: could not delete {left}", file=sys.stderr)
        return 1
    print(f"lab {prefix}: down")
    return 0


def _status(prefix: str, as_json: bool) -> int:
    existing = set(netns.list_netns())
    if prefix + "fw1" not in existing:
        print(f"lab {prefix}: not present")
        return 1
    # A plain handle (no attach): it must also describe a half-built lab.
    count = sum(1 for fw in plan.FIREWALL_NAMES if prefix + fw in existing)
    info = Lab(prefix=prefix, firewalls=count).status()
    if as_json:
        print(json.dumps(info, indent=2))
    else:
        print(f"lab {prefix}: {'complete' if info['complete'] else 'INCOMPLETE'}, "
              f"{info['firewalls']} firewalls")
        for node, e in info["nodes"].items():
            print(f"  {node:7} {e['namespace']}{'' if e['exists'] else '  (missing)'}")
            for ifn, i in e.get("interfaces", {}).items():
                print(f"          {ifn:6} {i['state']:5} {' '.join(i['addresses'])}")
            for r in e.get("routes", []):
                print(f"          route {r}")
    return 0 if info["complete"] else 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="the hafw network-namespace lab")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("up", help="build a lab and leave it running")
    p.add_argument("--prefix", required=True)
    p.add_argument("--firewalls", type=int, choices=range(1, plan.MAX_FIREWALLS + 1), default=2)
    p.add_argument("--igmp-snooping", action="store_true")
    p.add_argument("--nat", choices=("snat", "masquerade"),
                   help="NAT LAN -> WAN traffic (snat: to the WAN VIPs)")
    p.add_argument("--ftp-helper", action="store_true",
                   help="conntrack's FTP helper on LAN -> WAN tcp/21")
    p.add_argument("--route-via", metavar="FW",
                   help="route client/server via this firewall's static addresses")
    for name in ("down", "status"):
        p = sub.add_parser(name)
        p.add_argument("--prefix", required=True)
        if name == "status":
            p.add_argument("--json", action="store_true")
    sub.add_parser("sweep", help="delete labs left behind by dead test runs")
    a = ap.parse_args(argv)

    if a.cmd == "sweep":
        netns.sweep_stale_labs()
        return 0
    if not valid_prefix(a.prefix):
        ap.error(f"bad prefix {a.prefix!r}")
    if a.cmd == "up":
        lab = Lab(prefix=a.prefix, firewalls=a.firewalls, igmp_snooping=a.igmp_snooping,
                  nat=a.nat, ftp_helper=a.ftp_helper)
        lab.up()
        if a.route_via:
            lab.route_via_static(a.route_via)
        lab.detach()
        print(f"lab {a.prefix}: up; namespaces: " + " ".join(lab.namespaces()))
        return 0
    if a.cmd == "down":
        return _down(a.prefix)
    return _status(a.prefix, a.json)


if __name__ == "__main__":
    sys.exit(main())
