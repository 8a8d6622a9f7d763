#include "testing/pcap_reader.h"

#include <fstream>
#include <iterator>

namespace hafw::testkit {
namespace {

constexpr size_t kGlobalHeaderSize = 24;
constexpr size_t kRecordHeaderSize = 16;
constexpr uint32_t kMagicMicro = 0xa1b2c3d4;
constexpr uint32_t kMagicNano = 0xa1b23c4d;
// Generous upper bound on one record: a corrupt length must not allocate gigabytes.
constexpr uint32_t kMaxRecordSize = 256 * 1024;

uint32_t Le32(std::span<const uint8_t> b) {
  return uint32_t{b[0]} | uint32_t{b[1]} << 8 | uint32_t{b[2]} << 16 | uint32_t{b[3]} << 24;
}
uint32_t Swap32(uint32_t v) {
  return (v >> 24) | ((v >> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24);
}
uint16_t Be16(std::span<const uint8_t> b) { return static_cast<uint16_t>(b[0] << 8 | b[1]); }

}  // namespace

Result<PcapFile> ParsePcap(std::span<const uint8_t> bytes) {
  if (bytes.size() < kGlobalHeaderSize) {
    return MakeError(ErrorCode::kInvalidArgument, "pcap: file shorter than the global header");
  }
  const uint32_t raw_magic = Le32(bytes.first(4));
  bool swap = false;
  PcapFile file;
  if (raw_magic == kMagicMicro || raw_magic == kMagicNano) {
    file.nanosecond = raw_magic == kMagicNano;
  } else if (Swap32(raw_magic) == kMagicMicro || Swap32(raw_magic) == kMagicNano) {
    swap = true;
    file.nanosecond = Swap32(raw_magic) == kMagicNano;
  } else {
    return MakeError(ErrorCode::kInvalidArgument, "pcap: not a classic pcap file (bad magic)");
  }
  auto read32 = [swap](std::span<const uint8_t> b) {
    const uint32_t v = Le32(b);
    return swap ? Swap32(v) : v;
  };
  file.link_type = read32(bytes.subspan(20, 4));

  size_t offset = kGlobalHeaderSize;
  while (offset < bytes.size()) {
    if (bytes.size() - offset < kRecordHeaderSize) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "pcap: truncated record header at offset " + std::to_string(offset));
    }
    const auto header = bytes.subspan(offset, kRecordHeaderSize);
    PcapRecord record;
    record.seconds = read32(header.subspan(0, 4));
    record.fraction = read32(header.subspan(4, 4));
    const uint32_t captured = read32(header.subspan(8, 4));
    record.original_length = read32(header.subspan(12, 4));
    offset += kRecordHeaderSize;
    if (captured > kMaxRecordSize || captured > bytes.size() - offset) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "pcap: record at offset " + std::to_string(offset - kRecordHeaderSize) +
                           " claims " + std::to_string(captured) + " bytes beyond the file");
    }
    const auto data = bytes.subspan(offset, captured);
    record.data.assign(data.begin(), data.end());
    offset += captured;
    file.records.push_back(std::move(record));
  }
  return file;
}

Result<PcapFile> ReadPcapFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return MakeError(ErrorCode::kNotFound, "pcap: cannot open " + path);
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                   std::istreambuf_iterator<char>());
  if (in.bad()) return MakeError(ErrorCode::kIo, "pcap: read error on " + path);
  return ParsePcap(bytes);
}

Result<Ipv4Packet> ParseEthernetIpv4(std::span<const uint8_t> frame) {
  constexpr size_t kEthernetHeader = 14;
  constexpr uint16_t kEtherTypeIpv4 = 0x0800;
  constexpr uint16_t kEtherTypeVlan = 0x8100;
  if (frame.size() < kEthernetHeader) {
    return MakeError(ErrorCode::kProtocol, "frame shorter than an Ethernet header");
  }
  size_t offset = 12;
  uint16_t ether_type = Be16(frame.subspan(offset, 2));
  offset += 2;
  if (ether_type == kEtherTypeVlan) {
    if (frame.size() < offset + 4) return MakeError(ErrorCode::kProtocol, "truncated 802.1Q tag");
    ether_type = Be16(frame.subspan(offset + 2, 2));
    offset += 4;
  }
  if (ether_type != kEtherTypeIpv4) return MakeError(ErrorCode::kProtocol, "not IPv4");

  const auto ip = frame.subspan(offset);
  if (ip.size() < 20) return MakeError(ErrorCode::kProtocol, "truncated IPv4 header");
  if ((ip[0] >> 4) != 4) return MakeError(ErrorCode::kProtocol, "IPv4 version nibble is not 4");
  const size_t header_length = size_t{ip[0] & 0x0fu} * 4;
  const size_t total_length = Be16(ip.subspan(2, 2));
  if (header_length < 20 || total_length < header_length || total_length > ip.size()) {
    return MakeError(ErrorCode::kProtocol, "IPv4 lengths inconsistent with the frame");
  }
  Ipv4Packet packet;
  packet.ttl = ip[8];
  packet.protocol = ip[9];
  packet.source = IpAddress::V4({ip[12], ip[13], ip[14], ip[15]});
  packet.destination = IpAddress::V4({ip[16], ip[17], ip[18], ip[19]});
  // Ethernet padding after total_length is not payload.
  packet.payload = ip.subspan(header_length, total_length - header_length);
  return packet;
}

}  // namespace hafw::testkit
