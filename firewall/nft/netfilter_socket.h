#pragma once

// A small NETLINK_NETFILTER client for firewall/nft's reads (table, counters)
// and nftables change notifications, on libmnl. It stands in for the shared
// hafw_netlink layer (being built on another branch) and goes once that lands.
// Non-blocking; a request waits for its answer at most kReplyTimeout.

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "common/result.h"

struct mnl_socket;
struct nlmsghdr;

namespace hafw::firewall::nft {

inline constexpr std::chrono::milliseconds kReplyTimeout{2000};

class NetfilterSocket {
 public:
  // Opens a socket in the calling thread's network namespace; with `group`
  // (an NFNLGRP_* number) it also receives that group's notifications.
  static Result<NetfilterSocket> Open(std::optional<unsigned> group = std::nullopt,
                                      int receive_buffer_bytes = 0);

  NetfilterSocket(NetfilterSocket&& other) noexcept;
  NetfilterSocket& operator=(NetfilterSocket&& other) noexcept;
  NetfilterSocket(const NetfilterSocket&) = delete;
  NetfilterSocket& operator=(const NetfilterSocket&) = delete;
  ~NetfilterSocket();

  using MessageFn = std::function<void(const nlmsghdr& msg)>;

  // Sends `request` (its sequence number is set here) and hands every data
  // message of the answer to `on_message` until the ACK, NLMSG_DONE or an
  // error. A kernel error becomes an Error whose code follows the errno
  // (ENOENT: kNotFound, EPERM: kPermission, else kIo).
  Result<void> Transact(nlmsghdr* request, const MessageFn& on_message, std::string_view what);

  enum class ReadStatus : uint8_t {
    kDrained,  // nothing more queued
    kMore,     // max_datagrams read; more may be queued
    kOverrun,  // ENOBUFS: notifications were lost
  };
  // Reads queued notifications without blocking.
  Result<ReadStatus> ReadEvents(const MessageFn& on_message, size_t max_datagrams = 64);
  // Drops everything queued; returns how many datagrams.
  size_t DiscardPending();

  int Fd() const;
  uint32_t PortId() const;

 private:
  explicit NetfilterSocket(mnl_socket* socket);
  ssize_t ReceiveNow();

  mnl_socket* socket_ = nullptr;
  uint32_t seq_ = 0;
  std::vector<char> buffer_;
};

// kNotFound for ENOENT, kPermission for EPERM/EACCES, else kIo; the context
// is "<what>: <strerror>".
Error NetfilterError(std::string_view what, int err);

}  // namespace hafw::firewall::nft
