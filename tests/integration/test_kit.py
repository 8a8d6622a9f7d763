"""The test kit against the real kernel: the lab's NAT and FTP-helper
options, conntrack snapshots and diffs between namespaces, the flow and
bulk generators, sync-link faults, conntrackd, the control-socket client
and kill_node. What the state-sync tests will stand on.
"""
# ctest: TIMEOUT=900

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path

import pytest
from hafwkit import conntrack, flows, plan, waits
from hafwkit.agents import HafwCluster
from hafwkit.faults import TABLE, SyncFaults
from hafwkit.lab import Lab
from hafwkit.peers import Conntrackd

SERVER4 = plan.ip("server", "wan", 4)
SERVER6 = plan.ip("server", "wan", 6)


def _hold_vips(lab: Lab, fw: str) -> None:
    """The firewall takes the VIPs by hand (no agent in these tests)."""
    for ifname, vips in (("lan0", ("192.0.2.1/24", "2001:db8:1::1/64")),
                         ("wan0", ("198.51.100.1/24", "2001:db8:2::1/64"))):
        for vip in vips:
            lab.run(fw, ["ip", "addr", "add", vip, "dev", ifname])


def _cpu_seconds(pid: int) -> float:
    f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / 100.0  # utime + stime, USER_HZ 100


# --- lab options -----------------------------------------------------------------

@pytest.mark.lab(nat="snat")
@pytest.mark.parametrize("dst", [SERVER4, SERVER6], ids=["ipv4", "ipv6"])
def test_snat_to_the_wan_vip_and_no_server_route_to_the_lan(lab: Lab, dst: str) -> None:
    for fam in ("-4", "-6"):
        routes = lab.run("server", ["ip", fam, "route", "show"]).stdout
        assert "192.0.2.0/24" not in routes and "2001:db8:1::/64" not in routes, routes
    _hold_vips(lab, "fw1")
    lab.start_tcp_echo_server()
    with lab.tcp_echo_client(dst) as conn:
        assert conn.echo("natted") == "natted"
        (entry,) = conntrack.snapshot(lab, "fw1").filter(dport=plan.TCP_ECHO_PORT).entries
    vip = plan.WAN_VIP4 if ":" not in dst else plan.WAN_VIP6
    assert entry.nat.snat is not None and entry.nat.snat[0] == vip, entry
    assert entry.nat.dnat is None and entry.state == "ESTABLISHED"
    assert lab.rule_counter("fw1", "postrouting", "snat4" if ":" not in dst else "snat6",
                            table="nat") >= 1


@pytest.mark.lab(nat="masquerade")
def test_masquerade_to_the_firewalls_own_address(lab: Lab) -> None:
    lab.route_via_static("fw1")
    assert "192.0.2.0/24" not in lab.run("server", ["ip", "route", "show"]).stdout
    lab.start_tcp_echo_server()
    with lab.tcp_echo_client(SERVER4) as conn:
        assert conn.echo("masq") == "masq"
        (entry,) = conntrack.snapshot(lab, "fw1").filter(dport=plan.TCP_ECHO_PORT).entries
    assert entry.nat.snat[0] == plan.ip("fw1", "wan", 4), entry


_MARKS = """
table inet kittest {
    chain raw {
        type filter hook prerouting priority raw; policy accept;
        # Both directions: replies must find the entry in its zone.
        iifname "lan0" tcp dport 5001 ct zone set 7
        iifname "wan0" tcp sport 5001 ct zone set 7
    }
    chain tag {
        type filter hook forward priority filter - 5; policy accept;
        tcp dport 5001 ct mark set 0x2a ct label set 3 ct label set 70
    }
}
"""


def test_snapshot_reads_mark_zone_and_labels(lab: Lab) -> None:
    lab.route_via_static("fw1")
    lab.run("fw1", ["nft", "-f", "-"], input=_MARKS)
    lab.start_tcp_echo_server()
    with lab.tcp_echo_client(SERVER4) as conn:
        assert conn.echo("tagged") == "tagged"
        (e,) = conntrack.snapshot(lab, "fw1").filter(dport=plan.TCP_ECHO_PORT).entries
    assert (e.mark, e.zone, e.labels) == (0x2A, 7, {"3", "70"}), e
    assert e.key == (4, 6, e.orig, 7)


# A minimal FTP control channel: greeting, PASV answer, then idle (bounded).
_FTP_SERVER = """
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 21)); s.listen(1); print("ready", flush=True)
s.settimeout(20); c, _ = s.accept(); c.settimeout(20)
c.sendall(b"220 hafw test ftp\\r\\n"); c.recv(100)
c.sendall(b"227 Entering Passive Mode (198,51,100,10,195,80)\\r\\n")
time.sleep(15)
"""


@pytest.mark.lab(ftp_helper=True)
def test_ftp_helper_creates_an_expectation(lab: Lab) -> None:
    lab.route_via_static("fw1")
    srv = lab.popen("server", [plan.PYTHON, "-c", _FTP_SERVER], stdout=subprocess.PIPE, text=True)
    assert srv.stdout.readline().strip() == "ready"
    with lab.in_netns("client"):
        c = socket.create_connection((SERVER4, 21), timeout=5)
    with c:
        assert c.recv(100).startswith(b"220")
        c.sendall(b"PASV\r\n")
        assert c.recv(100).startswith(b"227")
        exp = waits.wait_for_value("fw1's FTP expectation",
                                   lambda: conntrack.expectations(lab, "fw1"), bool, 5)
        ctl = conntrack.snapshot(lab, "fw1").filter(dport=21).entries
    (e,) = exp
    assert e.helper == "ftp" and e.tuple.dport == 195 * 256 + 80 and e.master.dport == 21
    assert [x.helper for x in ctl] == ["ftp"]
    assert lab.rule_counter("fw1", "helpers", "ftp-helper") >= 1


@pytest.mark.lab(firewalls=1)
def test_one_firewall_lab(lab: Lab) -> None:
    assert lab.firewalls == ["fw1"] and lab.legs("fw1") == {"lan": "lan0", "wan": "wan0",
                                                           "sync": "sync0"}
    lab.route_via_static("fw1")
    assert lab.ping("client", SERVER4) and lab.ping("client", SERVER6)


# --- flows and bulk connections ------------------------------------------------------

def test_flows_count_loss_gaps_and_breaks(lab: Lab) -> None:
    """A link flap on fw1 costs UDP messages and shows as a gap in every flow,
    TCP recovers by retransmission; moving the route to fw2 (no state) breaks
    the TCP flows by timeout, never silently reconnected, while UDP goes on."""
    lab.route_via_static("fw1")
    flows.start_server(lab)
    run = flows.start_flows(lab, SERVER4, tcp=10, udp=10, interval_ms=20, duration=15,
                            tcp_user_timeout_ms=2000)
    assert run.tcp_connected == 10
    run.wait_flowing(timeout=10)
    lab.link_down("fw1", "lan0")
    waits.wait_until("every flow to stall", lambda: run.progress().stalled == 20, 5)
    lab.link_up("fw1", "lan0")
    run.wait_flowing(timeout=10)
    lab.route_via_static("fw2")
    waits.wait_until("the TCP flows to break", lambda: run.progress().broken == 10, 15)
    report = run.wait()
    print(report.summary())
    assert len(report.tcp) == 10 and len(report.udp) == 10
    for f in report.tcp:
        assert f.broken and f.broken_reason == "timeout", f
        assert f.longest_gap >= 2.0  # from the last echo through fw1 to the timeout
    assert not any(f.broken for f in report.udp)
    assert report.lost("udp") > 0
    for f in report.udp:
        assert f.echoed > 0.5 * f.sent and f.lost == f.sent - f.echoed
        assert len(f.gaps) >= 1 and f.longest_gap >= 0.1
        assert f.last_echo > f.gaps[-1][0]  # UDP came back through fw2


def test_50_tcp_and_50_udp_flows_hold_without_loss(lab: Lab) -> None:
    lab.route_via_static("fw1")
    server = flows.start_server(lab)
    run = flows.start_flows(lab, SERVER4, tcp=50, udp=50, interval_ms=20, duration=30)
    run.wait_flowing(timeout=10)
    # CPU used, read just before the run ends (90 % of the messages sent).
    waits.wait_for_value("90 % of the messages", run.progress,
                         lambda p: p.sent >= 0.9 * 100 * 30 / 0.02, 40, interval=0.2)
    client_cpu, server_cpu = _cpu_seconds(run.proc.pid), _cpu_seconds(server.pid)
    report = run.wait()
    print(f"{report.summary()}; CPU in ~27 s: client {client_cpu:.1f} s, "
          f"server {server_cpu:.1f} s")
    assert len(report.flows) == 100 and not report.broken(), report.summary()
    assert report.lost() == 0, report.summary()
    assert all(f.sent >= 0.8 * 30 / 0.02 for f in report.flows), report.summary()


def test_bulk_10000_tcp_connections_and_udp_flows(lab: Lab) -> None:
    lab.route_via_static("fw1")
    flows.start_server(lab)
    watch = conntrack.EventWatch(lab, "fw1", ["-p", "tcp", "--dport", str(plan.FLOW_TCP_PORT),
                                              "-e", "NEW"])
    bulk = flows.start_bulk(lab, SERVER4, count=10_000, proto="tcp")
    print(f"10,000 TCP connections in {bulk.seconds:.1f} s")
    assert bulk.established == 10_000, bulk.failures
    snap = conntrack.snapshot(lab, "fw1").filter(proto="tcp", dport=plan.FLOW_TCP_PORT)
    assert len(snap) == 10_000 and {e.state for e in snap.entries} == {"ESTABLISHED"}
    check = bulk.check(timeout=20)
    assert check.answered == 10_000 and check.no_answer == 0 and not check.dead, check
    events = watch.stop()
    new = [e for tag, e in events if tag == "NEW"]
    print(f"conntrack -E saw {len(new)} NEW events")
    assert len(new) >= 9_000 and all(e.orig.dport == plan.FLOW_TCP_PORT for e in new)
    bulk.close()
    udp = flows.start_bulk(lab, SERVER4, count=2_000, proto="udp")
    assert udp.established == 2_000
    assert udp.check(timeout=10).answered == 2_000
    assert len(conntrack.snapshot(lab, "fw1").filter(proto="udp",
                                                     dport=plan.FLOW_UDP_PORT)) == 2_000


def test_snapshots_differ_until_conntrackd_copies_the_table(lab: Lab) -> None:
    """fw2 has none of the connections made through fw1 (diff: all only in
    fw1); conntrackd on both syncs them and commits them into fw2's kernel
    (diff empty), and the connections then survive the move to fw2."""
    fw1 = Conntrackd(lab, "fw1", "fw2", _workdir(lab))
    fw2 = Conntrackd(lab, "fw2", "fw1", _workdir(lab))
    fw2.start()
    fw1.start()
    lab.route_via_static("fw1")
    flows.start_server(lab)
    bulk = flows.start_bulk(lab, SERVER4, count=300)
    assert bulk.established == 300

    def ours(node: str) -> conntrack.Snapshot:
        return conntrack.snapshot(lab, node).filter(proto="tcp", dport=plan.FLOW_TCP_PORT)

    d = conntrack.diff(ours("fw1"), ours("fw2"))
    assert len(d.only_a) == 300 and not d.only_b and not d.differing
    waits.wait_until("fw2's conntrackd to hold fw1's 300 connections",
                     lambda: fw2.external().count(f"dport={plan.FLOW_TCP_PORT}") >= 300, 20,
                     interval=0.2, diagnostics=lambda: fw1.stats() + fw2.stats())
    fw2.commit()
    d = conntrack.diff(ours("fw1"), ours("fw2"), fields=("reply", "state", "mark"))
    assert d.empty, d.summary()
    lab.route_via_static("fw2")
    check = bulk.check(timeout=10)
    assert check.answered == 300, check


def _workdir(lab: Lab) -> Path:
    path = lab.tmpfile("conntrackd")
    path.mkdir()
    lab.add_cleanup(lambda: subprocess.run(["rm", "-rf", str(path)], check=False))
    return path


# --- faults --------------------------------------------------------------------------

# Sends N datagrams; a drop in the sender's own output chain fails sendto()
# with EPERM, which is just a dropped datagram here.
_SEND = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(int(sys.argv[3])):
    try:
        s.sendto(b"x", (sys.argv[1], int(sys.argv[2])))
    except PermissionError:
        pass
"""


def _send_sync(lab: Lab, src: str, dst: str, count: int) -> None:
    """UDP datagrams from src to dst's sync port (what dst's "sync" rule counts)."""
    lab.run(src, [plan.PYTHON, "-c", _SEND, plan.ip(dst, "sync", 4), str(plan.SYNC_PORT),
                  str(count)])


def test_sync_faults_loss_one_way_block_and_link_down(lab: Lab) -> None:
    faults = SyncFaults(lab)

    def arrived(node: str, since: int) -> int:
        return lab.rule_counter(node, "input", "sync") - since

    def send(src: str, dst: str, count: int) -> int:
        """Sends; returns the receiver's counter before, for arrived()."""
        base = lab.rule_counter(dst, "input", "sync")
        _send_sync(lab, src, dst, count)
        return base

    base = send("fw1", "fw2", 50)
    waits.wait_until("50 datagrams at fw2", lambda: arrived("fw2", base) == 50, 5)
    block = faults.block("fw1", "fw2")
    base = send("fw1", "fw2", 20)
    waits.wait_until("fw1's block to drop 20", lambda: block.dropped() == 20, 5)
    assert arrived("fw2", base) == 0  # dropped at fw1's output: none can arrive later
    base = send("fw2", "fw1", 20)     # the other direction passes
    waits.wait_until("20 datagrams at fw1", lambda: arrived("fw1", base) == 20, 5)
    block.undo()
    base = send("fw1", "fw2", 10)
    waits.wait_until("10 datagrams at fw2 after the undo", lambda: arrived("fw2", base) == 10, 5)

    loss = faults.loss("fw1", 30, direction="out")
    base = send("fw1", "fw2", 400)
    waits.wait_until("every datagram dropped or arrived",
                     lambda: arrived("fw2", base) + loss.dropped() == 400, 5)
    got = arrived("fw2", base)
    print(f"30 % loss: {got} of 400 arrived, {loss.dropped()} dropped")
    assert 220 <= got <= 340  # 280 expected; 4.6 standard deviations either side
    loss.undo()

    down = faults.link_down("fw2")
    assert not lab.ping("fw1", plan.ip("fw2", "sync", 4), timeout=1)
    faults.clear()
    assert not down.active and lab.ping("fw1", plan.ip("fw2", "sync", 4))
    assert lab.run("fw1", ["nft", "list", "table", "inet", TABLE], check=False).returncode != 0


# --- agents: control socket and kill_node ---------------------------------------------

def test_control_client_and_hactl_agree(lab: Lab, hafw_paths) -> None:
    cluster = HafwCluster(lab, hafw_paths)
    cluster.start_all()
    cluster.wait_for_master(1, "fw1")
    cluster.wait_for_state("fw2", 1, "BACKUP")
    client = cluster.control("fw2")
    calls = client.calls
    cluster.wait_until("fw2 to hear 2 adverts", lambda: cluster.vhost("fw2", 1)[
        "adverts_received"] >= 2, 10)
    assert client.calls > calls  # polled on the socket, not through hactl
    mine, theirs = cluster.status("fw2"), cluster.hactl_status("fw2")
    for st in (mine, theirs):
        st["uptime_seconds"] = 0
        for v in st["vhosts"]:
            v["last_transition"]["seconds_ago"] = 0
            v.pop("adverts_received")
    assert mine == theirs
    raw = json.loads(cluster.hactl("fw2", "status", "--json"))
    assert set(raw["vhosts"][0]) <= set(mine["vhosts"][0]) | {"adverts_received"}
    assert "edge" in cluster.control("fw1").demote("edge", "kit test")
    for vhid in (1, 2):
        cluster.wait_for_master(vhid, "fw2", timeout=5)
    cluster.control("fw1").undemote("edge", "kit test")
    for vhid in (1, 2):
        cluster.wait_for_master(vhid, "fw1", timeout=5)


def test_kill_node_downs_every_link_the_node_has(lab: Lab, hafw_paths) -> None:
    lab.run("fw1", ["ip", "link", "add", "extra0", "type", "veth", "peer", "name", "extra1"])
    lab.run("fw1", ["ip", "link", "set", "extra0", "up"])
    cluster = HafwCluster(lab, hafw_paths)
    cluster.start("fw1")
    cluster.kill_node("fw1")
    assert not cluster.running("fw1")
    links = json.loads(lab.run("fw1", ["ip", "-j", "link", "show"]).stdout)
    states = {l["ifname"]: "UP" in l["flags"] for l in links if l["ifname"] != "lo"}
    assert set(states) == {"lan0", "wan0", "sync0", "extra0", "extra1"}
    assert not any(states.values()), states
