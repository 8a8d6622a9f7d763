#pragma once

// Framing of the control API on the agent's Unix socket: each protobuf message
// (proto/hafw/control/v1/control.proto) travels as a 4-byte big-endian length
// followed by its serialized bytes.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace hafw::agent {

inline constexpr size_t kFramePrefixBytes = 4;
// Larger frames are refused: a status reply for hundreds of vhids is ~100 KiB.
inline constexpr uint32_t kMaxControlFrame = 4u << 20;

// Length prefix + payload.
std::string EncodeFrame(std::string_view payload);
// Reads the length prefix; kProtocol for frames over kMaxControlFrame.
Result<uint32_t> DecodeFrameLength(const uint8_t (&prefix)[kFramePrefixBytes]);

}  // namespace hafw::agent
