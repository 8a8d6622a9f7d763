#pragma once

// A small, bounds-checked reader for classic libpcap files and the Ethernet +
// IPv4 frames in them, for tests that replay lab captures. Not a general pcap
// library: no pcapng, no link types other than Ethernet.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/ip_address.h"
#include "common/result.h"

namespace hafw::testkit {

inline constexpr uint32_t kLinkTypeEthernet = 1;

struct PcapRecord {
  uint32_t seconds = 0;
  uint32_t fraction = 0;  // microseconds, or nanoseconds for the nanosecond magic
  uint32_t original_length = 0;
  std::vector<uint8_t> data;  // the captured bytes (may be shorter than original_length)
};

struct PcapFile {
  uint32_t link_type = 0;
  bool nanosecond = false;
  std::vector<PcapRecord> records;
};

// Parses a whole classic pcap file (either byte order, micro- or nanosecond
// magic). A truncated header or record is an error, never an out-of-bounds read.
Result<PcapFile> ParsePcap(std::span<const uint8_t> bytes);
Result<PcapFile> ReadPcapFile(const std::string& path);

struct Ipv4Packet {
  IpAddress source;
  IpAddress destination;
  uint8_t ttl = 0;
  uint8_t protocol = 0;
  std::span<const uint8_t> payload;  // bytes after the IP header, up to total length
};

// Ethernet II (optionally one 802.1Q tag) carrying IPv4. Errors for other
// ethertypes, a bad IPv4 header or a total length beyond the captured frame.
// The payload span points into `frame`.
Result<Ipv4Packet> ParseEthernetIpv4(std::span<const uint8_t> frame);

}  // namespace hafw::testkit
