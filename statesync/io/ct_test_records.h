#pragma once

// Test-only: flow and expectation records with documentation addresses
// (198.51.100.0/24 and 2001:db8:1::/64 inside, 203.0.113.0/24 and
// 2001:db8:2::/64 outside), distinct per `n`, shared by the codec's unit tests
// and the kernel tests.

#include <cstdint>
#include <cstring>

#include "common/ip_address.h"
#include "statesync/core/flow.h"

namespace hafw::statesync::io::testing {

inline IpAddress InsideHost(IpFamily family, uint32_t n) {
  if (family == IpFamily::kV4)
    return IpAddress::V4({198, 51, 100, static_cast<uint8_t>(2 + n % 200)});
  std::array<uint8_t, 16> bytes = {0x20, 0x01, 0x0d, 0xb8, 0, 1};
  bytes[14] = static_cast<uint8_t>(n >> 8);
  bytes[15] = static_cast<uint8_t>(2 + n % 200);
  return IpAddress::V6(bytes);
}

inline IpAddress OutsideHost(IpFamily family) {
  if (family == IpFamily::kV4) return IpAddress::V4({203, 0, 113, 2});
  return IpAddress::V6({0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2});
}

// An ESTABLISHED TCP flow, window scale 7 both ways, no NAT.
inline FlowRecord MakeTcp(IpFamily family, uint32_t n) {
  FlowRecord flow;
  flow.family = family;
  const IpAddress inside = InsideHost(family, n);
  const IpAddress outside = OutsideHost(family);
  const auto port = static_cast<uint16_t>(20000 + n);
  flow.original = {inside, outside, kProtoTcp, port, 80};
  flow.reply = {outside, inside, kProtoTcp, 80, port};
  flow.status = kStatusSeenReply | kStatusAssured;
  flow.timeout_s = 600;
  flow.tcp.state = TcpState::kEstablished;
  flow.tcp.wscale_original = 7;
  flow.tcp.wscale_reply = 7;
  flow.tcp.flags_original = 0x03;  // WINDOW_SCALE | SACK_PERM
  flow.tcp.flags_reply = 0x03;
  return flow;
}

inline FlowRecord MakeUdp(IpFamily family, uint32_t n) {
  FlowRecord flow;
  flow.family = family;
  const IpAddress inside = InsideHost(family, n);
  const IpAddress outside = OutsideHost(family);
  const auto port = static_cast<uint16_t>(30000 + n);
  flow.original = {inside, outside, kProtoUdp, port, 53};
  flow.reply = {outside, inside, kProtoUdp, 53, port};
  flow.status = kStatusSeenReply;
  flow.timeout_s = 120;
  return flow;
}

// An echo request/reply pair (ICMP or ICMPv6 by family).
inline FlowRecord MakeIcmp(IpFamily family, uint16_t id) {
  FlowRecord flow;
  flow.family = family;
  const bool v4 = family == IpFamily::kV4;
  const uint8_t proto = v4 ? kProtoIcmp : kProtoIcmpV6;
  const IpAddress inside = InsideHost(family, id);
  const IpAddress outside = OutsideHost(family);
  flow.original = {inside, outside, proto, 0, 0, id, static_cast<uint8_t>(v4 ? 8 : 128), 0};
  flow.reply = {outside, inside, proto, 0, 0, id, static_cast<uint8_t>(v4 ? 0 : 129), 0};
  flow.status = kStatusSeenReply;
  flow.timeout_s = 30;
  return flow;
}

// The expectation an FTP PASV reply creates for MakeTcp(family, 1) as master
// (the master's destination port made 21).
inline ExpectRecord MakeFtpExpect(IpFamily family) {
  ExpectRecord expect;
  expect.family = family;
  FlowRecord master = MakeTcp(family, 1);
  master.original.dst_port = 21;
  expect.master = master.original;
  expect.expected = {master.original.src, master.original.dst, kProtoTcp, 0, 10000};
  const bool v4 = family == IpFamily::kV4;
  const IpAddress all_ones = v4 ? IpAddress::V4({255, 255, 255, 255})
                                : IpAddress::V6({255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
                                                 255, 255, 255, 255, 255, 255});
  expect.mask = {all_ones, all_ones, kProtoTcp, 0, 0xffff};
  expect.timeout_s = 300;
  std::memcpy(expect.helper.data(), "ftp", 3);
  return expect;
}

}  // namespace hafw::statesync::io::testing
