#pragma once

// Framing of the control API on the agent's Unix socket: each protobuf message
// travels as a 4-byte big-endian length followed by its serialized bytes. The
// blocking helpers here serve hactl and tests; the agent side is ControlServer.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"
#include "hafw/control/v1/control.pb.h"

namespace hafw::agent {

// Larger frames are refused: a status reply for hundreds of vhids is ~100 KiB.
inline constexpr uint32_t kMaxControlFrame = 4u << 20;
inline constexpr std::string_view kDefaultControlSocket = "/run/hafw/control.sock";

// A response carrying only an error (code name and context, as hactl prints it).
control::v1::Response ErrorResponse(ErrorCode code, std::string context);

// Length prefix + payload.
std::string EncodeFrame(std::string_view payload);
// Reads the length prefix; errors for frames over kMaxControlFrame.
Result<uint32_t> DecodeFrameLength(const uint8_t (&prefix)[4]);

// Connects to the agent's socket. The error context reads
// "cannot reach ha-agent at PATH: <strerror>".
Result<int> ConnectControlSocket(const std::string& path);

// One request, one response, on a connected socket; bounded by `timeout`.
Result<control::v1::Response> Call(int fd, const control::v1::Request& request,
                                   std::chrono::milliseconds timeout);

// Connect, call, close.
Result<control::v1::Response> CallAgent(const std::string& socket_path,
                                        const control::v1::Request& request,
                                        std::chrono::milliseconds timeout);

}  // namespace hafw::agent
