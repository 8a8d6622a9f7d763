#pragma once

// The replicated unit of state sync: one conntrack entry (FlowRecord) or one
// expectation (ExpectRecord), as plain fixed-size values. The ctnetlink adapter
// (statesync/io) fills them from kernel messages and writes them back; the wire
// codec (statesync/wire) turns them into protobuf; the core decides what to do
// with them. Fixed-size so queues and batches never allocate per flow.

#include <array>
#include <cstdint>
#include <string_view>

#include "common/ip_address.h"

namespace hafw::statesync {

// IP protocol numbers the codec knows by name; any other number is carried as is.
inline constexpr uint8_t kProtoIcmp = 1;
inline constexpr uint8_t kProtoTcp = 6;
inline constexpr uint8_t kProtoUdp = 17;
inline constexpr uint8_t kProtoIcmpV6 = 58;
inline constexpr uint8_t kProtoSctp = 132;

// One direction of a connection as conntrack keys it. For TCP/UDP/SCTP the
// ports are used; for ICMP/ICMPv6 the id, type and code. Host byte order.
struct FlowTuple {
  IpAddress src;
  IpAddress dst;
  uint8_t l4proto = 0;
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint16_t icmp_id = 0;
  uint8_t icmp_type = 0;
  uint8_t icmp_code = 0;
  friend bool operator==(const FlowTuple&, const FlowTuple&) = default;
};

// Conntrack's TCP states (enum tcp_conntrack in the kernel's uapi), same values.
enum class TcpState : uint8_t {
  kNone = 0,
  kSynSent = 1,
  kSynRecv = 2,
  kEstablished = 3,
  kFinWait = 4,
  kCloseWait = 5,
  kLastAck = 6,
  kTimeWait = 7,
  kClose = 8,
  kSynSent2 = 9,
};
std::string_view TcpStateName(TcpState state);  // "ESTABLISHED", ...

// What ctnetlink carries of TCP tracking (CTA_PROTOINFO_TCP): the state, and per
// direction the window scale and the IP_CT_TCP_FLAG_* bits. Sequence numbers
// and window edges do not cross ctnetlink (docs/statesync.md, "TCP windows").
struct TcpInfo {
  TcpState state = TcpState::kNone;
  uint8_t wscale_original = 0;
  uint8_t wscale_reply = 0;
  uint8_t flags_original = 0;
  uint8_t flags_reply = 0;
  friend bool operator==(const TcpInfo&, const TcpInfo&) = default;
};

// NAT sequence adjustment of one direction (CTA_SEQ_ADJ_*), set by helpers that
// rewrite payload (FTP PORT/PASV with NAT).
struct SeqAdjust {
  uint32_t correction_pos = 0;
  int32_t offset_before = 0;
  int32_t offset_after = 0;
  friend bool operator==(const SeqAdjust&, const SeqAdjust&) = default;
};

// Conntrack labels: 128 bits, bit i in byte i / 8, bit i % 8 (the kernel's
// layout). Bits kReservedLabelFirst.. are hafw's own (statesync/core/labels.h).
using Labels = std::array<uint8_t, 16>;

// Conntrack status bits the sync cares about (enum ip_conntrack_status).
inline constexpr uint32_t kStatusExpected = 1U << 0;
inline constexpr uint32_t kStatusSeenReply = 1U << 1;
inline constexpr uint32_t kStatusAssured = 1U << 2;
inline constexpr uint32_t kStatusConfirmed = 1U << 3;
inline constexpr uint32_t kStatusSrcNat = 1U << 4;
inline constexpr uint32_t kStatusDstNat = 1U << 5;
inline constexpr uint32_t kStatusSeqAdjust = 1U << 6;
inline constexpr uint32_t kStatusSrcNatDone = 1U << 7;
inline constexpr uint32_t kStatusDstNatDone = 1U << 8;
inline constexpr uint32_t kStatusDying = 1U << 9;
inline constexpr uint32_t kStatusFixedTimeout = 1U << 10;
inline constexpr uint32_t kStatusTemplate = 1U << 11;
inline constexpr uint32_t kStatusUntracked = 1U << 12;
inline constexpr uint32_t kStatusHelper = 1U << 13;
inline constexpr uint32_t kStatusOffload = 1U << 14;
inline constexpr uint32_t kStatusHwOffload = 1U << 15;
// Flowtable offload bits: stripped before install (a peer without the
// flowtable, or with another one, must not inherit them).
inline constexpr uint32_t kStatusOffloadMask = kStatusOffload | kStatusHwOffload;

inline constexpr size_t kHelperNameMax = 16;  // NF_CT_HELPER_NAME_LEN

// A conntrack entry as replicated. NAT lives in the tuples: the reply tuple of
// a source-NAT'ed flow has the translated address as its destination.
struct FlowRecord {
  IpFamily family = IpFamily::kV4;
  FlowTuple original;
  FlowTuple reply;
  uint32_t status = 0;     // kStatus* bits
  uint32_t timeout_s = 0;  // remaining lifetime in seconds, as the kernel reports it
  uint32_t mark = 0;
  uint16_t zone = 0;
  TcpInfo tcp;                                // meaningful when original.l4proto == kProtoTcp
  Labels labels{};                            // as in the kernel, hafw's reserved bits included
  std::array<char, kHelperNameMax> helper{};  // NUL-padded; empty: no helper
  SeqAdjust seq_adjust_original;              // meaningful with kStatusSeqAdjust
  SeqAdjust seq_adjust_reply;
  friend bool operator==(const FlowRecord&, const FlowRecord&) = default;

  std::string_view HelperName() const;
  bool IsTcp() const { return original.l4proto == kProtoTcp; }
  bool SourceNatted() const { return (status & kStatusSrcNat) != 0; }
  bool DestinationNatted() const { return (status & kStatusDstNat) != 0; }
};

// An expectation a helper created (the FTP data connection it expects).
struct ExpectRecord {
  IpFamily family = IpFamily::kV4;
  FlowTuple master;    // original tuple of the master flow
  FlowTuple expected;  // the tuple of the connection to expect
  FlowTuple mask;      // which fields of `expected` must match (all-ones = exact)
  uint32_t timeout_s = 0;
  uint32_t flags = 0;  // NF_CT_EXPECT_* (PERMANENT, INACTIVE, USERSPACE)
  uint32_t expect_class = 0;
  uint16_t zone = 0;
  std::array<char, kHelperNameMax> helper{};
  // NAT of the expected connection (masqueraded PORT/PASV): direction and the
  // tuple to map to; nat_dir 0xff when there is none.
  uint8_t nat_dir = 0xff;
  FlowTuple nat_tuple;
  friend bool operator==(const ExpectRecord&, const ExpectRecord&) = default;
};

// What happened to a flow, as captured or as received.
enum class FlowEvent : uint8_t {
  kNew,      // conntrack NEW event (or a flow learned from a dump)
  kUpdate,   // conntrack UPDATE event
  kDestroy,  // conntrack DESTROY event: only the tuples and zone matter
  kRefresh,  // the owner's periodic refresh of a long-lived flow's timeout
};
std::string_view FlowEventName(FlowEvent event);

}  // namespace hafw::statesync
