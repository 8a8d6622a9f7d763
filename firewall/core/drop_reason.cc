#include "firewall/core/drop_reason.h"

namespace hafw::firewall {

std::string_view DropReasonName(DropReason reason) {
  switch (reason) {
    case DropReason::kCarpSource:
      return "carp-source";
    case DropReason::kCarpTtl:
      return "carp-ttl";
    case DropReason::kSyncSource:
      return "sync-source";
    case DropReason::kCount:
      break;
  }
  return "unknown";
}

std::optional<DropReason> DropReasonFromName(std::string_view name) {
  for (DropReason reason : kDropReasons) {
    if (DropReasonName(reason) == name) return reason;
  }
  return std::nullopt;
}

uint64_t DropCounters::TotalPackets() const {
  uint64_t total = 0;
  for (const PacketCount& c : counts) total += c.packets;
  return total;
}

}  // namespace hafw::firewall
