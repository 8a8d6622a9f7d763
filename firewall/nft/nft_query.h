#pragma once

// Reads of the agent's table straight from the kernel (one netlink request
// each, libnftnl messages): whether the table exists and who owns it, and its
// drop counters. Cheap enough for every status and metrics query.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "common/result.h"
#include "firewall/core/drop_reason.h"
#include "netlink/netlink_socket.h"

namespace hafw::firewall::nft {

// NFT_TABLE_F_* bits as this kernel defines them (Debian 12's headers predate
// PERSIST).
inline constexpr uint32_t kTableFlagDormant = 0x1;
inline constexpr uint32_t kTableFlagOwner = 0x2;
inline constexpr uint32_t kTableFlagPersist = 0x4;

struct TableInfo {
  uint32_t flags = 0;
  std::optional<uint32_t> owner_portid;  // NFTA_TABLE_OWNER, with kTableFlagOwner
  std::string comment;                   // the table's `comment`, "" without one
  bool Owned() const { return (flags & kTableFlagOwner) != 0; }
};

class NftQuery {
 public:
  // In the calling thread's network namespace.
  static Result<NftQuery> Open();

  // `table inet <name>`, or nullopt when there is none.
  Result<std::optional<TableInfo>> GetTable(std::string_view name);
  // The named counters of `table inet <name>` whose names are drop reasons
  // (others are ignored); kNotFound when the table does not exist.
  Result<DropCounters> ReadCounters(std::string_view name);

 private:
  explicit NftQuery(netlink::NetlinkSocket socket) : socket_(std::move(socket)) {}
  netlink::NetlinkSocket socket_;
};

}  // namespace hafw::firewall::nft
