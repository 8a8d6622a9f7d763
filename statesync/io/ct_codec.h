#pragma once

// The ctnetlink codec: FlowRecord <-> conntrack messages and ExpectRecord <->
// expectation messages, through libnetfilter_conntrack's nf_conntrack /
// nf_expect objects (nfct_nlmsg_build / nfct_nlmsg_parse on caller buffers).
// One CtCodec owns one reusable object of each kind and the label bitmasks, so
// encoding and decoding allocate nothing per record (libnetfilter_conntrack
// itself allocates a 16-byte bitmask while parsing a message that carries
// CTA_LABELS; see docs/statesync-kernel.md). Not thread-safe: one per thread.
//
// Kernel rules the builders follow (measured on 6.18, docs/statesync-kernel.md):
// NAT and the helper can only be given on create (an update carrying them is
// EOPNOTSUPP), so updates carry timeout, status, protoinfo, mark, labels and
// sequence adjustment only; flowtable offload bits are always stripped.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "common/result.h"
#include "statesync/core/flow.h"

struct nlmsghdr;
struct nf_conntrack;
struct nf_expect;
struct nfct_bitmask;

namespace hafw::statesync::io {

// Room every Build* needs in its output span: the largest conntrack or
// expectation message we produce, with margin (IPv6, NAT both ways, labels).
inline constexpr size_t kMaxCtMessageBytes = 1024;

// Status bits never sent: the kernel answers EBUSY to EXPECTED (set only
// through a master tuple) and DYING, ignores TEMPLATE and UNTRACKED, and the
// flowtable offload bits must not reach a peer without that flowtable.
inline constexpr uint32_t kStatusNeverWritten =
    kStatusExpected | kStatusDying | kStatusTemplate | kStatusUntracked | kStatusOffloadMask;

// TCP tracking flags never sent: IP_CT_TCP_FLAG_DATA_UNACKNOWLEDGED and
// IP_CT_TCP_FLAG_MAXACK_SET describe td_maxack, which ctnetlink does not carry;
// a copied MAXACK_SET with td_maxack 0 makes valid RSTs invalid (measured).
inline constexpr uint8_t kTcpFlagsNotWritten = 0x10 | 0x20;

// The conntrack writes the batched writer issues (statesync-design.md §8).
enum class CtWrite : uint8_t {
  kCreate,      // IPCTNL_MSG_CT_NEW, NLM_F_CREATE|NLM_F_EXCL: the full record, NAT, helper
  kUpdate,      // IPCTNL_MSG_CT_NEW on an existing entry: what ctnetlink lets change
  kLabelsOnly,  // IPCTNL_MSG_CT_NEW: original tuple, zone and labels under their mask
  kDelete,      // IPCTNL_MSG_CT_DELETE by original tuple and zone
  kGet,         // IPCTNL_MSG_CT_GET by original tuple and zone (merge mode reads)
};
std::string_view CtWriteName(CtWrite write);

enum class ExpWrite : uint8_t {
  kCreate,  // IPCTNL_MSG_EXP_NEW, NLM_F_CREATE|NLM_F_EXCL (the master must exist)
  kDelete,  // IPCTNL_MSG_EXP_DELETE by expected tuple and zone
};

// Label bits to write: bit i changes only where `mask` has it. A create writes
// `bits` as the whole label set (CTA_LABELS without a mask).
struct LabelWrite {
  Labels bits{};
  Labels mask{};
};

// Why a kernel message was not turned into a record (counted by the caller).
enum class CtParseStatus : uint8_t {
  kOk,
  kNotConntrack,       // another subsystem or message type
  kTruncated,          // shorter than its headers
  kMalformed,          // libnetfilter_conntrack rejected the attributes
  kUnsupportedFamily,  // neither AF_INET nor AF_INET6
  kMissingTuple,       // no original tuple
};
std::string_view CtParseStatusName(CtParseStatus status);

// What a conntrack or expectation message is, from its header alone.
enum class CtMessageKind : uint8_t {
  kOther,
  kFlowNew,        // IPCTNL_MSG_CT_NEW with NLM_F_CREATE (NEW event)
  kFlowUpdate,     // IPCTNL_MSG_CT_NEW without NLM_F_CREATE (UPDATE event, or a dump/GET reply)
  kFlowDestroy,    // IPCTNL_MSG_CT_DELETE
  kExpectNew,      // IPCTNL_MSG_EXP_NEW
  kExpectDestroy,  // IPCTNL_MSG_EXP_DELETE
};
CtMessageKind ClassifyCtMessage(const nlmsghdr& msg);

class CtCodec {
 public:
  static Result<CtCodec> Create();
  CtCodec(CtCodec&& other) noexcept;
  CtCodec& operator=(CtCodec&& other) noexcept;
  CtCodec(const CtCodec&) = delete;
  CtCodec& operator=(const CtCodec&) = delete;
  ~CtCodec();

  // A conntrack message (event, dump entry or GET reply) into `out`; every
  // field of `out` is overwritten. Offload bits are stripped from the status.
  CtParseStatus ParseFlow(const nlmsghdr& msg, FlowRecord& out);
  // An expectation message into `out`.
  CtParseStatus ParseExpect(const nlmsghdr& msg, ExpectRecord& out);

  // One request message at the start of `out` (at least kMaxCtMessageBytes),
  // with NLM_F_REQUEST | NLM_F_ACK and the given sequence number; returns its
  // length. `labels` (may be null) is written on kCreate, kUpdate and
  // kLabelsOnly (required there).
  Result<size_t> BuildFlow(CtWrite write, const FlowRecord& flow, const LabelWrite* labels,
                           uint32_t seq, std::span<uint8_t> out);
  Result<size_t> BuildExpect(ExpWrite write, const ExpectRecord& expect, uint32_t seq,
                             std::span<uint8_t> out);

 private:
  CtCodec() = default;
  void ResetParseObject();
  bool FillBuildObject(const FlowRecord& flow, CtWrite write, const LabelWrite* labels);

  // Parsing and building use separate objects: a parse may leave
  // library-owned memory (a label bitmask) in its object, which the next parse
  // frees when it replaces it; the build object only ever points at our own
  // bitmasks and is reset by copying the blank object over it.
  nf_conntrack* parse_ct_ = nullptr;
  nf_conntrack* build_ct_ = nullptr;
  nf_conntrack* blank_ = nullptr;  // never set: the reset source
  nf_expect* parse_exp_ = nullptr;
  nf_expect* build_exp_ = nullptr;
  nf_expect* blank_exp_ = nullptr;    // nf_expect is flat: reset by copying this over
  nf_conntrack* exp_part_ = nullptr;  // scratch tuple holder for nfexp_set_attr (copied in)
  nfct_bitmask* labels_ = nullptr;    // owned here; lent to build_ct_
  nfct_bitmask* labels_mask_ = nullptr;
};

// Dump requests (IPCTNL_MSG_CT_GET / IPCTNL_MSG_EXP_GET with NLM_F_DUMP) for
// both families, into `out` (at least 64 bytes); returns the length.
size_t BuildFlowDumpRequest(uint32_t seq, std::span<uint8_t> out);
size_t BuildExpectDumpRequest(uint32_t seq, std::span<uint8_t> out);
// IPCTNL_MSG_CT_GET_STATS (table count) with NLM_F_REQUEST; returns the length.
size_t BuildFlowStatsRequest(uint32_t seq, std::span<uint8_t> out);
// The entry count of an IPCTNL_MSG_CT_GET_STATS reply (CTA_STATS_GLOBAL_ENTRIES);
// -1 when the message is not one.
int64_t ParseFlowStatsEntries(const nlmsghdr& msg);

// The NAT a flow's tuples imply: the source of the original direction is
// rewritten to the reply's destination (SNAT), the destination to the reply's
// source (DNAT). Ports (ICMP: the id) come with the address.
struct NatBinding {
  bool present = false;
  IpAddress address;
  uint16_t port = 0;
};
NatBinding SourceNat(const FlowRecord& flow);
NatBinding DestinationNat(const FlowRecord& flow);

}  // namespace hafw::statesync::io
