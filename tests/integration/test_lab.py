"""The lab itself: forwarding through one firewall, the strict ruleset, the
missing-state property that state sync must fix, and clean teardown."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from hafwkit import netns, plan
from hafwkit.lab import KIT_PARENT, Lab
from hafwkit.waits import wait_until

LAB_CLI = str(Path(__file__).resolve().parent / "lab.py")

SERVER4 = Lab.ip("server", "wan", 4)
SERVER6 = Lab.ip("server", "wan", 6)
CLIENT4 = Lab.ip("client", "lan", 4)
CLIENT6 = Lab.ip("client", "lan", 6)


def _namespaces_with(prefix: str) -> list[str]:
    return [n for n in netns.list_netns() if n.startswith(prefix)]


def test_addresses_and_names(lab: Lab) -> None:
    assert lab.ns("fw1") == lab.prefix + "fw1"
    assert lab.addresses("client", "eth0") == ["192.0.2.10/24", "2001:db8:1::10/64"]
    assert lab.addresses("fw2", "wan0", family=4) == ["198.51.100.3/24"]
    assert lab.addresses("fw1", "sync0", family=6) == ["2001:db8:3::1/64"]
    # No way out: the only default route in the whole lab is the client's,
    # towards the (not yet existing) LAN VIP.
    for node in ("server", "fw1", "fw2"):
        assert "default" not in lab.run(node, ["ip", "route", "show"]).stdout
    # Every node has exactly its legs; every leg's other end is a switch port.
    expected = {"client": {"eth0"}, "server": {"eth0"}, "fw1": {"lan0", "wan0", "sync0"},
                "fw2": {"lan0", "wan0", "sync0"},
                "sw": {"brlan", "brwan", "brsync", "client-lan", "server-wan",
                       "fw1-lan", "fw1-wan", "fw1-sync", "fw2-lan", "fw2-wan", "fw2-sync"}}
    for node, names in expected.items():
        links = json.loads(lab.run(node, ["ip", "-j", "link", "show"]).stdout)
        assert {link["ifname"] for link in links} == names | {"lo"}, node
    ports = json.loads(lab.run("sw", ["ip", "-j", "-d", "link", "show", "type", "veth"]).stdout)
    assert all(p.get("master", "").startswith("br") for p in ports)
    # Nothing of the lab is visible in the root namespace.
    root_links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True,
                                text=True, check=True).stdout
    assert lab.prefix not in root_links and "fw1-lan" not in root_links


@pytest.mark.parametrize("dst", [SERVER4, SERVER6], ids=["ipv4", "ipv6"])
def test_client_reaches_server_through_fw1(lab: Lab, dst: str) -> None:
    # No VIP exists yet: with the default routes nothing gets through.
    assert not lab.ping("client", dst, timeout=1)
    lab.route_via_static("fw1")
    assert lab.ping("client", dst, count=3)
    lab.start_tcp_echo_server()
    with lab.tcp_echo_client(dst) as conn:
        for i in range(5):
            assert conn.echo(f"hello {i}") == f"hello {i}"
    assert lab.rule_counter("fw1", "forward", "new-lan-to-wan") >= 2
    assert lab.rule_counter("fw2", "forward", "new-lan-to-wan") == 0


@pytest.mark.parametrize("dst", [CLIENT4, CLIENT6], ids=["ipv4", "ipv6"])
def test_ruleset_drops_new_connections_from_wan(lab: Lab, dst: str) -> None:
    lab.route_via_static("fw1")
    lab.start_tcp_echo_server(node="client")
    before = lab.rule_counter("fw1", "forward", "forward-policy-drop")
    with pytest.raises(netns.LabError):
        lab.tcp_echo_client(dst, node="server", connect_timeout=2)
    assert lab.rule_counter("fw1", "forward", "forward-policy-drop") > before
    # Pings from the WAN are NEW too and just as dropped.
    assert not lab.ping("server", dst, timeout=1)
    # The client side of the same pair works (the server is listening).
    lab.start_tcp_echo_server(node="server")
    server = SERVER6 if ":" in dst else SERVER4
    with lab.tcp_echo_client(server) as conn:
        assert conn.echo("out") == "out"


@pytest.mark.parametrize("dst", [SERVER4, SERVER6], ids=["ipv4", "ipv6"])
def test_connection_breaks_on_firewall_without_state(lab: Lab, dst: str) -> None:
    """The property state sync must fix: fw2 has no conntrack entry for a
    connection established through fw1 and (tcp_loose=0) drops it as invalid."""
    lab.route_via_static("fw1")
    lab.start_tcp_echo_server()
    conn = lab.tcp_echo_client(dst)
    assert conn.echo("through fw1") == "through fw1"
    invalid_before = lab.rule_counter("fw2", "forward", "invalid")

    lab.route_via_static("fw2")
    assert conn.echo("through fw2", timeout=3) is None
    assert lab.rule_counter("fw2", "forward", "invalid") > invalid_before
    # fw2 did not pick up the connection mid-stream.
    ct = lab.run("fw2", ["conntrack", "-L", "-p", "tcp"], check=False).stdout
    assert str(plan.TCP_ECHO_PORT) not in ct

    # Back through fw1, which still has the state: the same connection
    # recovers (the kernel retransmits), so the break was fw2's missing state.
    lab.route_via_static("fw1")
    assert conn.read_line(timeout=15) == "through fw2"
    assert conn.echo("back on fw1") == "back on fw1"


def test_udp_probe_measures_an_outage(lab: Lab) -> None:
    lab.route_via_static("fw1")
    lab.start_udp_echo_server()
    probe = lab.start_udp_probe(SERVER4, interval_ms=10, duration=20)
    wait_until("the probe to get 30 replies", lambda: probe.progress().received >= 30, 5)
    lab.link_down("fw1", "lan0")
    # The outage lasts until the probe itself has gone 1 s without a reply.
    wait_until("1 s without a reply", lambda: probe.silent_for() >= 1.0, 5)
    lab.link_up("fw1", "lan0")
    resumed_from = probe.progress().received
    wait_until("30 replies after the link came back",
               lambda: probe.progress().received >= resumed_from + 30, 5)
    result = probe.stop()
    assert result.lost >= 80, result.lost  # at least ~1 s of 10 ms probes
    gap = result.longest_gap()
    assert 1.0 <= gap < 3.0, gap
    outages = result.outages()
    assert len(outages) == 1, outages
    # Before the outage every probe was answered.
    first_lost = outages[0][0]
    early = [s for s in result.sent if s[1] < first_lost]
    answered = {r[0] for r in result.received}
    assert early and all(seq in answered for seq, _ in early)


# A CARP speaker's socket, minimal: sends one IP-protocol-112 packet to the
# CARP group (TTL/hop limit 255, out of lan0) or joins the group on lan0 and
# prints the source of the first packet it receives (within 5 s).
_PROTO112 = """
import select, socket, sys
mode, fam, src = sys.argv[1], sys.argv[2], sys.argv[3]
idx = socket.if_nametoindex("lan0")
if fam == "4":
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(src))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
    group = ("224.0.0.18", 0)
    mreq = socket.inet_aton("224.0.0.18") + socket.inet_aton(src)
    join = (socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
else:
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, 112)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, idx)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
    group = ("ff02::12", 0, 0, idx)
    mreq = socket.inet_pton(socket.AF_INET6, "ff02::12") + idx.to_bytes(4, sys.byteorder)
    join = (socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)
if mode == "send":
    s.sendto(bytes(36), group)
else:
    s.setsockopt(*join)
    print("ready", flush=True)
    if select.select([s], [], [], 5)[0]:
        print(s.recvfrom(2048)[1][0], flush=True)
"""


def _carp_multicast_reaches_peers(lab: Lab, sender: str) -> None:
    """Proto-112 multicast from ``sender``'s lan0 crosses the LAN bridge and
    every peer's input chain to a socket that joined the CARP group."""
    peers = [fw for fw in lab.firewalls if fw != sender]
    for family in (4, 6):
        receivers = {}
        for fw in peers:
            proc = lab.popen(fw, [plan.PYTHON, "-c", _PROTO112, "recv", str(family),
                                  lab.ip(fw, "lan", 4)],
                             stdout=subprocess.PIPE, text=True)
            assert proc.stdout.readline().strip() == "ready"
            receivers[fw] = proc
        lab.run(sender, [plan.PYTHON, "-c", _PROTO112, "send", str(family),
                         lab.ip(sender, "lan", 4)])
        for fw, proc in receivers.items():
            got = proc.stdout.readline().strip()  # bounded: the receiver waits 5 s
            lab.stop(proc)
            if family == 4:
                assert got == lab.ip(sender, "lan", 4), (fw, family, got)
            else:
                assert got.startswith("fe80::"), (fw, family, got)  # link-local source
        counter = "carp4" if family == 4 else "carp6"
        assert all(lab.rule_counter(fw, "input", counter) > 0 for fw in peers)


def test_carp_multicast_reaches_the_peer(lab: Lab) -> None:
    _carp_multicast_reaches_peers(lab, "fw1")
    _carp_multicast_reaches_peers(lab, "fw2")


@pytest.mark.lab(firewalls=3)
def test_three_firewalls(lab: Lab) -> None:
    assert lab.firewalls == ["fw1", "fw2", "fw3"]
    assert lab.addresses("fw3", "lan0", family=4) == ["192.0.2.4/24"]
    assert lab.addresses("fw3", "sync0") == ["203.0.113.3/24", "2001:db8:3::3/64"]
    # The sync bridge joins all three.
    for dst in ("203.0.113.2", "203.0.113.3", "2001:db8:3::2", "2001:db8:3::3"):
        assert lab.ping("fw1", dst), dst
    _carp_multicast_reaches_peers(lab, "fw3")
    lab.route_via_static("fw3")
    assert lab.ping("client", SERVER4)
    assert lab.ping("client", SERVER6)


@pytest.mark.lab(igmp_snooping=True)
def test_igmp_snooping_option(lab: Lab) -> None:
    out = lab.run("sw", ["ip", "-d", "link", "show", "brlan"]).stdout
    assert "mcast_snooping 1" in out
    _carp_multicast_reaches_peers(lab, "fw1")
    lab.route_via_static("fw2")
    assert lab.ping("client", SERVER6)


def test_teardown_after_exception_leaves_nothing(privileged: None) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        with Lab() as the_lab:
            prefix = the_lab.prefix
            proc = the_lab.start_tcp_echo_server()
            assert len(_namespaces_with(prefix)) == 5
            raise RuntimeError("boom")
    assert _namespaces_with(prefix) == []
    assert proc.poll() is not None
    the_lab.teardown()  # idempotent


def test_build_failure_cleans_up(privileged: None) -> None:
    the_lab = Lab()
    # A namespace of this prefix already exists: up() must refuse, not clobber.
    subprocess.run(["ip", "netns", "add", the_lab.prefix + "client"], check=True)
    try:
        with pytest.raises(netns.LabError):
            the_lab.up()
    finally:
        subprocess.run(["ip", "netns", "delete", the_lab.prefix + "client"], check=True)
    assert _namespaces_with(the_lab.prefix) == []


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_tears_down(privileged: None, sig: int) -> None:
    """A process holding a lab that gets SIGINT/SIGTERM cleans up on its way out."""
    # A shell's background jobs start with SIGINT ignored, which the lab
    # respects; the child restores it like an interactive program would have it.
    script = (
        "import signal, sys, time\n"
        "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        f"sys.path.insert(0, {str(KIT_PARENT)!r})\n"
        "from hafwkit.lab import Lab\n"
        "lab = Lab(firewalls=3)\n"
        "lab.up()\n"  # no with block: the atexit/signal backstop must do it
        "lab.start_udp_echo_server()\n"
        "print(lab.prefix, flush=True)\n"
        "time.sleep(60)\n"
    )
    proc = subprocess.Popen([plan.PYTHON, "-c", script], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    prefix = ""
    try:
        prefix = proc.stdout.readline().strip()
        assert prefix.startswith("hafw"), proc.stderr.read()
        assert len(_namespaces_with(prefix)) == 6
        proc.send_signal(sig)
        proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
            if prefix.startswith("hafw"):  # killed: its lab is ours to remove
                netns.delete_namespaces(_namespaces_with(prefix))
    assert proc.returncode != 0
    assert _namespaces_with(prefix) == [], proc.stderr.read()


def test_cli_up_status_down(privileged: None) -> None:
    prefix = f"hafwcli{os.getpid()}-"
    cli = [plan.PYTHON, LAB_CLI]
    try:
        subprocess.run([*cli, "up", "--prefix", prefix, "--route-via", "fw2"],
                       check=True, timeout=60, capture_output=True)
        st = subprocess.run([*cli, "status", "--prefix", prefix], timeout=30,
                            capture_output=True, text=True)
        assert st.returncode == 0 and "complete" in st.stdout, st.stdout + st.stderr
        attached = Lab.attach(prefix)
        attached.start_tcp_echo_server()
        with attached.tcp_echo_client(SERVER4) as conn:
            assert conn.echo("cli") == "cli"
        attached.teardown()  # stops its processes, leaves the namespaces
        assert len(_namespaces_with(prefix)) == 5
    finally:
        subprocess.run([*cli, "down", "--prefix", prefix], check=True, timeout=60,
                       capture_output=True)
    assert _namespaces_with(prefix) == []
    st = subprocess.run([*cli, "status", "--prefix", prefix], timeout=30, capture_output=True)
    assert st.returncode == 1


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-v"]))
