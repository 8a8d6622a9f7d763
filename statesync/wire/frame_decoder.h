#pragma once

// Streaming decoder of the sync wire (proto/hafw/sync/v1/sync.proto framed as
// in frame_encoder.h): feed it the bytes a link delivers, split anywhere, and
// take complete frames out as the core's values (statesync/core/messages.h).
//
//   std::span<const uint8_t> input(buffer, bytes_read);
//   while (true) {
//     const DecodeStatus status = decoder.Decode(input);
//     if (status == DecodeStatus::kNeedMore) break;         // input is empty
//     if (status == DecodeStatus::kError) { close the link; break; }
//     Handle(decoder.Message());                            // kFrame
//   }
//
// Every check of the protocol is made here (wire_drop_reason.h): frame length,
// protobuf, exactly one known body, enum ranges, address lengths against the
// family, number ranges, names, digest, record count, batch header, and the
// order of the stream's seqs within the connection (strictly increasing for
// live and refresh batches). The first failure is counted and poisons the
// decoder: it returns kError from then on (consuming whatever it is given)
// until Reset(), so the caller closes the link.
//
// Bounded and allocation-free once warm: a partial frame is buffered in at
// most kMaxFrameBytes; a batch's records land in arrays of at most
// kMaxRecordsPerBatch entries that are reused from frame to frame, and its
// record count is checked before protobuf builds message objects for them.
// Unknown fields are freed after each frame, and a rejected frame's messages
// are replaced, so nothing a peer sends stays allocated beyond its frame.
// Not thread-safe; one decoder per connection.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <variant>
#include <vector>

#include "statesync/core/messages.h"
#include "statesync/wire/frame_format.h"
#include "statesync/wire/wire_drop_reason.h"

namespace hafw::statesync {

// One decoded frame. A BatchView's spans point into the decoder and stay valid
// until the next Decode() or Reset().
using SyncMessage = std::variant<Hello, Heartbeat, BatchView, Ack, BulkRequest, BulkStart, BulkEnd>;

enum class DecodeStatus : uint8_t {
  kNeedMore,  // all input consumed, no complete frame in it (a partial one is buffered)
  kFrame,     // a frame is complete: Message(); the rest of the input is left for the next call
  kError,     // the stream is poisoned: Failure() says why; all input consumed
};

class FrameDecoder {
 public:
  FrameDecoder();
  ~FrameDecoder();
  FrameDecoder(const FrameDecoder&) = delete;
  FrameDecoder& operator=(const FrameDecoder&) = delete;

  // Consumes bytes from the front of `input` up to the end of the next
  // complete frame, or all of them. Each call that returns kFrame or kNeedMore
  // either consumed input or had none, so a loop as above always ends.
  DecodeStatus Decode(std::span<const uint8_t>& input);

  // The frame of the last kFrame; valid until the next Decode() or Reset().
  const SyncMessage& Message() const { return message_; }

  // Why the stream was poisoned; nullopt while it is not.
  std::optional<WireDropReason> Failure() const { return failure_; }
  // Per reason: how many streams this decoder rejected (Reset() keeps them).
  const WireDropCounters& Drops() const { return drops_; }
  uint64_t FramesDecoded() const { return frames_decoded_; }
  // Bytes of a partial frame held (0: the stream is at a frame boundary).
  size_t Buffered() const { return header_have_ + body_have_; }

  // For a new connection: no buffered bytes, no failure, no seq history.
  void Reset();

 private:
  struct Messages;  // the reused protobuf messages (frame_decoder.cc)

  DecodeStatus Fail(WireDropReason reason, std::span<const uint8_t>& input);
  // Parses and validates one frame's bytes (after the length prefix).
  DecodeStatus DecodeFrame(std::span<const uint8_t> frame, std::span<const uint8_t>& input);
  std::optional<WireDropReason> DecodeBatch(std::span<const uint8_t> bytes);
  std::optional<WireDropReason> CheckSeqOrder(const BatchHeader& header);

  std::unique_ptr<Messages> messages_;
  std::vector<FlowEntry> flows_;
  std::vector<ExpectEntry> expectations_;
  SyncMessage message_;

  // The frame being assembled: its length prefix, then its bytes.
  std::array<uint8_t, kFrameHeaderBytes> header_{};
  size_t header_have_ = 0;
  size_t frame_length_ = 0;    // from the prefix, once header_ is complete
  std::vector<uint8_t> body_;  // at least frame_length_ bytes while assembling
  size_t body_have_ = 0;

  uint64_t last_stream_seq_ = 0;  // of the last live or refresh batch; 0: none yet
  std::optional<WireDropReason> failure_;
  WireDropCounters drops_;
  uint64_t frames_decoded_ = 0;
};

}  // namespace hafw::statesync
