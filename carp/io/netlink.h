#pragma once

// A small synchronous rtnetlink client on libmnl: one request, then every reply
// (or the ACK) up to NLMSG_DONE. Internal to carp/io; libmnl types stay in the
// .cc files.

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include "common/result.h"

struct mnl_socket;
struct nlattr;
struct nlmsghdr;

namespace hafw::carp::io {

class NetlinkSocket {
 public:
  // Opens a NETLINK_ROUTE socket, optionally subscribed to `groups` (RTMGRP_*).
  // The socket belongs to the network namespace of the calling thread.
  static Result<NetlinkSocket> Open(unsigned groups = 0);

  NetlinkSocket(NetlinkSocket&&) noexcept;
  NetlinkSocket& operator=(NetlinkSocket&&) noexcept;
  ~NetlinkSocket();

  // Called for every data message of a reply (dumps produce many).
  using MessageFn = std::function<void(const nlmsghdr& msg)>;

  // Sends `request` (its nlmsg_seq is set here) and processes replies until
  // the ACK, an error or NLMSG_DONE. A netlink error becomes kIo with the errno
  // text and, when the kernel gives one, its extended-ack message.
  Result<void> Transact(nlmsghdr* request, const MessageFn& on_message, const char* what);

  // errno of the last failed Transact (0 after a success), for callers that
  // treat some errors (EEXIST, EADDRNOTAVAIL) as success.
  int LastErrno() const { return last_errno_; }

  int Fd() const;
  uint32_t PortId() const;
  mnl_socket* Raw() const { return socket_; }

 private:
  explicit NetlinkSocket(mnl_socket* socket) : socket_(socket) {}
  mnl_socket* socket_ = nullptr;
  uint32_t seq_ = 0;
  int last_errno_ = 0;
};

// The IFLA_* attributes of a link message that carp/io reads; null when the
// message lacks them or they fail validation.
struct LinkAttrs {
  const nlattr* name = nullptr;       // IFLA_IFNAME, NUL-terminated
  const nlattr* address = nullptr;    // IFLA_ADDRESS, length unchecked
  const nlattr* operstate = nullptr;  // IFLA_OPERSTATE, u8
  const nlattr* link = nullptr;       // IFLA_LINK, u32
  const nlattr* linkinfo = nullptr;   // IFLA_LINKINFO, nested
  const nlattr* af_spec = nullptr;    // IFLA_AF_SPEC, nested
};

// Parses the attributes after the ifinfomsg of an RTM_*LINK message; nullopt
// when they are malformed. The caller checks nlmsg_type and nlmsg_len.
std::optional<LinkAttrs> ParseLinkAttrs(const nlmsghdr& msg);

// Buffer size for one netlink request or one batch of replies.
inline constexpr size_t kNetlinkBufferSize = 32768;

}  // namespace hafw::carp::io
