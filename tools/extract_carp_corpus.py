#!/usr/bin/python3
"""Extracts the CARP bytes (IP payload of protocol 112) of every packet in a pcap
into one seed file per advertisement, for the carp_decode fuzzer.

Usage: tools/extract_carp_corpus.py [PCAP] [OUTDIR]
Defaults: ../shared/reference/captures/ucarp-failover.pcap beside the repository,
and fuzz/corpus/carp_decode/. File names are the SHA-1 of the content, like
libFuzzer's own corpus files, so re-running is idempotent.
"""

import hashlib
import pathlib
import sys

from scapy.all import IP, rdpcap  # Debian's /usr/bin/python3 ships scapy

CARP_PROTO = 112


def main() -> int:
    repo = pathlib.Path(__file__).resolve().parent.parent
    pcap = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else (
        repo.parent / "shared" / "reference" / "captures" / "ucarp-failover.pcap")
    out = pathlib.Path(sys.argv[2]) if len(sys.argv) > 2 else repo / "fuzz" / "corpus" / "carp_decode"
    if not pcap.is_file():
        print(f"extract_carp_corpus: no capture at {pcap}", file=sys.stderr)
        return 1
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    for packet in rdpcap(str(pcap)):
        if IP not in packet or packet[IP].proto != CARP_PROTO:
            continue
        ip = packet[IP]
        # Exactly the IP payload, up to the IP total length (no Ethernet padding).
        raw = bytes(ip)[ip.ihl * 4:ip.len]
        name = hashlib.sha1(raw).hexdigest()
        (out / name).write_bytes(raw)
        written += 1
    print(f"extract_carp_corpus: {written} advertisement(s) from {pcap} into {out}")
    return 0 if written > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
