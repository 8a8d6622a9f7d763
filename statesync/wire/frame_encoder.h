#pragma once

// Encodes the core's sync messages (statesync/core/messages.h) into framed
// protobuf (proto/hafw/sync/v1/sync.proto): a 4-byte big-endian length, then a
// serialized Frame, ready to be appended to the send log or written to a link.
//
// The encoder keeps one protobuf message per frame type and reuses it (Clear()
// keeps sub-messages and string capacity), and it appends to a byte vector the
// caller reuses: once warm, encoding allocates nothing, whatever the records
// (frame_encoder_alloc_test.cc). Not thread-safe; one encoder per thread.
//
// Every Encode appends exactly one frame to `out` and returns its size, or
// fails (kInvalidArgument) with `out` unchanged when the values cannot be sent
// as they are: more than kMaxRecordsPerBatch records, a frame above
// kMaxFrameBytes, an enum out of range, an address of the other family than its
// flow, a name without room for its NUL, an owner above 15. Whatever it encodes,
// FrameDecoder accepts.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "common/result.h"
#include "statesync/core/messages.h"
#include "statesync/wire/frame_format.h"

namespace hafw::statesync {

class FrameEncoder {
 public:
  FrameEncoder();
  ~FrameEncoder();
  FrameEncoder(const FrameEncoder&) = delete;
  FrameEncoder& operator=(const FrameEncoder&) = delete;

  Result<size_t> Encode(const BatchHeader& header, std::span<const FlowEntry> flows,
                        std::span<const ExpectEntry> expectations, std::vector<uint8_t>& out);
  Result<size_t> Encode(const BatchView& batch, std::vector<uint8_t>& out) {
    return Encode(batch.header, batch.flows, batch.expectations, out);
  }
  Result<size_t> Encode(const Hello& hello, std::vector<uint8_t>& out);
  Result<size_t> Encode(const Heartbeat& heartbeat, std::vector<uint8_t>& out);
  Result<size_t> Encode(const Ack& ack, std::vector<uint8_t>& out);
  Result<size_t> Encode(const BulkRequest& request, std::vector<uint8_t>& out);
  Result<size_t> Encode(const BulkStart& start, std::vector<uint8_t>& out);
  Result<size_t> Encode(const BulkEnd& end, std::vector<uint8_t>& out);

 private:
  struct Messages;  // the reused protobuf messages (frame_encoder.cc)
  std::unique_ptr<Messages> messages_;
};

}  // namespace hafw::statesync
