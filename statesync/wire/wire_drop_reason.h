#pragma once

// Why a sync stream was rejected by the wire decoder. Every reason has a
// counter (sync-status, metrics); a frame that fails any check poisons the
// stream: the link is closed, nothing from the peer is asserted on.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace hafw::statesync {

enum class WireDropReason : uint8_t {
  kZeroLength,         // a frame header announcing 0 bytes
  kOversizeFrame,      // a frame header announcing more than kMaxFrameBytes
  kParseError,         // not protobuf: truncated, bad tag or varint, bad UTF-8 in a string
  kNoBody,             // a Frame with no body this version knows (empty or unknown oneof)
  kMultipleBodies,     // a Frame with more than one body field
  kBadEnum,            // an enum value that is UNSPECIFIED or unknown
  kValueOutOfRange,    // a number too big for its field (port > 65535, owner > 15, ...)
  kBadAddressLength,   // an address that is missing or neither 4 nor 16 bytes long
  kMixedFamilies,      // an address of the other family than its flow or expectation
  kBadLabelsLength,    // labels neither empty nor 16 bytes
  kHelperNameTooLong,  // a helper name that does not fit kHelperNameMax with its NUL
  kNodeNameTooLong,    // a node name that does not fit kNodeNameMax with its NUL
  kBadName,            // an empty node name, or a NUL byte inside a node or helper name
  kBadDigestLength,    // a config digest that is not kConfigDigestBytes long
  kTooManyRecords,     // more than kMaxRecordsPerBatch flows plus expectations in a batch
  kBadBatchHeader,     // seq or bulk_id that does not fit the batch kind
  kDuplicateSeq,       // a live or refresh batch with the previous batch's seq (replay)
  kSeqRegression,      // a live or refresh batch with a seq below the previous one
  kCount,              // number of reasons; not a reason
};

inline constexpr size_t kWireDropReasonCount = static_cast<size_t>(WireDropReason::kCount);

// Stable snake_case names for JSON, metrics and logs ("oversize_frame").
std::string_view WireDropReasonName(WireDropReason reason);

// One counter per reason.
struct WireDropCounters {
  std::array<uint64_t, kWireDropReasonCount> counts{};

  void Count(WireDropReason reason) { ++counts[static_cast<size_t>(reason)]; }
  uint64_t Get(WireDropReason reason) const { return counts[static_cast<size_t>(reason)]; }
  uint64_t Total() const;
};

}  // namespace hafw::statesync
