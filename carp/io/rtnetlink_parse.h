#pragma once

// Parsers for the rtnetlink messages carp/io reads (links and addresses),
// shared by the monitor, the address manager and the macvlan code. They
// validate every attribute they use and never read outside the message.
// libmnl stays in the .cc.

#include <optional>

#include "carp/io/io_types.h"

struct nlattr;
struct nlmsghdr;

namespace hafw::carp::io {

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

// The attributes after the ifinfomsg of an RTM_*LINK message; nullopt when
// the message is too short or they are malformed.
std::optional<LinkAttrs> ParseLinkAttrs(const nlmsghdr& msg);

// RTM_NEWLINK / RTM_DELLINK with a name; nullopt for anything else.
std::optional<LinkInfo> ParseLink(const nlmsghdr& msg);

// RTM_NEWADDR / RTM_DELADDR with an IPv4 or IPv6 address; nullopt for
// anything else.
std::optional<InterfaceAddress> ParseAddress(const nlmsghdr& msg);

}  // namespace hafw::carp::io
