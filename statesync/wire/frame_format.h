#pragma once

// The sync stream's framing: each frame is a 4-byte big-endian length
// (1..kMaxFrameBytes, statesync/core/messages.h) followed by that many bytes of
// one serialized hafw.sync.v1.Frame (proto/hafw/sync/v1/sync.proto).

#include <cstddef>

namespace hafw::statesync {

inline constexpr size_t kFrameHeaderBytes = 4;

}  // namespace hafw::statesync
