#!/usr/bin/env python3
"""The hafw demo's steps, run against a lab built by `lab.py up` (tools/demo.sh).

Each step is a function of a DemoContext; STEPS lists them in order. The first
steps show the lab and its strict firewall; then ha-agent runs on fw1 and fw2
(tests/integration/hafwkit: the vhids of etc/hafw.toml), fw1 becomes
MASTER, the client talks to the server through the virtual addresses, and fw1
fails twice: a graceful stop (bow-out) and a dead node. A UDP probe measures
each outage.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))
from hafwkit import plan, waits  # noqa: E402
from hafwkit.agents import ClusterError, HafwCluster  # noqa: E402
from hafwkit.lab import Lab  # noqa: E402
from hafwkit.netns import LabError  # noqa: E402
from hafwkit.paths import HafwPaths  # noqa: E402
from hafwkit.traffic import ProbeResult, TcpEchoClient  # noqa: E402

SERVER4 = plan.ip("server", "wan", 4)
SERVER6 = plan.ip("server", "wan", 6)
CLIENT4 = plan.ip("client", "lan", 4)


@dataclasses.dataclass
class DemoContext:
    lab: Lab
    build_dir: Path
    config: Path | None
    cluster: HafwCluster | None = None
    tcp: TcpEchoClient | None = None
    outages: list[tuple[str, float, float]] = dataclasses.field(default_factory=list)

    @property
    def paths(self) -> HafwPaths:
        return HafwPaths(self.build_dir, REPO)

    @property
    def ha_agent(self) -> Path:
        return self.paths.ha_agent

    @property
    def hactl(self) -> Path:
        return self.paths.hactl


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
                             str(plan.TCP_ECHO_PORT)], check=False).stdout.strip()
        say("fw1's conntrack entry for it:")
        for line in ct.splitlines():
            say(f"    {line}")
        expect("ESTABLISHED" in ct, "fw1 tracks the connection")
    lab.start_udp_echo_server()
    probe = lab.start_udp_probe(SERVER4, interval_ms=10, duration=30)
    waits.wait_until("200 probe replies", lambda: probe.progress().received >= 200, 10)
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
    except LabError:
        blocked = True
    expect(blocked, "a NEW connection from the server side to the client is dropped")
    dropped = lab.rule_counter("fw1", "forward", "forward-policy-drop")
    say(f"fw1 forward policy drops so far: {dropped} packets")

def show_status(ctx: DemoContext, node: str) -> None:
    """`hactl status` of a node: the vhid table and the peers, not the counters."""
    assert ctx.cluster is not None
    say(f"$ hactl status   (on {node})")
    for line in ctx.cluster.hactl(node, "status").splitlines():
        if line.startswith("Demotion:"):
            break
        if line.strip():
            say(f"    {line}")


def show_addresses(ctx: DemoContext, node: str) -> None:
    say(f"addresses on {node} (ip addr, global scope):")
    for ifname in ("lan0", "wan0"):
        addrs = " ".join(ctx.lab.addresses(node, ifname))
        say(f"    {ifname:5} {addrs}")


def vips_on(ctx: DemoContext, node: str) -> bool:
    lan = {a.split("/")[0] for a in ctx.lab.addresses(node, "lan0")}
    wan = {a.split("/")[0] for a in ctx.lab.addresses(node, "wan0")}
    return {plan.LAN_VIP4, plan.LAN_VIP6} <= lan and {plan.WAN_VIP4, plan.WAN_VIP6} <= wan


def wait_masters(ctx: DemoContext, node: str, timeout: float) -> float:
    """Waits until `node` is the only MASTER of both vhids; returns the seconds."""
    assert ctx.cluster is not None
    t0 = time.monotonic()
    try:
        ctx.cluster.wait_until(f"{node} to be the only MASTER of vhids 1 and 2",
                               lambda: ctx.cluster.masters(1) == [node]
                               and ctx.cluster.masters(2) == [node], timeout)
    except (ClusterError, waits.WaitTimeout) as e:
        raise DemoFailure(str(e).splitlines()[0]) from e
    return time.monotonic() - t0


def report_probe(result: ProbeResult) -> float:
    gap = result.longest_gap()
    outages = result.outages()
    say(f"UDP probe client -> server every 10 ms: {len(result.sent)} sent, "
        f"{len(result.received)} answered, {result.lost} lost")
    if outages:
        spans = ", ".join(f"{(end - start) * 1000:.0f} ms" for start, end in outages)
        say(f"outage(s): {spans}; longest time without a reply: {gap * 1000:.0f} ms")
    else:
        say(f"no outage; longest time without a reply: {gap * 1000:.0f} ms")
    return gap


def start_ping(ctx: DemoContext):
    return ctx.lab.popen("client", ["ping", "-n", "-q", "-i", "0.2", "-w", "60", SERVER4],
                         stdout=subprocess.PIPE, text=True)


def stop_ping(ctx: DemoContext, proc) -> str:
    """SIGINT makes ping print its summary; returns that line."""
    os.kill(proc.pid, signal.SIGINT)  # `ip netns exec` execs ping: this is its pid
    try:
        out, _ = proc.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        out = ""
    ctx.lab.stop(proc)
    for line in (out or "").splitlines():
        if "packets transmitted" in line:
            return line.strip()
    return "no summary"


def step_start_agents(ctx: DemoContext) -> None:
    lab = ctx.lab
    ctx.cluster = HafwCluster(lab, ctx.paths, log_level="info")
    say("cluster file: the vhids of etc/hafw.toml (vhid 1 on lan0 = 192.0.2.1 + 2001:db8:1::1,")
    say("vhid 2 on wan0 = 198.51.100.1 + 2001:db8:2::1), fw1 advskew 0, fw2 advskew 100, preempt")
    for fw in ("fw1", "fw2"):
        ctx.cluster.check(fw)
        ctx.cluster.start(fw)
        say(f"started ha-agent on {fw} (pid {ctx.cluster.procs[fw].pid})")
    took = wait_masters(ctx, "fw1", timeout=10)
    say(f"fw1 is MASTER of both vhids after {took:.1f} s "
        "(a fresh node waits one master-down interval, 3 s)")
    show_status(ctx, "fw1")
    show_status(ctx, "fw2")
    expect(vips_on(ctx, "fw1") and not vips_on(ctx, "fw2"), "the VIPs are on fw1 only")


def step_traffic_via_vips(ctx: DemoContext) -> None:
    lab = ctx.lab
    say("client and server now route through the virtual addresses 192.0.2.1 / 198.51.100.1")
    lab.route_via_vips()
    expect(lab.ping("client", SERVER4, count=3), f"client pings server {SERVER4} via the VIPs")
    expect(lab.ping("client", SERVER6, count=3), f"client pings server {SERVER6} via the VIPs")
    ctx.tcp = lab.tcp_echo_client(SERVER4)
    expect(ctx.tcp.echo("before failover") == "before failover",
           "a TCP connection through fw1 echoes a line")


def failover(ctx: DemoContext, name: str, title: str, fail: Callable[[], None],
             max_outage: float) -> None:
    lab = ctx.lab
    probe = lab.start_udp_probe(SERVER4, interval_ms=10, duration=60)
    ping = start_ping(ctx)
    waits.wait_until("the probe's first 100 replies", lambda: probe.progress().received >= 100,
                     10)
    for i, line in enumerate(title.split("\n")):
        say(("--> " if i == 0 else "    ") + line)
    t0 = time.monotonic()
    fail()
    wait_masters(ctx, "fw2", timeout=10)
    took = time.monotonic() - t0
    say(f"fw2 is MASTER of both vhids {took * 1000:.0f} ms later (seen on the control socket)")
    # Let the probe show the flow is back: 100 more replies after the takeover.
    answered = probe.progress().received
    waits.wait_until("100 probe replies through fw2",
                     lambda: probe.progress().received >= answered + 100, 10)
    gap = report_probe(probe.stop())
    ctx.outages.append((name, took, gap))
    say(f"ping client -> server every 200 ms: {stop_ping(ctx, ping)}")
    show_status(ctx, "fw2")
    show_addresses(ctx, "fw2")
    expect(vips_on(ctx, "fw2"), "the VIPs moved to fw2")
    expect(gap <= max_outage, f"the UDP flow came back within {max_outage * 1000:.0f} ms")
    expect(lab.ping("client", SERVER4, count=3), "the client keeps reaching the server")
    with lab.tcp_echo_client(SERVER4) as conn:
        expect(conn.echo("new connection") == "new connection",
               "a new TCP connection through fw2 works")


def step_graceful_failover(ctx: DemoContext) -> None:
    assert ctx.cluster is not None
    failover(ctx, "graceful stop (bow-out)",
             "SIGTERM to fw1's ha-agent: it sends a bow-out advert\n"
             "(advbase 255, advskew 255) and removes its VIPs",
             lambda: ctx.cluster.stop("fw1"), max_outage=1.0)
    assert ctx.tcp is not None
    reply = ctx.tcp.echo("after failover", timeout=2)
    if reply == "after failover":
        say("the TCP connection opened through fw1 still echoes through fw2")
    else:
        say("the TCP connection opened through fw1: no reply through fw2. Expected in this")
        say("release: fw2 has no conntrack entry for it and its strict ruleset drops the")
        say("mid-stream packets as invalid. Connection state sync comes with hafw's")
        say("statesync; new connections and UDP flows continue.")
    ctx.tcp.close()
    ctx.tcp = None


def step_fw1_returns(ctx: DemoContext) -> None:
    assert ctx.cluster is not None
    ctx.cluster.start("fw1")
    took = wait_masters(ctx, "fw1", timeout=10)
    say(f"fw1's ha-agent restarted: it preempts fw2 (advskew 0 < 100) {took:.1f} s later")
    expect(vips_on(ctx, "fw1") and not vips_on(ctx, "fw2"), "the VIPs are back on fw1")
    expect(ctx.lab.ping("client", SERVER4, count=3), "the client reaches the server via fw1")


def step_dead_node(ctx: DemoContext) -> None:
    cluster = ctx.cluster
    assert cluster is not None

    def die() -> None:
        # kill_node freezes the agent first so it cannot react to its own
        # links going down (it would demote and hand over early), takes every
        # link of fw1 down at once, then SIGKILL: a node that just dies.
        cluster.kill_node("fw1")

    failover(ctx, "dead node (no bow-out)",
             "fw1 dies: its agent freezes, its links go dark, then SIGKILL. No bow-out:\n"
             "fw2 takes over once its master-down interval (3 + 100/256 s) since fw1's\n"
             "last advert has run out", die, max_outage=5.0)


def step_summary(ctx: DemoContext) -> None:
    say(f"{'failure':26} {'fw2 MASTER after':>17} {'longest UDP gap':>16}")
    for name, took, gap in ctx.outages:
        say(f"{name:26} {took * 1000:>14.0f} ms {gap * 1000:>13.0f} ms")
    say("(UDP probe every 10 ms client -> server; the gap is the longest time without a reply)")


STEPS: list[tuple[str, Callable[[DemoContext], None]]] = [
    ("the lab", step_topology),
    ("client -> server through fw1", step_traffic_through_fw1),
    ("the firewall is strict", step_strict_ruleset),
    ("ha-agent on fw1 and fw2: CARP elects fw1", step_start_agents),
    ("client -> server through the virtual addresses", step_traffic_via_vips),
    ("failover 1: fw1 stops gracefully", step_graceful_failover),
    ("fw1 comes back", step_fw1_returns),
    ("failover 2: fw1 dies", step_dead_node),
    ("summary", step_summary),
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
    except (DemoFailure, LabError, ClusterError, waits.WaitTimeout) as e:
        print(f"\ndemo FAILED: {e}", file=sys.stderr)
        if ctx.cluster is not None:
            for fw in ctx.cluster.logs:
                tail = ctx.cluster.log(fw).splitlines()[-15:]
                print(f"--- last lines of ha-agent's log on {fw} ---", file=sys.stderr)
                print("\n".join(tail), file=sys.stderr)
        return 1
    finally:
        lab.teardown()  # our processes; the namespaces belong to demo.sh
        if ctx.cluster is not None:  # its cluster file, secrets and logs
            shutil.rmtree(ctx.cluster.dir, ignore_errors=True)
    print("\ndemo: all steps passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
