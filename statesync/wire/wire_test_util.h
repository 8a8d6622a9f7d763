#pragma once

// Helpers for the wire codec's tests: decoded messages copied out of the
// decoder (its batch spans die with the next frame), field-wise comparisons
// that name the first differing field, and decoding a byte stream in chunks.

#include <gtest/gtest.h>

#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "statesync/wire/frame_decoder.h"

namespace hafw::statesync {

struct OwnedBatch {
  BatchHeader header;
  std::vector<FlowEntry> flows;
  std::vector<ExpectEntry> expectations;
};

using OwnedMessage =
    std::variant<Hello, Heartbeat, OwnedBatch, Ack, BulkRequest, BulkStart, BulkEnd>;

OwnedMessage Own(const SyncMessage& message);

// A serialized Frame with its length prefix.
std::vector<uint8_t> Prefix(const std::string& frame);

::testing::AssertionResult Same(const FlowEntry& a, const FlowEntry& b);
::testing::AssertionResult Same(const ExpectEntry& a, const ExpectEntry& b);
::testing::AssertionResult Same(const Hello& a, const Hello& b);
::testing::AssertionResult Same(const Heartbeat& a, const Heartbeat& b);
::testing::AssertionResult Same(const OwnedBatch& a, const OwnedBatch& b);
::testing::AssertionResult Same(const OwnedMessage& a, const OwnedMessage& b);
::testing::AssertionResult Same(const std::vector<OwnedMessage>& a,
                                const std::vector<OwnedMessage>& b);

struct DecodeRun {
  std::vector<OwnedMessage> messages;
  std::optional<WireDropReason> failure;
  size_t buffered = 0;  // bytes of a partial frame left in the decoder
};

// Feeds `bytes` in chunks of at most `chunk` bytes (0: all at once), taking
// every frame out; stops at the first error.
DecodeRun DecodeStream(FrameDecoder& decoder, std::span<const uint8_t> bytes, size_t chunk = 0);
DecodeRun DecodeStream(std::span<const uint8_t> bytes, size_t chunk = 0);

}  // namespace hafw::statesync
