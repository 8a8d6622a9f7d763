#include "haagent/control/framing.h"

namespace hafw::agent {

std::string EncodeFrame(std::string_view payload) {
  auto len = static_cast<uint32_t>(payload.size());
  std::string out;
  out.reserve(kFramePrefixBytes + payload.size());
  out.push_back(static_cast<char>(len >> 24));
  out.push_back(static_cast<char>(len >> 16));
  out.push_back(static_cast<char>(len >> 8));
  out.push_back(static_cast<char>(len));
  out.append(payload);
  return out;
}

Result<uint32_t> DecodeFrameLength(const uint8_t (&prefix)[kFramePrefixBytes]) {
  uint32_t len = (uint32_t{prefix[0]} << 24) | (uint32_t{prefix[1]} << 16) |
                 (uint32_t{prefix[2]} << 8) | uint32_t{prefix[3]};
  if (len > kMaxControlFrame) {
    return MakeError(ErrorCode::kProtocol, "control frame of " + std::to_string(len) +
                                               " bytes exceeds the limit of " +
                                               std::to_string(kMaxControlFrame));
  }
  return len;
}

}  // namespace hafw::agent
