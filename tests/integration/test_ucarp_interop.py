"""Interop with a real UCARP peer and with the packet decoders.

ha-agent on fw1 and Debian's ucarp (1.5.2) on fw2 share one vhid: one IPv4
VIP, a passphrase of at most 19 bytes, multicast, advbase 1
(carp-protocol.md §2.5-2.6, §3.3-3.4, §6, §7 item 9). Each side must accept the
other's advertisements (ucarp logs no "Bad digest", ha-agent counts no
bad_auth) and exactly one node holds the VIP:

  * ha-agent advskew 0, ucarp 100: ha-agent MASTER, ucarp BACKUP; stopping
    ha-agent sends its 255/255 bow-out and ucarp takes over at once instead of
    waiting its ~4 s master-down time;
  * ucarp advskew 0, ha-agent 100: ucarp MASTER, ha-agent BACKUP with ucarp's
    address as last_peer; when the ucarp process dies (it sends no bow-out),
    ha-agent takes over after its master-down interval.

Then tcpdump (-T carp) and tshark decode a capture of ha-agent's
advertisements with the expected header fields and IP envelope, and the HMAC
in the capture is recomputed here from the passphrase (§2.7 V1 layout).

ucarp runs in the foreground (--facility=none: no syslog) with its log on
stdout/stderr, line-buffered through stdbuf, into a file the test reads; its
up/down scripts add/remove the VIP and append the event to a log. Every
process is started with lab.popen and stopped by its pid.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import re
import shutil
import signal
import struct
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

import lab as labmod
from hafw_cluster import HafwCluster, Vhid

VHID = 10
VIP = "192.0.2.100"  # not one of the lab's reserved VIPs
VIP_CIDR = f"{VIP}/24"
PASSPHRASE = "hafw-ucarp-interop"  # 18 bytes: UCARP refuses more than 19
FW1_LAN = labmod.Lab.ip("fw1", "lan", 4)
FW2_LAN = labmod.Lab.ip("fw2", "lan", 4)
POLL = 0.05

assert len(PASSPHRASE.encode()) <= 19


def wait_for(what: str, predicate, timeout: float, on_fail=lambda: "") -> float:
    """Polls predicate until true; returns the seconds it took."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return time.monotonic() - start
        time.sleep(POLL)
    pytest.fail(f"timed out after {timeout} s waiting for {what}\n{on_fail()}")


class Ucarp:
    """One ucarp process in a firewall namespace, with its log and scripts."""

    def __init__(self, lab: labmod.Lab, node: str, advskew: int, workdir: Path,
                 preempt: bool) -> None:
        if shutil.which("ucarp") is None:
            pytest.fail("ucarp is not installed (tools/bootstrap.sh installs it)")
        self.lab = lab
        self.node = node
        self.dir = workdir
        self.log_path = workdir / f"ucarp-{node}.log"
        self.events_path = workdir / f"ucarp-{node}.events"
        up = workdir / "vip-up.sh"
        down = workdir / "vip-down.sh"
        # ucarp calls SCRIPT INTERFACE VIP; it waits for the up-script before
        # it advertises (§4.1), so keep them short.
        for path, verb in ((up, "add"), (down, "del")):
            path.write_text("#!/bin/sh\n"
                            f"ip -4 addr {verb} \"$2/24\" dev \"$1\" 2>/dev/null\n"
                            f"echo \"{'up' if verb == 'add' else 'down'} $1 $2\" >> "
                            f"{self.events_path}\n")
            os.chmod(path, 0o755)
        self.cmd = ["stdbuf", "-oL", "-eL", "ucarp", "--interface=lan0",
                    f"--srcip={labmod.Lab.ip(node, 'lan', 4)}", f"--vhid={VHID}",
                    f"--pass={PASSPHRASE}", f"--addr={VIP}", "--advbase=1",
                    f"--advskew={advskew}", "--shutdown", "--facility=none",
                    f"--upscript={up}", f"--downscript={down}"] + (["--preempt"] if preempt else [])
        self.proc: subprocess.Popen | None = None
        self.started_at = 0.0

    def start(self) -> None:
        with open(self.log_path, "ab") as out:
            self.proc = self.lab.popen(self.node, self.cmd, stdout=out,
                                       stderr=subprocess.STDOUT)
        self.started_at = time.monotonic()

    def signal(self, sig: int) -> None:
        """Signals the ucarp process by its pid (stdbuf and ip netns exec exec it)."""
        assert self.proc is not None
        os.kill(self.proc.pid, sig)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def events(self) -> list[str]:
        if not self.events_path.exists():
            return []
        return self.events_path.read_text().splitlines()

    def states(self) -> list[str]:
        """Every 'Switching to state: X' ucarp logged, in order."""
        return re.findall(r"Switching to state: (\w+)", self.log())

    def state(self) -> str | None:
        s = self.states()
        return s[-1] if s else None

    def status_line(self, timeout: float = 3.0) -> str:
        """SIGUSR1 makes ucarp log its view: "<STATE> on lan0 id <vhid>"."""
        before = len(re.findall(r"\] (\w+) on lan0 id \d+", self.log()))
        self.signal(signal.SIGUSR1)
        found: list[str] = []

        def logged() -> bool:
            found[:] = re.findall(r"\] (\w+ on lan0 id \d+)", self.log())
            return len(found) > before

        wait_for("ucarp's SIGUSR1 status line", logged, timeout, self.log)
        return found[-1]


@pytest.fixture
def workdir():
    d = Path(tempfile.mkdtemp(prefix="hafw-ucarp-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


def make_cluster(request, lab, hafw_paths, skews: dict[str, int]) -> HafwCluster:
    # The cluster file lists both lab firewalls; only fw1 runs ha-agent. fw2's
    # advskew is what its ucarp uses (the file's advskews must be distinct).
    vhid = Vhid(VHID, "lan0", [VIP_CIDR], dict(skews), passphrase=PASSPHRASE)
    cluster = HafwCluster(lab, hafw_paths, vhids=[vhid], groups={})
    # Its temp dir (cluster file, secrets, logs) outlives nothing of the test.
    request.addfinalizer(lambda: shutil.rmtree(cluster.dir, ignore_errors=True))
    cluster.check("fw1")
    return cluster


def vhost(cluster: HafwCluster, node: str = "fw1") -> dict:
    return next(v for v in cluster.status(node)["vhosts"] if v["vhid"] == VHID)


def vip_holders(lab) -> list[str]:
    return [fw for fw in lab.firewalls
            if any(a.split("/")[0] == VIP for a in lab.addresses(fw, "lan0", 4))]


def agent_drops(cluster: HafwCluster, node: str = "fw1") -> dict:
    """Every drop counter of the node: the vhid's and the interfaces'."""
    status = cluster.status(node)
    drops: dict[str, int] = {}
    for v in status.get("vhosts", []):
        for k, n in v.get("drops", {}).items():
            drops[k] = drops.get(k, 0) + int(n)
    for i in status.get("interfaces", []) or []:
        if isinstance(i, dict):
            for k, n in i.get("drops", {}).items():
                drops[k] = drops.get(k, 0) + int(n)
    return drops


def diagnostics(cluster: HafwCluster, ucarp: Ucarp):
    return lambda: (cluster.logs_text() + f"\n--- ucarp on {ucarp.node} ---\n"
                    + ucarp.log()[-4000:] + "\n--- ucarp events ---\n"
                    + "\n".join(ucarp.events()))


def assert_mutual_acceptance(cluster: HafwCluster, ucarp: Ucarp) -> None:
    assert "Bad digest" not in ucarp.log(), ucarp.log()
    assert "Bad TTL" not in ucarp.log(), ucarp.log()
    drops = agent_drops(cluster)
    assert drops.get("bad_auth", 0) == 0, drops
    assert drops.get("bad_ttl", 0) == 0, drops


def test_agent_master_ucarp_backup_then_bow_out(request, lab, hafw_paths, workdir):
    """(a) ha-agent advskew 0 vs ucarp advskew 100: ha-agent is MASTER; its
    bow-out on SIGTERM makes ucarp take over at once."""
    cluster = make_cluster(request, lab, hafw_paths, {"fw1": 0, "fw2": 100})
    # No --preempt: the bow-out must work through the "too slow" rule alone.
    ucarp = Ucarp(lab, "fw2", advskew=100, workdir=workdir, preempt=False)
    diag = diagnostics(cluster, ucarp)
    cluster.start("fw1")
    ucarp.start()

    wait_for("ha-agent on fw1 to be MASTER", lambda: cluster.state("fw1", VHID) == "MASTER",
             8, diag)
    # Without hearing us, ucarp (advskew 100) would claim MASTER about 4.2 s
    # after its start (§3.2, §6). Watch it well past that point.
    deadline = ucarp.started_at + 7.0
    while time.monotonic() < deadline:
        assert vip_holders(lab) == ["fw1"], diag()
        assert ucarp.proc.poll() is None, diag()
        time.sleep(0.25)
    assert ucarp.states() == ["BACKUP"], diag()
    assert ucarp.status_line() == f"BACKUP on lan0 id {VHID}", diag()
    v = vhost(cluster)
    assert v["state"] == "MASTER" and int(v["adverts_sent"]) >= 3, v
    assert_mutual_acceptance(cluster, ucarp)
    assert lab.ping("client", VIP, count=2), diag()

    # Graceful stop: ha-agent sends advbase 255 / advskew 255 and removes the
    # VIP; ucarp's "too slow" rule fires ("Putting MASTER DOWN (going to time
    # out)") instead of its ~4.2 s master-down timer.
    t0 = time.monotonic()
    assert cluster.stop("fw1") == 0, diag()
    took = wait_for("ucarp to become MASTER", lambda: ucarp.state() == "MASTER", 6, diag)
    wait_for("the VIP to be on fw2 only", lambda: vip_holders(lab) == ["fw2"], 3, diag)
    # ucarp logs why after its up-script returned and it advertised.
    wait_for("ucarp's reason", lambda: "Putting MASTER DOWN (going to time out)" in ucarp.log(),
             3, diag)
    # ucarp hands packets to its loop about 0.5 s late (libpcap, §6); its
    # master-down would have been >= 3.39 s after our last regular advert.
    assert took < 1.8, f"ucarp took over {took:.2f} s after the bow-out\n{diag()}"
    print(f"ucarp took over {took * 1000:.0f} ms after ha-agent's SIGTERM "
          f"({time.monotonic() - t0:.2f} s until the VIP moved)")
    assert ucarp.events()[-1] == f"up lan0 {VIP}", diag()
    assert ucarp.status_line() == f"MASTER on lan0 id {VHID}", diag()
    assert lab.ping("client", VIP, count=2, timeout=2), diag()


def test_ucarp_master_agent_backup_then_ucarp_dies(request, lab, hafw_paths, workdir):
    """(b) ucarp advskew 0 vs ha-agent advskew 100: ucarp is MASTER and
    ha-agent BACKUP with ucarp as last_peer; (c) when ucarp dies, ha-agent
    takes over after its master-down interval (UCARP sends no bow-out)."""
    cluster = make_cluster(request, lab, hafw_paths, {"fw1": 100, "fw2": 0})
    ucarp = Ucarp(lab, "fw2", advskew=0, workdir=workdir, preempt=True)
    diag = diagnostics(cluster, ucarp)
    ucarp.start()
    wait_for("ucarp on fw2 to be MASTER", lambda: ucarp.state() == "MASTER", 8, diag)
    wait_for("the VIP on fw2", lambda: vip_holders(lab) == ["fw2"], 3, diag)

    agent_started = time.monotonic()
    cluster.start("fw1")
    wait_for("ha-agent to hear ucarp", lambda: int(vhost(cluster).get("adverts_received", 0)) >= 1,
             5, diag)
    # ha-agent's master-down interval is 3 + 100/256 s: watch past it.
    deadline = agent_started + 5.5
    while time.monotonic() < deadline:
        assert cluster.state("fw1", VHID) == "BACKUP", diag()
        assert vip_holders(lab) == ["fw2"], diag()
        time.sleep(0.25)
    v = vhost(cluster)
    assert v["state"] == "BACKUP", v
    assert int(v["adverts_received"]) >= 4, v
    peer = v["last_peer"]
    assert peer["address"] == FW2_LAN, peer
    assert int(peer.get("advbase", 0)) == 1 and int(peer.get("advskew", 0)) == 0, peer
    assert int(peer.get("demote", 0)) == 0, peer
    assert ucarp.states() == ["BACKUP", "MASTER"], diag()
    assert ucarp.status_line() == f"MASTER on lan0 id {VHID}", diag()
    assert_mutual_acceptance(cluster, ucarp)
    text = cluster.hactl("fw1", "status")
    assert "BACKUP" in text and FW2_LAN in text, text

    # (c) ucarp dies: SIGTERM to its pid; with --shutdown it runs the
    # down-script (VIP removed) and exits without a bow-out (§3.7).
    ucarp.signal(signal.SIGTERM)
    killed = time.monotonic()
    ucarp.proc.wait(timeout=5)
    wait_for("ucarp's down-script", lambda: ucarp.events()[-1:] == [f"down lan0 {VIP}"], 3, diag)
    wait_for("ha-agent on fw1 to take over",
             lambda: cluster.state("fw1", VHID) == "MASTER", 8, diag)
    took = time.monotonic() - killed
    wait_for("the VIP on fw1 only", lambda: vip_holders(lab) == ["fw1"], 2, diag)
    v = vhost(cluster)
    assert v["last_transition"]["cause"] == "master-down", v
    # The last advert left at most 1 s before the kill; master-down is 3.39 s.
    assert 2.0 <= took <= 4.5, f"takeover {took:.2f} s after ucarp died\n{diag()}"
    print(f"ha-agent took over {took * 1000:.0f} ms after ucarp was killed")
    assert lab.ping("client", VIP, count=2, timeout=2), diag()
    assert agent_drops(cluster).get("bad_auth", 0) == 0


# --- decoders ------------------------------------------------------------------

def read_pcap(path: Path) -> list[bytes]:
    """Frames of a classic pcap file (what tcpdump -w writes), Ethernet link type."""
    data = path.read_bytes()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        raise AssertionError(f"{path} is not a pcap file")
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    assert linktype == 1, f"link type {linktype}, expected Ethernet"
    frames, off = [], 24
    while off + 16 <= len(data):
        incl = struct.unpack(endian + "IIII", data[off:off + 16])[2]
        frames.append(data[off + 16:off + 16 + incl])
        off += 16 + incl
    return frames


def carp_hmac(passphrase: str, vhid: int, vip: str, counter: bytes) -> bytes:
    """carp-protocol.md §2.2 for one IPv4 VIP: HMAC-SHA1 keyed with the passphrase."""
    msg = bytes([2, 1, vhid]) + ipaddress.IPv4Address(vip).packed + counter
    return hmac.new(passphrase.encode(), msg, hashlib.sha1).digest()


TCPDUMP_RE = re.compile(
    r"IP \(tos (?P<tos>0x[0-9a-f]+), ttl (?P<ttl>\d+), id \d+, offset \d+, "
    r"flags \[(?P<flags>[^\]]*)\], proto \S+ \((?P<proto>\d+)\), length (?P<len>\d+)\)\s+"
    r"(?P<src>[\d.]+) > (?P<dst>[\d.]+): CARPv2-advertise (?P<clen>\d+): vhid=(?P<vhid>\d+) "
    r"advbase=(?P<advbase>\d+) advskew=(?P<advskew>\d+) authlen=(?P<authlen>\d+) "
    r"counter=(?P<counter>\d+)")


def test_tcpdump_and_tshark_decode_agent_adverts(request, lab, hafw_paths, workdir):
    """tcpdump -T carp and tshark decode ha-agent's adverts as captured on
    the peer's LAN interface; the envelope is TTL 255, proto 112, to
    224.0.0.18 from fw1's static address (never the VIP)."""
    for tool in ("tcpdump", "tshark"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not installed (tools/bootstrap.sh installs it)")
    cluster = make_cluster(request, lab, hafw_paths, {"fw1": 0, "fw2": 100})
    cluster.start("fw1")
    wait_for("ha-agent on fw1 to be MASTER", lambda: cluster.state("fw1", VHID) == "MASTER",
             8, cluster.logs_text)
    assert vip_holders(lab) == ["fw1"]

    pcap = workdir / "adverts.pcap"
    err = open(workdir / "tcpdump.err", "wb")
    dump = lab.popen("fw2", ["tcpdump", "-i", "lan0", "-n", "-U", "-w", str(pcap),
                             "ip proto 112"], stderr=err)
    err.close()
    wait_for("tcpdump to listen",
             lambda: "listening on" in (workdir / "tcpdump.err").read_text(), 5,
             lambda: (workdir / "tcpdump.err").read_text())

    def decoded(extra: list[str] = []) -> str:
        r = subprocess.run(["tcpdump", "-r", str(pcap), "-n", "-v", "-T", "carp", *extra],
                           capture_output=True, text=True, timeout=10)
        return r.stdout

    wait_for("3 adverts in the capture", lambda: decoded().count("CARPv2-advertise") >= 3,
             6, decoded)
    # The bow-out: SIGTERM makes the MASTER send advbase 255 / advskew 255.
    assert cluster.stop("fw1") == 0
    wait_for("the bow-out in the capture", lambda: "advbase=255" in decoded(), 3, decoded)
    lab.stop(dump)

    text = decoded()
    ads = [m.groupdict() for m in TCPDUMP_RE.finditer(text)]
    assert len(ads) == text.count("CARPv2-advertise") >= 4, text
    regular, bow_out = ads[:-1], ads[-1]
    for ad in ads:
        assert ad["ttl"] == "255" and ad["proto"] == "112", ad
        assert ad["tos"] == "0x10", ad  # IPTOS_LOWDELAY, as OpenBSD and UCARP
        assert ad["len"] == "56" and ad["clen"] == "36", ad
        assert "DF" in ad["flags"], ad
        assert ad["src"] == FW1_LAN and ad["src"] != VIP, ad
        assert ad["dst"] == "224.0.0.18", ad
        assert ad["vhid"] == str(VHID) and ad["authlen"] == "7", ad
    for ad in regular:
        assert (ad["advbase"], ad["advskew"]) == ("1", "0"), ad
    assert (bow_out["advbase"], bow_out["advskew"]) == ("255", "255"), bow_out
    # hafw's counter is a constant per-vhid cookie (OpenBSD scheme, §1.5).
    assert len({ad["counter"] for ad in ads}) == 1, text
    print("tcpdump -T carp:\n" + "\n".join(text.splitlines()[:2]))

    # Raw bytes: Ethernet multicast destination, checksum and HMAC (§1.1, §2).
    frames = read_pcap(pcap)
    assert len(frames) == len(ads)
    for f in frames:
        assert f[0:6] == bytes.fromhex("01005e000012"), f[:14].hex()
        ip = f[14:34]
        carp = f[34:70]
        assert ip[9] == 112 and ip[8] == 255, ip.hex()
        assert ipaddress.IPv4Address(ip[12:16]) == ipaddress.IPv4Address(FW1_LAN)
        words = struct.unpack("!18H", carp)
        s = sum(words)
        while s >> 16:
            s = (s & 0xFFFF) + (s >> 16)
        assert s == 0xFFFF, f"bad CARP checksum in {carp.hex()}"
        assert carp[0] == 0x21 and carp[1] == VHID and carp[3] == 7 and carp[4] == 0
        assert carp[16:36] == carp_hmac(PASSPHRASE, VHID, VIP, carp[8:16]), carp.hex()

    # tshark needs to be told that protocol 112 is CARP (it says VRRP otherwise).
    r = subprocess.run(["tshark", "-r", str(pcap), "-d", "ip.proto==112,carp", "-T", "fields",
                        "-E", "separator=,", "-e", "ip.ttl", "-e", "ip.src", "-e", "carp.vhid",
                        "-e", "carp.adver_int", "-e", "carp.advskew", "-e", "carp.authlen",
                        "-e", "carp.demotion", "-e", "carp.checksum.status"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    rows = [line.split(",") for line in r.stdout.split()]
    assert len(rows) == len(ads), r.stdout
    for row in rows[:-1]:
        assert row == ["255", FW1_LAN, str(VHID), "1", "0", "7", "0", "1"], row  # 1: good
    assert rows[-1] == ["255", FW1_LAN, str(VHID), "255", "255", "7", "0", "1"], rows[-1]
