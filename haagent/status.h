#pragma once

// Builds the control API's StatusReply from the election core's state: what
// `hactl status` shows and `hactl status --json` prints for machines.

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "carp/core/vhost_set.h"
#include "common/ip_address.h"
#include "common/time.h"
#include "hafw/control/v1/control.pb.h"

namespace hafw::agent {

struct StatusContext {
  std::string node;
  std::string version;
  TimePoint started{};
  TimePoint now{};
  // (interface, vhid) -> configured VIPs with prefix length.
  std::map<std::pair<std::string, uint8_t>, std::vector<IpPrefix>> vips;
  // Socket-level drops per interface from the adapter (short IP packet, ...).
  std::map<std::string, std::map<std::string, uint64_t>> socket_drops;
};

control::v1::StatusReply BuildStatus(const carp::VhostSet& vhosts, const StatusContext& ctx);

}  // namespace hafw::agent
