"""One pcap reader and decoder for the kit, and tcpdump captures in the lab.

``read_frames(path)`` yields every Ethernet frame of a classic pcap file
(what ``tcpdump -w`` writes, micro- or nanosecond timestamps) with its
capture time (CLOCK_REALTIME, like time.time()). ``decode(frame, where)``
turns a frame into one of:

  * ``CarpAdvert`` (IP protocol 112, version 2) and ``VrrpAdvert`` (112, v3),
  * ``NeighborAdvert`` (ICMPv6 type 136), ``Arp``,
  * ``IpPacket``: any other IPv4/IPv6 packet, with TCP/UDP ports, TCP flags,
    sequence numbers and payload length when it carries TCP or UDP,

or None for frames that are none of these (e.g. LLDP). A tiny decoder instead
of scapy: parsing the bytes ourselves keeps tests independent of how a
dissector labels CARP (tcpdump and Wireshark call it VRRP by default).

``Capture`` runs tcpdump on lab interfaces (by default the bridges in the
switch namespace, so every frame any port sends is seen once, on one clock).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import select
import signal
import struct
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator, Sequence

from .netns import LabError
from .plan import SWITCH

if TYPE_CHECKING:
    from .lab import Lab

ETH_P_IP = 0x0800
ETH_P_IPV6 = 0x86DD
ETH_P_ARP = 0x0806
PROTO_TCP = 6
PROTO_UDP = 17
PROTO_ICMPV6 = 58
PROTO_CARP = 112

# CARP and VRRP in either family, ARP, IPv6 neighbour advertisements.
CARP_FILTER = "(ip proto 112) or (ip6 proto 112) or arp or (icmp6 and ip6[40] == 136)"

_MAGIC = {b"\xd4\xc3\xb2\xa1": ("<", False), b"\x4d\x3c\xb2\xa1": ("<", True),
          b"\xa1\xb2\xc3\xd4": (">", False), b"\xa1\xb2\x3c\x4d": (">", True)}


class PcapError(ValueError):
    pass


@dataclasses.dataclass(frozen=True)
class Frame:
    """One captured Ethernet frame."""

    time: float   # capture timestamp, seconds since the epoch
    data: bytes   # from the destination MAC on (as captured, maybe truncated)

    @property
    def dst_mac(self) -> str:
        return mac_str(self.data[0:6])

    @property
    def src_mac(self) -> str:
        return mac_str(self.data[6:12])

    @property
    def ethertype(self) -> int:
        return struct.unpack("!H", self.data[12:14])[0] if len(self.data) >= 14 else 0


@dataclasses.dataclass(frozen=True)
class CarpAdvert:
    """One CARP advertisement (carp-protocol.md §1)."""

    time: float
    bridge: str      # where it was captured (a bridge or an interface)
    src_mac: str
    family: int      # 4 or 6
    src: str
    dst: str
    ttl: int
    vhid: int
    advbase: int
    advskew: int
    demote: int
    counter: int
    header: bytes = dataclasses.field(default=b"", repr=False, compare=False)  # the CARP bytes

    @property
    def bow_out(self) -> bool:
        return self.advbase == 255 and self.advskew == 255


@dataclasses.dataclass(frozen=True)
class VrrpAdvert:
    """A VRRPv3 advertisement (RFC 5798): keepalived's."""

    time: float
    bridge: str
    src_mac: str
    family: int
    src: str
    dst: str
    ttl: int
    vrid: int
    priority: int
    max_adver_int_cs: int  # centiseconds

    @property
    def bow_out(self) -> bool:
        return self.priority == 0


@dataclasses.dataclass(frozen=True)
class NeighborAdvert:
    """An ICMPv6 neighbour advertisement (type 136)."""

    time: float
    bridge: str
    src_mac: str
    src: str
    dst: str
    target: str
    router: bool
    solicited: bool
    override: bool
    target_lladdr: str | None


@dataclasses.dataclass(frozen=True)
class Arp:
    time: float
    bridge: str
    src_mac: str
    op: int          # 1 request, 2 reply
    sender_mac: str
    sender_ip: str
    target_ip: str


@dataclasses.dataclass(frozen=True)
class IpPacket:
    """Any other IP packet; ports, flags and sequence numbers for TCP/UDP."""

    time: float
    bridge: str
    src_mac: str
    family: int
    src: str
    dst: str
    proto: int
    ttl: int
    sport: int | None = None
    dport: int | None = None
    tcp_flags: int | None = None   # FIN 0x01 SYN 0x02 RST 0x04 PSH 0x08 ACK 0x10
    seq: int | None = None
    ack: int | None = None
    payload_len: int = 0           # L4 payload bytes on the wire (not the captured ones)

    def has_flags(self, flags: int) -> bool:
        return self.tcp_flags is not None and self.tcp_flags & flags == flags


TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH, TCP_ACK = 0x01, 0x02, 0x04, 0x08, 0x10


def mac_str(b: bytes) -> str:
    return ":".join(f"{x:02x}" for x in b)


def _ip(b: bytes) -> str:
    return str(ipaddress.ip_address(b))


def read_frames(path: Path | str) -> Iterator[Frame]:
    """Every frame of a classic pcap file with Ethernet link type."""
    data = Path(path).read_bytes()
    if len(data) < 24:
        return
    try:
        endian, nano = _MAGIC[data[:4]]
    except KeyError:
        raise PcapError(f"{path}: not a pcap file") from None
    (linktype,) = struct.unpack(endian + "I", data[20:24])
    if linktype != 1:
        raise PcapError(f"{path}: link type {linktype}, expected Ethernet")
    rec = struct.Struct(endian + "IIII")
    off = 24
    while off + rec.size <= len(data):
        sec, frac, incl, _orig = rec.unpack_from(data, off)
        off += rec.size
        yield Frame(sec + frac / (1e9 if nano else 1e6), data[off:off + incl])
        off += incl


def decode(frame: Frame, where: str = ""):
    """The frame as CarpAdvert/VrrpAdvert/NeighborAdvert/Arp/IpPacket, or None."""
    f, t = frame.data, frame.time
    if len(f) < 14:
        return None
    src_mac = mac_str(f[6:12])
    etype = frame.ethertype
    p = f[14:]
    if etype == ETH_P_ARP and len(p) >= 28:
        (op,) = struct.unpack("!H", p[6:8])
        return Arp(t, where, src_mac, op, mac_str(p[8:14]), _ip(p[14:18]), _ip(p[24:28]))
    if etype == ETH_P_IP and len(p) >= 20:
        ihl = (p[0] & 0x0F) * 4
        (total,) = struct.unpack("!H", p[2:4])
        return _l4(t, where, src_mac, 4, _ip(p[12:16]), _ip(p[16:20]), p[9], p[8], p[ihl:],
                   total - ihl)
    if etype == ETH_P_IPV6 and len(p) >= 40:
        (plen,) = struct.unpack("!H", p[4:6])
        return _l4(t, where, src_mac, 6, _ip(p[8:24]), _ip(p[24:40]), p[6], p[7], p[40:], plen)
    return None


def _l4(t, where, src_mac, family, src, dst, proto, ttl, body: bytes, l4_len: int):
    if proto == PROTO_CARP and len(body) >= 8:
        version = body[0] >> 4
        if version == 2 and len(body) >= 16:
            (counter,) = struct.unpack("!Q", body[8:16])
            return CarpAdvert(t, where, src_mac, family, src, dst, ttl, vhid=body[1],
                              advbase=body[5], advskew=body[2], demote=body[4], counter=counter,
                              header=bytes(body[:36]))
        if version == 3:
            (maxint,) = struct.unpack("!H", body[4:6])
            return VrrpAdvert(t, where, src_mac, family, src, dst, ttl, vrid=body[1],
                              priority=body[2], max_adver_int_cs=maxint & 0x0FFF)
    if proto == PROTO_ICMPV6 and len(body) >= 24 and body[0] == 136:
        lladdr = None
        opts = body[24:]
        while len(opts) >= 8 and opts[1] > 0:
            if opts[0] == 2:
                lladdr = mac_str(opts[2:8])
            opts = opts[opts[1] * 8:]
        flags = body[4]
        return NeighborAdvert(t, where, src_mac, src, dst, _ip(body[8:24]), bool(flags & 0x80),
                              bool(flags & 0x40), bool(flags & 0x20), lladdr)
    pkt = IpPacket(t, where, src_mac, family, src, dst, proto, ttl)
    if proto == PROTO_TCP and len(body) >= 20:
        sport, dport, seq, ack, off_flags = struct.unpack("!HHIIH", body[:14])
        hlen = (off_flags >> 12) * 4
        return dataclasses.replace(pkt, sport=sport, dport=dport, seq=seq, ack=ack,
                                   tcp_flags=off_flags & 0x1FF,
                                   payload_len=max(0, l4_len - hlen))
    if proto == PROTO_UDP and len(body) >= 8:
        sport, dport, ulen = struct.unpack("!HHH", body[:6])
        return dataclasses.replace(pkt, sport=sport, dport=dport, payload_len=max(0, ulen - 8))
    return dataclasses.replace(pkt, payload_len=max(0, l4_len))


def parse_pcap(path: Path | str, where: str = "") -> list:
    """Decoded packets of a pcap file (frames that decode to nothing are left out)."""
    out = []
    for frame in read_frames(path):
        pkt = decode(frame, where)
        if pkt is not None:
            out.append(pkt)
    return out


class Capture:
    """tcpdump on lab interfaces, decoded when stopped.

    ``points`` are (node, interface) pairs; the default is the lab's LAN and
    WAN bridges in the switch namespace. Packet records name the interface
    they were captured on (their ``bridge`` field).
    """

    def __init__(self, lab: "Lab", directory: Path,
                 points: Sequence[tuple[str, str]] = ((SWITCH, "brlan"), (SWITCH, "brwan")),
                 bpf: str = CARP_FILTER, snaplen: int = 256) -> None:
        self.lab = lab
        self.dir = Path(directory)
        self.points = list(points)
        self.bpf = bpf
        self.snaplen = snaplen
        self._procs: dict[tuple[str, str], subprocess.Popen] = {}
        self.files: dict[tuple[str, str], Path] = {}
        self.packets: list = []

    def start(self, timeout: float = 10.0) -> "Capture":
        """Starts tcpdump on every point; returns once each says it is listening."""
        for node, ifname in self.points:
            path = self.dir / f"capture-{node}-{ifname}-{time.monotonic_ns()}.pcap"
            self.files[(node, ifname)] = path
            proc = self.lab.popen(node, [
                "tcpdump", "-i", ifname, "-n", "-U", "--immediate-mode", "-s", str(self.snaplen),
                "--time-stamp-precision", "nano", "-Z", "root", "-w", str(path), self.bpf],
                stderr=subprocess.PIPE)
            self._procs[(node, ifname)] = proc
            assert proc.stderr is not None
            ready, _, _ = select.select([proc.stderr], [], [], timeout)
            line = proc.stderr.readline().decode(errors="replace") if ready else ""
            if "listening on" not in line:
                self.lab.stop(proc, signal.SIGKILL)
                raise LabError(f"tcpdump on {node}/{ifname} did not start: {line!r}")
        return self

    def stop(self, keep_files: bool = False) -> "Capture":
        """Stops tcpdump (it flushes on SIGTERM) and decodes what it wrote."""
        for proc in self._procs.values():
            self.lab.stop(proc, signal.SIGTERM, grace=5)
        self._procs.clear()
        packets: list = []
        for (_node, ifname), path in self.files.items():
            if path.exists():
                packets.extend(parse_pcap(path, ifname))
                if not keep_files:
                    path.unlink()
        if not keep_files:
            self.files.clear()
        self.packets = sorted(packets, key=lambda p: p.time)
        return self

    def of_type(self, kind: type) -> list:
        return [p for p in self.packets if isinstance(p, kind)]

    def adverts(self, vhid: int | None = None, bridge: str | None = None,
                src_mac: str | None = None, family: int | None = None) -> list[CarpAdvert]:
        return [p for p in self.packets if isinstance(p, CarpAdvert)
                and (vhid is None or p.vhid == vhid) and (bridge is None or p.bridge == bridge)
                and (src_mac is None or p.src_mac == src_mac)
                and (family is None or p.family == family)]

    def neighbor_adverts(self) -> list[NeighborAdvert]:
        return self.of_type(NeighborAdvert)

    def arps(self) -> list[Arp]:
        return self.of_type(Arp)


def capture(lab: "Lab", directory: Path, bridges: Iterable[str] = ("brlan", "brwan"),
            bpf: str = CARP_FILTER) -> Capture:
    """Starts capturing on the lab's bridges (returns once live)."""
    return Capture(lab, directory, [(SWITCH, b) for b in bridges], bpf).start()
