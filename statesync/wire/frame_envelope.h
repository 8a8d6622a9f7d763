#pragma once

// Internal to statesync/wire: the outer layers of a frame, handled without
// protobuf message objects so that nothing is allocated per frame.
//
//   frame    = length (4 bytes, big-endian, 1..kMaxFrameBytes) || Frame
//   Frame    = exactly one body field: tag (field number, wire type 2) ||
//              varint length || the body message; unknown fields are skipped.
//
// Writing the Frame envelope by hand is byte-for-byte what Frame's generated
// serializer produces for a Frame with that body set; reading it by hand keeps
// the decoder's body messages (and their reused records) out of the oneof,
// whose Clear() would free them. Field numbers come from the generated code.

#include <cstddef>
#include <cstdint>
#include <span>

#include <tl/expected.hpp>

#include "statesync/wire/frame_format.h"
#include "statesync/wire/wire_drop_reason.h"

namespace hafw::statesync::wire_internal {

// kFrameHeaderBytes big-endian bytes.
void WriteLengthPrefix(uint32_t length, uint8_t* out);
uint32_t ReadLengthPrefix(const uint8_t* in);

// Bytes of the Frame envelope (tag and varint length) for a body of `body_size`
// bytes in field `field_number` (1..15: a one-byte tag).
size_t EnvelopeSize(int field_number, size_t body_size);
// Writes the envelope; returns the position right after it.
uint8_t* WriteEnvelope(int field_number, size_t body_size, uint8_t* out);

struct FrameBody {
  int field_number = 0;
  std::span<const uint8_t> bytes;
};

// Finds the one body field of a serialized Frame: kParseError for malformed
// protobuf (or a known body field that is not length-delimited),
// kMultipleBodies for a second body field, kNoBody when there is none.
tl::expected<FrameBody, WireDropReason> FindFrameBody(std::span<const uint8_t> frame);

// Counts the flows and expectations of a serialized Batch without parsing
// them, so that a batch of too many records is rejected before protobuf
// allocates message objects for them. kParseError for malformed protobuf.
tl::expected<size_t, WireDropReason> CountBatchRecords(std::span<const uint8_t> batch);

}  // namespace hafw::statesync::wire_internal
