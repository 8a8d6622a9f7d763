#pragma once

// The CARP part of the control API's StatusReply (vhosts, groups, interfaces),
// read from the election core's state: what `hactl status` shows.

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "carp/core/vhost_set.h"
#include "common/ip_address.h"
#include "common/time.h"
#include "hafw/control/v1/control.pb.h"

namespace hafw::agent {

// What the core does not know.
struct CarpStatusExtras {
  // (interface, vhid) -> configured VIPs with prefix length.
  std::map<std::pair<std::string, uint8_t>, std::vector<IpPrefix>> vips;
  // Socket-level drops per interface from the adapter (short IP packet, ...).
  std::map<std::string, std::map<std::string, uint64_t>> socket_drops;
};

void AddCarpStatus(const carp::VhostSet& vhosts, const CarpStatusExtras& extras, TimePoint now,
                   control::v1::StatusReply& reply);

}  // namespace hafw::agent
