#include "carp/core/drop_reason.h"

namespace hafw::carp {

std::string_view DropReasonName(DropReason reason) {
  switch (reason) {
    case DropReason::kShort:
      return "short";
    case DropReason::kBadVersion:
      return "bad_version";
    case DropReason::kBadChecksum:
      return "bad_checksum";
    case DropReason::kBadTtl:
      return "bad_ttl";
    case DropReason::kUnknownVhid:
      return "unknown_vhid";
    case DropReason::kBadAuth:
      return "bad_auth";
    case DropReason::kOwnPacket:
      return "own_packet";
    case DropReason::kNotRunning:
      return "not_running";
    case DropReason::kWrongFamily:
      return "wrong_family";
    case DropReason::kBadDestination:
      return "bad_destination";
    case DropReason::kCount:
      break;
  }
  return "unknown";
}

uint64_t DropCounters::Total() const {
  uint64_t total = 0;
  for (uint64_t count : counts) total += count;
  return total;
}

}  // namespace hafw::carp
