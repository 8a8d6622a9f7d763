#pragma once

// The namespace's conntrack timeouts (net.netfilter.nf_conntrack_*_timeout*),
// read for the refresh policy's full timeouts (statesync-design.md §9). Plain
// values in seconds; statesync/core's refresh policy maps a flow to one of
// them. Read once at start and on reload: a blocking file read, not for the
// event loop's hot path.

#include <array>
#include <cstdint>

#include "common/result.h"
#include "statesync/core/flow.h"

namespace hafw::statesync::io {

struct CtTimeouts {
  // Indexed by TcpState (kNone .. kSynSent2); kNone stays 0.
  std::array<uint32_t, 10> tcp{};
  uint32_t tcp_unacknowledged = 0;
  uint32_t tcp_max_retrans = 0;
  uint32_t udp = 0;         // unreplied / not assured
  uint32_t udp_stream = 0;  // assured
  uint32_t icmp = 0;
  uint32_t icmpv6 = 0;
  uint32_t sctp_established = 0;
  uint32_t generic = 0;
};

// From /proc/sys/net/netfilter of the calling thread's namespace. A missing
// protocol (module not loaded) leaves its value 0; nothing readable is an error.
Result<CtTimeouts> ReadCtTimeouts();

// net.netfilter.nf_conntrack_max as the namespace sees it (read-only inside a
// namespace; 262,144 on the lab machine): the table limit shown next to
// CtWriter::TableCount().
Result<uint64_t> ReadConntrackMax();

}  // namespace hafw::statesync::io
