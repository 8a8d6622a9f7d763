#!/usr/bin/env python3
"""The hafw demo's steps, run against a lab built by `lab.py up` (tools/demo.sh).

Each step is a function of a DemoContext; STEPS lists them in order. A new
step (e.g. a live CARP failover: start ha-agent in fw1 and fw2 with
ctx.lab.popen, route via the VIPs, stop fw1's agent, watch the UDP probe) is
one more function and one more line in STEPS.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))
import lab as labmod  # noqa: E402
from lab import Lab  # noqa: E402

SERVER4 = Lab.ip("server", "wan", 4)
SERVER6 = Lab.ip("server", "wan", 6)
CLIENT4 = Lab.ip("client", "lan", 4)


@dataclasses.dataclass
class DemoContext:
    lab: Lab
    build_dir: Path
    config: Path | None

    @property
    def ha_agent(self) -> Path:
        return self.build_dir / "haagent" / "ha-agent"

    @property
    def hactl(self) -> Path:
        return self.build_dir / "haagent" / "cli" / "hactl"


class DemoFailure(Exception):
    """A step did not show what it should: the demo fails loudly."""


def say(msg: str) -> None:
    print(f"  {msg}", flush=True)


def expect(ok: bool, what: str) -> None:
    if not ok:
        raise DemoFailure(what)
    say(f"ok: {what}")


def step_topology(ctx: DemoContext) -> None:
    info = ctx.lab.status()
    for node, entry in info["nodes"].items():
        say(f"{node:7} namespace {entry['namespace']}")
        for ifname, i in entry.get("interfaces", {}).items():
            say(f"          {ifname:6} {' '.join(i['addresses'])}")
    expect(info["complete"], "every namespace of the lab exists")


def step_traffic_through_fw1(ctx: DemoContext) -> None:
    lab = ctx.lab
    say("no virtual IP is up yet, so route client and server through fw1's own addresses")
    lab.route_via_static("fw1")
    expect(lab.ping("client", SERVER4, count=3), f"client pings server {SERVER4}")
    expect(lab.ping("client", SERVER6, count=3), f"client pings server {SERVER6}")
    lab.start_tcp_echo_server()
    with lab.tcp_echo_client(SERVER4) as conn:
        expect(conn.echo("hello through fw1") == "hello through fw1",
               "a TCP connection client -> server echoes a line")
        ct = lab.run("fw1", ["conntrack", "-L", "-p", "tcp", "--dport",
                             str(labmod.TCP_ECHO_PORT)], check=False).stdout.strip()
        say("fw1's conntrack entry for it:")
        for line in ct.splitlines():
            say(f"    {line}")
        expect("ESTABLISHED" in ct, "fw1 tracks the connection")
    lab.start_udp_echo_server()
    probe = lab.start_udp_probe(SERVER4, interval_ms=10, duration=30)
    time.sleep(2.0)
    result = probe.stop()
    say(f"UDP probe: {len(result.sent)} sent, {len(result.received)} answered, "
        f"longest gap {result.longest_gap() * 1000:.0f} ms")
    expect(result.lost <= 2, "the UDP probe gets (almost) every packet back")


def step_strict_ruleset(ctx: DemoContext) -> None:
    lab = ctx.lab
    lab.start_tcp_echo_server(node="client")
    try:
        lab.tcp_echo_client(CLIENT4, node="server", connect_timeout=2).close()
        blocked = False
    except labmod.LabError:
        blocked = True
    expect(blocked, "a NEW connection from the server side to the client is dropped")
    dropped = lab.rule_counter("fw1", "forward", "forward-policy-drop")
    say(f"fw1 forward policy drops so far: {dropped} packets")


STEPS: list[tuple[str, Callable[[DemoContext], None]]] = [
    ("the lab", step_topology),
    ("client -> server through fw1", step_traffic_through_fw1),
    ("the firewall is strict", step_strict_ruleset),
]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--prefix", required=True, help="the lab's namespace prefix")
    ap.add_argument("--build-dir", type=Path, default=REPO / "build")
    ap.add_argument("--config", type=Path, help="cluster file (with lab secrets)")
    args = ap.parse_args()

    lab = Lab.attach(args.prefix)
    ctx = DemoContext(lab=lab, build_dir=args.build_dir, config=args.config)
    try:
        for i, (title, step) in enumerate(STEPS, 1):
            print(f"\n== {i}. {title}", flush=True)
            step(ctx)
    except (DemoFailure, labmod.LabError) as e:
        print(f"\ndemo FAILED: {e}", file=sys.stderr)
        return 1
    finally:
        lab.teardown()  # our processes; the namespaces belong to demo.sh
    print("\ndemo: all steps passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
