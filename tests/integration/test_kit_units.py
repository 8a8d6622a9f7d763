"""The test kit's own pieces, without root or a lab: the pcap decoder, the
conntrack parser and diff, the cluster file renderer, the control-socket
client against a fake agent, waits, timing retries and load readings.
"""
# ctest: LABELS=unit

from __future__ import annotations

import os
import socket
import struct
import threading
import time
import tomllib
from pathlib import Path

import pytest
from hafwkit import conntrack, load, pcap, plan, spec, timing, waits
from hafwkit.control import ControlClient, ControlError, load_pb2, parse_status_json, to_dict
from hafwkit.flows import FlowReport

# --- pcap ------------------------------------------------------------------------

MAC1, MAC2 = bytes.fromhex("020000000001"), bytes.fromhex("020000000002")


def _ipv4(proto: int, src: str, dst: str, body: bytes, ttl: int = 64) -> bytes:
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(body), 0, 0, ttl, proto, 0,
                      socket.inet_aton(src), socket.inet_aton(dst))
    return MAC2 + MAC1 + b"\x08\x00" + hdr + body


def _ipv6(nh: int, src: str, dst: str, body: bytes, hlim: int = 255) -> bytes:
    hdr = struct.pack("!IHBB16s16s", 6 << 28, len(body), nh, hlim,
                      socket.inet_pton(socket.AF_INET6, src), socket.inet_pton(socket.AF_INET6, dst))
    return MAC2 + MAC1 + b"\x86\xdd" + hdr + body


def _write_pcap(path: Path, frames: list[tuple[float, bytes]], nano: bool) -> None:
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    out = struct.pack("<IHHiIII", magic, 2, 4, 0, 0, 65535, 1)
    for t, f in frames:
        sec = int(t)
        frac = round((t - sec) * (1e9 if nano else 1e6))
        out += struct.pack("<IIII", sec, frac, len(f), len(f)) + f
    path.write_bytes(out)


@pytest.mark.parametrize("nano", [False, True], ids=["usec", "nsec"])
def test_pcap_decodes_every_kind(tmp_path: Path, nano: bool) -> None:
    carp = bytes([0x21, 7, 100, 7, 1, 1, 0, 0]) + (12345).to_bytes(8, "big") + bytes(20)
    vrrp = bytes([0x31, 51, 254, 0, 0x00, 100, 0, 0]) + socket.inet_aton("192.0.2.1")
    arp = (MAC2 + MAC1 + b"\x08\x06" + struct.pack("!HHBBH", 1, 0x800, 6, 4, 2) + MAC1
           + socket.inet_aton("192.0.2.1") + MAC1 + socket.inet_aton("192.0.2.1"))
    na = (bytes([136, 0, 0, 0, 0xA0, 0, 0, 0]) + socket.inet_pton(socket.AF_INET6, "2001:db8:1::1")
          + bytes([2, 1]) + MAC1)
    tcp = struct.pack("!HHIIHHHH", 40000, 5003, 1000, 0, (5 << 12) | 0x02, 65535, 0, 0)
    udp = struct.pack("!HHHH", 40001, 5004, 8 + 16, 0) + bytes(16)
    frames = [(1000.25, _ipv4(112, "192.0.2.2", "224.0.0.18", carp, ttl=255)),
              (1000.5, _ipv4(112, "192.0.2.3", "224.0.0.18", vrrp, ttl=255)),
              (1001.0, arp),
              (1001.5, _ipv6(58, "fe80::1", "ff02::1", na)),
              (1002.0, _ipv4(6, "192.0.2.10", "198.51.100.10", tcp)),
              (1002.5, _ipv6(17, "2001:db8:1::10", "2001:db8:2::10", udp)),
              (1003.0, MAC2 + MAC1 + b"\x88\xcc" + bytes(30))]  # LLDP: not decoded
    path = tmp_path / "x.pcap"
    _write_pcap(path, frames, nano)
    assert [round(f.time, 6) for f in pcap.read_frames(path)] == [t for t, _ in frames]
    got = pcap.parse_pcap(path, "brlan")
    assert [type(p).__name__ for p in got] == ["CarpAdvert", "VrrpAdvert", "Arp",
                                               "NeighborAdvert", "IpPacket", "IpPacket"]
    c, v, a, n, t4, u6 = got
    assert (c.vhid, c.advskew, c.advbase, c.demote, c.counter, c.ttl, c.family) == (
        7, 100, 1, 1, 12345, 255, 4)
    assert c.src == "192.0.2.2" and c.src_mac == "02:00:00:00:00:01" and c.bridge == "brlan"
    assert not c.bow_out and len(c.header) == 36
    assert (v.vrid, v.priority, v.max_adver_int_cs) == (51, 254, 100) and not v.bow_out
    assert (a.op, a.sender_ip, a.target_ip, a.sender_mac) == (2, "192.0.2.1", "192.0.2.1",
                                                             "02:00:00:00:00:01")
    assert n.target == "2001:db8:1::1" and n.router and n.override and not n.solicited
    assert n.target_lladdr == "02:00:00:00:00:01"
    assert (t4.proto, t4.sport, t4.dport, t4.seq, t4.payload_len) == (6, 40000, 5003, 1000, 0)
    assert t4.has_flags(pcap.TCP_SYN) and not t4.has_flags(pcap.TCP_ACK)
    assert (u6.family, u6.proto, u6.sport, u6.dport, u6.payload_len) == (6, 17, 40001, 5004, 16)


def test_pcap_rejects_other_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(b"not a pcap file at all, really not")
    with pytest.raises(pcap.PcapError):
        list(pcap.read_frames(bad))


# --- conntrack ---------------------------------------------------------------------

SAMPLE = """\
ipv4     2 icmp     1 27 src=192.0.2.10 dst=198.51.100.10 type=8 code=0 id=9263 src=198.51.100.10 dst=192.0.2.10 type=0 code=0 id=9263 mark=0 use=1
ipv4     2 udp      17 28 src=192.0.2.10 dst=198.51.100.10 sport=56723 dport=5002 [UNREPLIED] src=198.51.100.10 dst=192.0.2.10 sport=5002 dport=56723 mark=0 use=1
ipv4     2 tcp      6 431999 ESTABLISHED src=192.0.2.10 dst=198.51.100.10 sport=37896 dport=21 src=198.51.100.10 dst=198.51.100.1 sport=21 dport=37896 [ASSURED] mark=0x10 zone=3 helper=ftp labels=1,5 use=1
ipv6     10 tcp      6 431997 ESTABLISHED src=2001:db8:1::10 dst=2001:db8:2::10 sport=53034 dport=5001 src=2001:db8:2::10 dst=2001:db8:1::10 sport=5001 dport=53034 [ASSURED] mark=0 use=1
conntrack v1.4.7 (conntrack-tools): 4 flow entries have been shown.
"""


def test_conntrack_parses_extended_output() -> None:
    icmp, udp, ftp, v6 = conntrack.parse_entries(SAMPLE)
    assert (icmp.family, icmp.proto, icmp.protonum, icmp.timeout, icmp.state) == (
        4, "icmp", 1, 27, None)
    assert icmp.orig.sport is None and ("type", "8") in icmp.orig.extra
    assert udp.flags == {"UNREPLIED"} and udp.orig.dport == 5002 and udp.reply.sport == 5002
    assert udp.nat == conntrack.Nat(None, None)
    assert (ftp.state, ftp.mark, ftp.zone, ftp.helper, ftp.labels) == (
        "ESTABLISHED", 0x10, 3, "ftp", {"1", "5"})
    assert ftp.flags == {"ASSURED"}
    assert ftp.nat.snat == ("198.51.100.1", 37896) and ftp.nat.dnat is None
    assert v6.family == 6 and v6.orig.src == "2001:db8:1::10"
    # -E lines carry an event tag in front
    ev = conntrack.parse_entry("    [NEW] " + SAMPLE.splitlines()[1])
    assert ev == udp


def test_conntrack_parses_expectations() -> None:
    line = ("299 proto=6 src=192.0.2.10 dst=198.51.100.10 sport=0 dport=50000 "
            "mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 "
            "master-src=192.0.2.10 master-dst=198.51.100.10 sport=37896 dport=21 class=0 "
            "helper=ftp")
    (e,) = conntrack.parse_expectations(line + "\n")
    assert (e.timeout, e.protonum, e.helper, e.cls) == (299, 6, "ftp", 0)
    assert e.tuple == conntrack.CtTuple("192.0.2.10", "198.51.100.10", 0, 50000)
    assert e.mask.dport == 65535 and e.master.dport == 21 and e.master.sport == 37896


def _table(n: int, state: str = "ESTABLISHED", timeout: int = 431999) -> str:
    return "".join(
        f"ipv4     2 tcp      6 {timeout} {state} src=192.0.2.10 dst=198.51.100.10 "
        f"sport={10000 + i} dport=5003 src=198.51.100.10 dst=192.0.2.10 sport=5003 "
        f"dport={10000 + i} [ASSURED] mark=0 use=1\n" for i in range(n))


def test_conntrack_diff_ignores_timeouts_and_finds_differences() -> None:
    a = conntrack.parse_entries(_table(5))
    b = conntrack.parse_entries(_table(5, timeout=1234))
    assert conntrack.diff(a, b).empty
    b[1] = conntrack.parse_entry(_table(2, state="TIME_WAIT").splitlines()[1])
    b.pop(4)
    b.append(conntrack.parse_entry(_table(7).splitlines()[6]))
    d = conntrack.diff(a, b)
    assert [e.orig.sport for e in d.only_a] == [10004]
    assert [e.orig.sport for e in d.only_b] == [10006]
    assert [(x.orig.sport, f) for x, _, f in d.differing] == [(10001, ("state",))]
    assert "differing: 1" in d.summary()


def test_conntrack_10000_entries_parse_and_diff_fast() -> None:
    text = _table(10_000)
    t0 = time.monotonic()
    a = conntrack.parse_entries(text)
    b = conntrack.parse_entries(text)
    d = conntrack.diff(conntrack.Snapshot("fw1", a), conntrack.Snapshot("fw2", b))
    took = time.monotonic() - t0
    print(f"10,000 entries: parsed twice and diffed in {took * 1000:.0f} ms")
    assert len(a) == 10_000 and d.empty
    assert took < 5.0  # ~0.2 s idle; generous for a loaded 2-core machine


# --- spec --------------------------------------------------------------------------

def test_render_is_valid_toml_with_configurable_sync(tmp_path: Path) -> None:
    s = spec.ClusterSpec(firewalls=["fw1", "fw2", "fw3"])
    s.sync.port = 7789
    s.sync.extra["bulk_timeout_seconds"] = 30
    s.hooks = {"master": "/bin/true", "timeout_seconds": 5}
    s.passphrase_override[("fw2", 1)] = "other"
    store = spec.SecretStore(tmp_path)
    doc = tomllib.loads(spec.render(s, store, "fw1"))
    assert [n["name"] for n in doc["node"]] == ["fw1", "fw2", "fw3"]
    assert [n["sync_address"] for n in doc["node"]] == ["203.0.113.1", "203.0.113.2",
                                                        "203.0.113.3"]
    assert doc["sync"]["interface"] == "sync0" and doc["sync"]["port"] == 7789
    assert doc["sync"]["bulk_timeout_seconds"] == 30
    key = Path(doc["sync"]["key_file"])
    assert len(key.read_text().strip()) == 64 and (key.stat().st_mode & 0o777) == 0o600
    v1, v2 = doc["vhid"]
    assert (v1["vhid"], v1["interface"], v1["advskew"]) == (1, "lan0",
                                                            {"fw1": 0, "fw2": 100, "fw3": 200})
    assert v2["vips"] == ["198.51.100.1/24", "2001:db8:2::1/64"]
    assert doc["groups"] == {"edge": ["lan0", "wan0"]} and doc["hooks"]["timeout_seconds"] == 5
    shared = Path(v1["passphrase_file"]).read_text()
    doc2 = tomllib.loads(spec.render(s, store, "fw2"))
    assert Path(doc2["vhid"][0]["passphrase_file"]).read_text() == "other\n"
    assert Path(doc2["vhid"][1]["passphrase_file"]).read_text() == Path(
        v2["passphrase_file"]).read_text()
    assert Path(tomllib.loads(spec.render(s, store, "fw3"))["vhid"][0]["passphrase_file"]
                ).read_text() == shared


def test_render_without_sync(tmp_path: Path) -> None:
    s = spec.ClusterSpec(firewalls=["fw1", "fw2"], sync=None, groups={})
    doc = tomllib.loads(spec.render(s, spec.SecretStore(tmp_path)))
    assert "sync" not in doc and "groups" not in doc
    assert all("sync_address" not in n for n in doc["node"])


def test_ruleset_options() -> None:
    base = plan.firewall_ruleset()
    assert "nat" not in base and "ct helper" not in base
    snat = plan.firewall_ruleset(nat="snat", ftp_helper=True)
    assert f"snat ip to {plan.WAN_VIP4}" in snat and f"snat ip6 to {plan.WAN_VIP6}" in snat
    assert 'iifname "lan0" oifname "wan0"' in snat
    assert 'tcp dport 21 ct helper set "ftp-standard"' in snat
    assert "masquerade" in plan.firewall_ruleset(nat="masquerade")
    with pytest.raises(ValueError):
        plan.firewall_ruleset(nat="dnat")


# --- control -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def pb2():
    return load_pb2()


def _status(pb2):
    st = pb2.StatusReply(node="fw1", version="0.1", uptime_seconds=2.5)
    v = st.vhosts.add(interface="lan0", vhid=1, state="MASTER", adverts_sent=12345678901)
    v.drops["bad_auth"] = 3
    return st


def test_to_dict_has_ints_and_defaults(pb2) -> None:
    d = to_dict(_status(pb2))
    v = d["vhosts"][0]
    assert v["adverts_sent"] == 12345678901 and v["adverts_received"] == 0
    assert v["drops"] == {"bad_auth": 3} and v["preempt"] is False
    assert "last_peer" not in v and d["groups"] == []


def test_status_json_counters_as_strings_or_numbers(pb2) -> None:
    as_strings = ('{"node": "fw1", "vhosts": [{"vhid": 1, "adverts_sent": "7", '
                  '"drops": {"bad_auth": "2"}}]}')
    as_numbers = as_strings.replace('"7"', "7").replace('"2"', "2")
    for text in (as_strings, as_numbers):
        v = parse_status_json(text)["vhosts"][0]
        assert v["adverts_sent"] == 7 and v["drops"] == {"bad_auth": 2}


class _FakeAgent:
    """A Unix socket server speaking the agent's framing; closes idle sessions."""

    def __init__(self, path: Path, pb2, idle: float) -> None:
        self.pb2, self.idle = pb2, idle
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.srv.bind(str(path))
        self.srv.listen(4)
        self.accepted = 0
        self.closed = 0
        self.requests = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.srv.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn: socket.socket) -> None:
        conn.settimeout(self.idle)
        with conn:
            while True:
                try:
                    head = conn.recv(4, socket.MSG_WAITALL)
                    if len(head) < 4:
                        return
                    body = conn.recv(struct.unpack("!I", head)[0], socket.MSG_WAITALL)
                except OSError:
                    self.closed += 1  # idle: the session ends, like the agent's 5 s timeout
                    return
                req = self.pb2.Request()
                req.ParseFromString(body)
                self.requests += 1
                resp = self.pb2.Response()
                if req.HasField("status"):
                    resp.status.CopyFrom(_status(self.pb2))
                elif req.HasField("demote"):
                    if req.demote.group != "edge":
                        resp.error.code, resp.error.context = "not-found", "no group"
                    else:
                        resp.action.message = f"demoted {req.demote.group} by {req.demote.by}"
                out = resp.SerializeToString()
                conn.sendall(struct.pack("!I", len(out)) + out)

    def close(self) -> None:
        self.srv.close()


def test_control_client_reuses_one_connection_and_reconnects(tmp_path: Path, pb2,
                                                             monkeypatch) -> None:
    agent = _FakeAgent(tmp_path / "a.sock", pb2, idle=0.3)
    try:
        client = ControlClient(tmp_path / "a.sock")
        for _ in range(20):
            assert client.status().vhosts[0].adverts_sent == 12345678901
        assert agent.accepted == 1 and agent.requests == 20
        assert client.demote("edge", "test", by=2) == "demoted edge by 2"
        with pytest.raises(ControlError) as e:
            client.demote("nope")
        assert e.value.code == "not-found"
        # The server dropped the idle session: a status is retried on a new one.
        monkeypatch.setattr("hafwkit.control.IDLE_RECONNECT", 60.0)
        waits.wait_until("the fake agent to drop the idle session",
                         lambda: agent.closed >= 1, 5)
        assert client.status_dict()["node"] == "fw1"
        assert agent.accepted == 2
        client.close()
    finally:
        agent.close()


# --- waits, timing, load, flows ------------------------------------------------------

def test_waits() -> None:
    calls = []
    took = waits.wait_until("third call", lambda: calls.append(1) or len(calls) >= 3, 2,
                            interval=0.001)
    assert took < 2 and len(calls) == 3
    with pytest.raises(waits.WaitTimeout, match="(?s)never.*last seen: 0.*diag"):
        waits.wait_until("never", lambda: 0, 0.05, interval=0.01, diagnostics=lambda: "diag")
    assert waits.wait_for_value("x", lambda: 5, lambda v: v > 4, 1) == 5
    waits.holds_for("true", lambda: True, 0.05, interval=0.01)
    with pytest.raises(AssertionError, match="stopped holding"):
        waits.holds_for("false", lambda: False, 1)


def test_timing_retries_once_only_when_loaded(monkeypatch) -> None:
    runs = []

    def flaky(t: timing.Attempt) -> None:
        runs.append(t.number)
        t.within("x", 0.2 if t.number == 1 else 0.05, high=0.1)

    monkeypatch.setattr(load, "machine_loaded", lambda: True)
    assert timing.run(flaky).number == 2 and runs == [1, 2]
    runs.clear()
    monkeypatch.setattr(load, "machine_loaded", lambda: False)
    with pytest.raises(AssertionError, match="x: 200.0 ms"):
        timing.run(flaky)
    assert runs == [1]
    runs.clear()
    monkeypatch.setattr(load, "machine_loaded", lambda: True)
    with pytest.raises(AssertionError):
        timing.run(lambda t: (runs.append(t.number), t.within("y", 1.0, high=0.5)))
    assert runs == [1, 2]


def test_load_readings() -> None:
    one, five, fifteen = load.loadavg()
    assert min(one, five, fifteen) >= 0
    meter = load.CpuBusy()
    sum(range(200_000))
    assert 0.0 <= meter.percent() <= 100.0
    assert str(os.cpu_count()) in load.describe()


def test_flow_report_from_json() -> None:
    flow = {"id": 0, "proto": "tcp", "local": "192.0.2.10:40000", "sent": 10, "echoed": 8,
            "lost": 2, "longest_gap": 0.5, "longest_gap_start": 1.0, "first_echo": 0.1,
            "last_echo": 2.0, "broken": True, "broken_reason": "reset", "broken_at": 2.1,
            "errors": 0, "gaps": [[1.0, 1.5]]}
    udp = dict(flow, id=1, proto="udp", broken=False, broken_reason=None, lost=0, echoed=10,
               longest_gap=0.1)
    r = FlowReport.from_json({"interval": 0.02, "started": 0, "ended": 3, "flows": [flow, udp]})
    assert r.lost() == 2 and r.lost("udp") == 0 and r.worst_gap("udp") == 0.1
    assert [f.id for f in r.broken()] == [0] and r.tcp[0].gaps == [(1.0, 1.5)]
    assert "broken by reason: {'reset': 1}" in r.summary()
