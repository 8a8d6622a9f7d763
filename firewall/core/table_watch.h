#pragma once

// When the agent's table must be restored, decided from nftables change
// notifications (firewall/nft parses them; this is pure). nftables reports a
// transaction as its changes followed by one NEWGEN message, each stamped
// with the netlink port of the socket that sent the transaction: one that
// changed our table from any port but our own session's (a user's `nft -f`
// with `flush ruleset`, a `delete table`, a reload that re-adds a saved copy)
// calls for a restore once it is complete. So does an overrun of the
// notification socket (changes may have gone unseen; the caller restores).
// Ports, not process ids: NEWGEN's pid is the kernel's global thread id,
// which differs from what the agent sees of itself inside a pid namespace.
// Restores are paced (RestorePacer) so a fight with another tool that keeps
// deleting the table cannot spin the agent.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "common/time.h"

namespace hafw::firewall {

class TableWatch {
 public:
  // `own_port`: the netlink port id of the session that applies our table.
  TableWatch(std::string table_name, uint32_t own_port)
      : table_name_(std::move(table_name)), own_port_(own_port) {}

  // A change notification of one object (table, chain, rule, set, element,
  // object, flowtable) of `table`, in nftables family inet (`inet_family`;
  // an `ip hafw` is someone else's), sent by netlink port `sender_port`.
  void OnChange(std::string_view table, bool inet_family, uint32_t sender_port);
  // The end of a transaction (NEWGEN). True when it changed our table and was
  // not ours.
  bool OnGeneration();
  // The socket lost notifications: the half-seen transaction is forgotten
  // (the caller restores anyway).
  void OnOverrun() { touched_ = false; }

  const std::string& TableName() const { return table_name_; }
  uint32_t OwnPort() const { return own_port_; }

 private:
  std::string table_name_;
  uint32_t own_port_;
  bool touched_ = false;  // the transaction being reported changed our table, not from us
};

// At most kBurst restores in any kWindow: the first ones run at once, later
// ones wait until the oldest of the last kBurst is kWindow old.
class RestorePacer {
 public:
  static constexpr size_t kBurst = 3;
  static constexpr Duration kWindow = Seconds(10);

  // When a restore wanted at `now` may run (`now` or later).
  TimePoint Due(TimePoint now) const;
  // A restore ran at `now`.
  void Ran(TimePoint now);

 private:
  std::array<TimePoint, kBurst> runs_{};  // ring of the last kBurst runs
  size_t count_ = 0;                      // runs recorded, at most kBurst
  size_t next_ = 0;                       // ring index of the oldest run once full
};

}  // namespace hafw::firewall
