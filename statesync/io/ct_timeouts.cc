#include "statesync/io/ct_timeouts.h"

#include <fstream>
#include <string>

namespace hafw::statesync::io {
namespace {

// 0 when the file is missing or not a number.
uint32_t ReadSysctl(const char* name, int& found) {
  std::ifstream in(std::string("/proc/sys/net/netfilter/") + name);
  uint64_t value = 0;
  if (!(in >> value)) return 0;
  ++found;
  return static_cast<uint32_t>(value);
}

}  // namespace

Result<CtTimeouts> ReadCtTimeouts() {
  CtTimeouts t;
  int found = 0;
  auto tcp = [&](TcpState state, const char* name) {
    t.tcp[static_cast<size_t>(state)] = ReadSysctl(name, found);
  };
  tcp(TcpState::kSynSent, "nf_conntrack_tcp_timeout_syn_sent");
  tcp(TcpState::kSynRecv, "nf_conntrack_tcp_timeout_syn_recv");
  tcp(TcpState::kEstablished, "nf_conntrack_tcp_timeout_established");
  tcp(TcpState::kFinWait, "nf_conntrack_tcp_timeout_fin_wait");
  tcp(TcpState::kCloseWait, "nf_conntrack_tcp_timeout_close_wait");
  tcp(TcpState::kLastAck, "nf_conntrack_tcp_timeout_last_ack");
  tcp(TcpState::kTimeWait, "nf_conntrack_tcp_timeout_time_wait");
  tcp(TcpState::kClose, "nf_conntrack_tcp_timeout_close");
  // SYN_SENT2 (simultaneous open) uses the SYN_SENT timeout in the kernel.
  t.tcp[static_cast<size_t>(TcpState::kSynSent2)] = t.tcp[static_cast<size_t>(TcpState::kSynSent)];
  t.tcp_unacknowledged = ReadSysctl("nf_conntrack_tcp_timeout_unacknowledged", found);
  t.tcp_max_retrans = ReadSysctl("nf_conntrack_tcp_timeout_max_retrans", found);
  t.udp = ReadSysctl("nf_conntrack_udp_timeout", found);
  t.udp_stream = ReadSysctl("nf_conntrack_udp_timeout_stream", found);
  t.icmp = ReadSysctl("nf_conntrack_icmp_timeout", found);
  t.icmpv6 = ReadSysctl("nf_conntrack_icmpv6_timeout", found);
  t.sctp_established = ReadSysctl("nf_conntrack_sctp_timeout_established", found);
  t.generic = ReadSysctl("nf_conntrack_generic_timeout", found);
  if (found == 0) {
    return MakeError(ErrorCode::kUnavailable,
                     "no conntrack timeouts under /proc/sys/net/netfilter (conntrack not loaded?)");
  }
  return t;
}

Result<uint64_t> ReadConntrackMax() {
  std::ifstream in("/proc/sys/net/netfilter/nf_conntrack_max");
  uint64_t value = 0;
  if (!(in >> value)) {
    return MakeError(ErrorCode::kUnavailable, "cannot read net.netfilter.nf_conntrack_max");
  }
  return value;
}

}  // namespace hafw::statesync::io
