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
process is started with lab.popen and stopped by its pid (hafwkit.peers.Ucarp).
The takeover windows are test_ucarp_timing.py's (label `timing`); both run
the scenarios of carp_scenarios.py.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import shutil
import struct
import subprocess
import tempfile
from pathlib import Path

import pytest
from carp_scenarios import (UCARP_PASSPHRASE, UCARP_VHID, UCARP_VIP, agent_bows_out_to_ucarp,
                            agent_takes_over_from_dead_ucarp, ucarp_cluster)
from hafwkit import plan
from hafwkit.pcap import Capture, read_frames
from hafwkit.waits import wait_until

VHID, VIP, PASSPHRASE = UCARP_VHID, UCARP_VIP, UCARP_PASSPHRASE
FW1_LAN = plan.ip("fw1", "lan", 4)

assert len(PASSPHRASE.encode()) <= 19


@pytest.fixture
def workdir():
    d = Path(tempfile.mkdtemp(prefix="hafw-ucarp-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_agent_master_ucarp_backup_then_bow_out(lab, hafw_paths, workdir):
    """(a) ha-agent advskew 0 vs ucarp advskew 100: ha-agent is MASTER; its
    bow-out on SIGTERM makes ucarp take over through its "too slow" rule."""
    agent_bows_out_to_ucarp(lab, hafw_paths, workdir)


def test_ucarp_master_agent_backup_then_ucarp_dies(lab, hafw_paths, workdir):
    """(b) ucarp advskew 0 vs ha-agent advskew 100: ucarp is MASTER and
    ha-agent BACKUP with ucarp as last_peer; (c) when ucarp dies, ha-agent
    takes over by its master-down timer (UCARP sends no bow-out)."""
    agent_takes_over_from_dead_ucarp(lab, hafw_paths, workdir)


# --- decoders ------------------------------------------------------------------

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


def test_tcpdump_and_tshark_decode_agent_adverts(lab, hafw_paths, workdir):
    """tcpdump -T carp and tshark decode ha-agent's adverts as captured on
    the peer's LAN interface; the envelope is TTL 255, proto 112, to
    224.0.0.18 from fw1's static address (never the VIP)."""
    for tool in ("tcpdump", "tshark"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not installed (tools/bootstrap.sh installs it)")
    cluster = ucarp_cluster(lab, hafw_paths, {"fw1": 0, "fw2": 100})
    cluster.start("fw1")
    cluster.wait_for_state("fw1", VHID, "MASTER", timeout=8)
    assert lab.holders(VIP, "lan0") == ["fw1"]

    cap = Capture(lab, workdir, [("fw2", "lan0")], bpf="ip proto 112").start()
    pcap = cap.files[("fw2", "lan0")]

    def decoded(extra: list[str] = []) -> str:
        r = subprocess.run(["tcpdump", "-r", str(pcap), "-n", "-v", "-T", "carp", *extra],
                           capture_output=True, text=True, timeout=10)
        return r.stdout

    wait_until("3 adverts in the capture", lambda: decoded().count("CARPv2-advertise") >= 3,
               6, interval=0.1, diagnostics=decoded)
    # The bow-out: SIGTERM makes the MASTER send advbase 255 / advskew 255.
    assert cluster.stop("fw1") == 0
    wait_until("the bow-out in the capture", lambda: "advbase=255" in decoded(), 3,
               interval=0.1, diagnostics=decoded)
    cap.stop(keep_files=True)

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
    frames = [f.data for f in read_frames(pcap)]
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
