#pragma once

// When the agent's table must be restored, decided from nftables change
// notifications (firewall/nft parses them; this is pure). nftables reports a
// transaction as its changes followed by one NEWGEN message naming the
// committing process: a transaction that changed our table and was not
// committed by this process (a user's `nft -f` with `flush ruleset`, a
// `delete table`, a reload that re-adds a saved copy) calls for a restore, and
// so does an overrun of the notification socket (changes may have gone
// unseen). Restores are paced so a fight with another tool that keeps
// deleting the table cannot spin the agent.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/time.h"

namespace hafw::firewall {

class TableWatch {
 public:
  TableWatch(std::string table_name, uint32_t own_pid)
      : table_name_(std::move(table_name)), own_pid_(own_pid) {}

  // A change notification of one object (table, chain, rule, set, element,
  // object, flowtable) of `table` in nftables family `inet_family` (true for
  // NFPROTO_INET; our table is inet, an `ip hafw` is someone else's).
  void OnChange(std::string_view table, bool inet_family);
  // The end of a transaction (NEWGEN); `committer_pid` from NFTA_GEN_PROC_PID
  // when the kernel sent it. True when the transaction changed our table and
  // was not ours (without a pid it cannot be ours: our own commits are
  // recognised by pid).
  bool OnGeneration(std::optional<uint32_t> committer_pid);
  // The socket lost notifications: whatever happened meanwhile is unknown, so
  // the caller restores; the half-seen transaction is forgotten.
  void OnOverrun() { touched_ = false; }

  const std::string& TableName() const { return table_name_; }

 private:
  std::string table_name_;
  uint32_t own_pid_;
  bool touched_ = false;  // the transaction being reported changed our table
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
