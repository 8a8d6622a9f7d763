#pragma once

// The agent's own nftables table, kept in place on one Asio io_context:
// created and replaced as single libnftables transactions, restored when
// someone else changes or removes it, removed (or left in place) on stop.
//
// Ownership (docs/firewall.md): the keeper owns exactly `table inet <name>`.
// At the first Apply it refuses a table of that name that is owned by another
// socket, and one without the agent's comment unless `adopt` is set; one with
// the comment (left by an earlier agent) it takes over. With `owner_flag` the
// table carries NFT_TABLE_F_OWNER, so nobody else can change it and the user's
// `flush ruleset` passes it by; the kernel removes it when the agent's socket
// closes, also on a crash. Without it (or on a kernel that lacks the flag) a
// flush removes the table and the keeper restores it from the change
// notifications (paced, see RestorePacer), with the counters it last saw.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/clock.h"
#include "firewall/core/firewall_plan.h"
#include "firewall/core/table_watch.h"
#include "firewall/nft/firewall_table.h"
#include "firewall/nft/nft_query.h"
#include "firewall/nft/nft_session.h"
#include "netlink/netlink_socket.h"

namespace hafw::firewall::nft {

struct KeeperOptions {
  // NFT_TABLE_F_OWNER where the kernel has it (Linux 5.12 and later).
  bool owner_flag = true;
  // Stop() leaves the table in place (an owned table is handed over to a
  // plain one first, so it outlives the agent's socket).
  bool keep_on_exit = false;
  // The first Apply takes over a table of our name that ha-agent did not create.
  bool adopt = false;
};

enum class KeeperEvent : uint8_t {
  kCreated,               // no table of our name existed
  kTookOver,              // replaced one an earlier agent left (it has our comment)
  kAdopted,               // replaced one ha-agent did not create (adopt)
  kReplaced,              // a reload
  kRestored,              // re-created after someone else changed or removed it
  kRestoreFailed,         // that failed; retried, paced
  kRemoved,               // Stop() deleted it
  kLeftInPlace,           // Stop() with keep_on_exit
  kNotificationsLost,     // the notification socket overran: restoring to be sure
  kOwnerFlagUnsupported,  // the kernel refused NFT_TABLE_F_OWNER: a plain table
};
std::string_view KeeperEventName(KeeperEvent event);

struct KeeperNotice {
  KeeperEvent event;
  std::string detail;
};

class TableKeeper final : public FirewallTable {
 public:
  using NoticeFn = std::function<void(const KeeperNotice&)>;

  // Opens its sockets in the calling thread's network namespace and starts
  // listening for changes at once; the table comes with the first Apply.
  static Result<std::unique_ptr<TableKeeper>> Create(boost::asio::io_context& io,
                                                     KeeperOptions options, NoticeFn on_notice,
                                                     const Clock& clock);
  // Stop() when still running.
  ~TableKeeper() override;
  TableKeeper(const TableKeeper&) = delete;
  TableKeeper& operator=(const TableKeeper&) = delete;

  Result<void> Apply(const FirewallPlan& plan) override;
  Result<void> Stop() override;
  Result<DropCounters> ReadCounters() override;
  TableStatus Status() const override { return status_; }

  // The live ruleset as `nft list ruleset` prints it, without our table: what
  // the start-up check (ruleset_probe.h) evaluates.
  Result<std::string> UserRuleset();

  // The netlink port that owns the table (NftSession::PortId).
  uint32_t SessionPort() const { return session_->PortId(); }

 private:
  enum class Cause : uint8_t { kApply, kRestore };

  TableKeeper(boost::asio::io_context& io, KeeperOptions options, NoticeFn on_notice,
              const Clock& clock, std::unique_ptr<NftSession> session, NftQuery query,
              netlink::NetlinkSocket notifications, bool owner_supported);

  Result<void> Put(const FirewallPlan& plan, Cause cause);
  // Whether an existing table may be replaced, and the notice that says so.
  Result<KeeperEvent> Admit(const TableInfo& info, Cause cause) const;
  bool IsOurs(const TableInfo& info) const;
  void Notify(KeeperEvent event, std::string detail);
  void WaitForNotifications();
  void OnNotifications();
  void ScheduleRestore();
  void RunRestore();

  KeeperOptions options_;
  NoticeFn on_notice_;
  const Clock& clock_;
  std::unique_ptr<NftSession> session_;
  NftQuery query_;
  netlink::NetlinkSocket notifications_;
  boost::asio::posix::stream_descriptor notification_fd_;
  boost::asio::steady_timer restore_timer_;
  bool owner_active_;
  std::optional<FirewallPlan> plan_;  // set while running
  std::optional<TableWatch> watch_;
  RestorePacer pacer_;
  bool restore_wanted_ = false;
  bool restore_scheduled_ = false;
  DropCounters last_counters_;
  TableStatus status_;
  // Handlers check it: the keeper may be gone when a queued handler runs.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace hafw::firewall::nft
