#include "firewall/nft/table_keeper.h"

#include <linux/netfilter/nfnetlink.h>
#include <unistd.h>

#include <utility>

#include "firewall/core/ruleset_check.h"
#include "firewall/core/table_text.h"
#include "firewall/nft/nft_notifications.h"

namespace hafw::firewall::nft {

namespace {

// Room for the notifications of a large `nft -f` while the loop is busy; an
// overrun only costs a restore.
constexpr int kNotificationBuffer = 1 << 20;
// Datagram reads per wake-up, so a flood of notifications cannot hold the loop.
constexpr int kReadRounds = 4;
constexpr std::string_view kProbeTable = "table inet hafw-owner-probe { flags owner; }\n";

}  // namespace

std::string_view KeeperEventName(KeeperEvent event) {
  switch (event) {
    case KeeperEvent::kCreated:
      return "created";
    case KeeperEvent::kTookOver:
      return "took-over";
    case KeeperEvent::kAdopted:
      return "adopted";
    case KeeperEvent::kReplaced:
      return "replaced";
    case KeeperEvent::kRestored:
      return "restored";
    case KeeperEvent::kRestoreFailed:
      return "restore-failed";
    case KeeperEvent::kRemoved:
      return "removed";
    case KeeperEvent::kLeftInPlace:
      return "left-in-place";
    case KeeperEvent::kNotificationsLost:
      return "notifications-lost";
    case KeeperEvent::kOwnerFlagUnsupported:
      return "owner-flag-unsupported";
  }
  return "unknown";
}

Result<std::unique_ptr<TableKeeper>> TableKeeper::Create(boost::asio::io_context& io,
                                                         KeeperOptions options, NoticeFn on_notice,
                                                         const Clock& clock) {
  auto session = NftSession::Open();
  if (!session) return tl::unexpected(session.error());
  auto query = NftQuery::Open();
  if (!query) return tl::unexpected(query.error());
  netlink::SocketOptions socket_options;
  socket_options.protocol = netlink::Protocol::kNetfilter;
  socket_options.groups = {NFNLGRP_NFTABLES};
  socket_options.receive_buffer_bytes = kNotificationBuffer;
  auto notifications = netlink::NetlinkSocket::Open(socket_options);
  if (!notifications) return tl::unexpected(notifications.error());
  // Check mode: the kernel validates the flag and aborts; nothing is created.
  std::optional<Error> owner_refused;
  if (options.owner_flag) {
    if (auto probe = (*session)->Check(kProbeTable); !probe) owner_refused = probe.error();
  }
  std::unique_ptr<TableKeeper> keeper(new TableKeeper(
      io, options, std::move(on_notice), clock, std::move(*session), std::move(*query),
      std::move(*notifications), options.owner_flag && !owner_refused));
  if (owner_refused) keeper->Notify(KeeperEvent::kOwnerFlagUnsupported, owner_refused->context);
  keeper->WaitForNotifications();
  return keeper;
}

TableKeeper::TableKeeper(boost::asio::io_context& io, KeeperOptions options, NoticeFn on_notice,
                         const Clock& clock, std::unique_ptr<NftSession> session, NftQuery query,
                         netlink::NetlinkSocket notifications, bool owner_supported)
    : options_(options),
      on_notice_(std::move(on_notice)),
      clock_(clock),
      session_(std::move(session)),
      query_(std::move(query)),
      notifications_(std::move(notifications)),
      notification_fd_(io, ::dup(notifications_.Fd())),
      restore_timer_(io),
      owner_active_(owner_supported) {}

TableKeeper::~TableKeeper() {
  // A destructor must not throw; Stop() reports through its Result and the
  // notices, and the timer and descriptor die with the keeper anyway.
  try {
    if (plan_) Stop();
    boost::system::error_code ignored;
    notification_fd_.cancel(ignored);
    restore_timer_.cancel();
  } catch (...) {  // NOLINT(bugprone-empty-catch)
  }
}

void TableKeeper::Notify(KeeperEvent event, std::string detail) {
  if (on_notice_) on_notice_(KeeperNotice{event, std::move(detail)});
}

bool TableKeeper::IsOurs(const TableInfo& info) const {
  if (info.Owned()) return info.owner_portid == session_->PortId();
  return IsAgentTableComment(info.comment);
}

Result<KeeperEvent> TableKeeper::Admit(const TableInfo& info, Cause cause) const {
  if (info.Owned()) {
    if (info.owner_portid == session_->PortId()) return KeeperEvent::kReplaced;
    return MakeError(ErrorCode::kUnavailable,
                     "nftables: the table of that name is owned by another process's netlink "
                     "socket (port " +
                         std::to_string(info.owner_portid.value_or(0)) +
                         "; `nft list tables` names it): another ha-agent in this namespace?");
  }
  if (IsAgentTableComment(info.comment)) {
    return plan_ ? KeeperEvent::kReplaced : KeeperEvent::kTookOver;
  }
  if (!plan_ && cause == Cause::kApply && options_.adopt) return KeeperEvent::kAdopted;
  return MakeError(ErrorCode::kUnavailable,
                   "nftables: a table of that name exists and was not created by ha-agent (it "
                   "lacks the agent's comment); refusing to touch it (choose another table name, "
                   "or configure adoption)");
}

Result<void> TableKeeper::Apply(const FirewallPlan& plan) { return Put(plan, Cause::kApply); }

Result<void> TableKeeper::Put(const FirewallPlan& plan, Cause cause) {
  auto fail = [this](Error error) -> Result<void> {
    status_.last_error = error.ToString();
    return tl::unexpected(std::move(error));
  };
  if (auto valid = ValidatePlan(plan); !valid) return fail(valid.error());
  if (plan_ && plan.table_name != plan_->table_name) {
    return fail(Error{ErrorCode::kInvalidArgument,
                      "firewall: the table name cannot change while the agent runs (" +
                          plan_->table_name + " -> " + plan.table_name + ")"});
  }
  auto info = query_.GetTable(plan.table_name);
  if (!info) return fail(info.error());

  KeeperEvent event = cause == Cause::kRestore ? KeeperEvent::kRestored
                      : plan_                  ? KeeperEvent::kReplaced
                                               : KeeperEvent::kCreated;
  TableOptions table_options;
  table_options.owner = owner_active_;
  // Counts carry over: from the table itself when it is ours, else (it was
  // removed, or replaced by someone's copy) from what was last read.
  table_options.initial_counters = last_counters_;
  bool ours = false;
  if (*info) {
    auto admitted = Admit(**info, cause);
    if (!admitted) {
      Error error = admitted.error();
      error.context = "table inet " + plan.table_name + ": " + error.context;
      return fail(std::move(error));
    }
    if (cause == Cause::kApply) event = *admitted;
    ours = IsOurs(**info);
    if (ours) {
      if (auto counters = query_.ReadCounters(plan.table_name)) {
        table_options.initial_counters = *counters;
      }
    }
  }
  if (!watch_ || watch_->TableName() != plan.table_name) {
    watch_.emplace(plan.table_name, session_->PortId());
  }
  // A reload of the table we put there replaces it in place, so the counters
  // lose no packet; should that fail (someone changed the table meanwhile),
  // or for anything else, the whole table is replaced in one transaction.
  Result<std::string> ran = MakeError(ErrorCode::kInternal, "not run");
  if (cause == Cause::kApply && plan_ && ours) {
    ran = session_->Run(RenderReload(*plan_, plan, table_options));
  }
  if (!ran) ran = session_->Run(RenderApply(plan, table_options, info->has_value()));
  if (!ran) return fail(ran.error());

  plan_ = plan;
  last_counters_ = table_options.initial_counters;
  status_.table_name = plan.table_name;
  status_.installed = true;
  status_.owner_flag = owner_active_;
  status_.last_error.clear();
  ++status_.applies;
  Notify(event, "table inet " + plan.table_name + (owner_active_ ? " (owner flag)" : ""));
  return {};
}

Result<void> TableKeeper::Stop() {
  if (!plan_) return {};
  restore_timer_.cancel();
  restore_scheduled_ = false;
  const FirewallPlan plan = *plan_;
  const std::string table = "table inet " + plan.table_name;
  Result<void> result;
  auto info = query_.GetTable(plan.table_name);
  if (!info) {
    result = tl::unexpected(info.error());
  } else if (options_.keep_on_exit) {
    // An owned table dies with our socket: hand it over to a plain one (same
    // rules, same counts) in one transaction, so it outlives the agent.
    if (*info && (*info)->Owned() && IsOurs(**info)) {
      TableOptions plain;
      plain.initial_counters = ReadCounters().value_or(last_counters_);
      if (auto ran = session_->Run(RenderApply(plan, plain, true)); !ran) {
        result = tl::unexpected(ran.error());
      }
    }
    if (result) Notify(KeeperEvent::kLeftInPlace, table);
  } else if (*info && IsOurs(**info)) {
    last_counters_ = ReadCounters().value_or(last_counters_);
    if (auto ran = session_->Run(RenderDelete(plan.table_name)); !ran) {
      result = tl::unexpected(ran.error());
    } else {
      Notify(KeeperEvent::kRemoved, table);
    }
  }
  plan_.reset();
  status_.installed = options_.keep_on_exit && result.has_value();
  if (!result) status_.last_error = result.error().ToString();
  return result;
}

Result<DropCounters> TableKeeper::ReadCounters() {
  if (!plan_) return last_counters_;
  auto counters = query_.ReadCounters(plan_->table_name);
  if (!counters) {
    // Gone until the restore: what it last held.
    if (counters.error().code == ErrorCode::kNotFound) return last_counters_;
    return tl::unexpected(counters.error());
  }
  last_counters_ = *counters;
  return *counters;
}

Result<std::string> TableKeeper::UserRuleset() {
  auto listed = session_->Run("list ruleset");
  if (!listed) return tl::unexpected(listed.error());
  const std::string name =
      status_.table_name.empty() ? std::string(kDefaultTableName) : status_.table_name;
  return RemoveTableFromListing(*listed, name);
}

void TableKeeper::WaitForNotifications() {
  notification_fd_.async_wait(
      boost::asio::posix::stream_descriptor::wait_read,
      [this, alive = std::weak_ptr<int>(alive_)](const boost::system::error_code& ec) {
        if (alive.expired() || ec) return;
        OnNotifications();
      });
}

void TableKeeper::OnNotifications() {
  for (int round = 0; round < kReadRounds; ++round) {
    auto read = notifications_.ReadEvents([this](const nlmsghdr& msg) {
      if (plan_ && watch_ && HandleNotification(msg, *watch_)) restore_wanted_ = true;
    });
    if (!read) {
      status_.last_error = read.error().ToString();
      break;
    }
    if (read->status == netlink::EventStatus::kOverrun) {
      notifications_.DiscardPending();
      if (watch_) watch_->OnOverrun();
      ++status_.notifications_lost;
      if (plan_) {
        Notify(KeeperEvent::kNotificationsLost, "restoring table inet " + plan_->table_name);
        restore_wanted_ = true;
      }
      continue;
    }
    if (read->status == netlink::EventStatus::kDrained) break;
  }
  if (restore_wanted_ && plan_) ScheduleRestore();
  restore_wanted_ = false;
  WaitForNotifications();
}

void TableKeeper::ScheduleRestore() {
  if (restore_scheduled_) return;
  restore_scheduled_ = true;
  const TimePoint now = clock_.Now();
  restore_timer_.expires_after(pacer_.Due(now) - now);
  restore_timer_.async_wait(
      [this, alive = std::weak_ptr<int>(alive_)](const boost::system::error_code& ec) {
        if (alive.expired() || ec) return;
        RunRestore();
      });
}

void TableKeeper::RunRestore() {
  restore_scheduled_ = false;
  if (!plan_) return;
  const TimePoint now = clock_.Now();
  pacer_.Ran(now);
  const FirewallPlan plan = *plan_;
  auto restored = Put(plan, Cause::kRestore);
  if (restored) {
    ++status_.restores;
    status_.last_restore = now;
    return;
  }
  ++status_.restore_failures;
  Notify(KeeperEvent::kRestoreFailed, restored.error().ToString());
  // A table of our name that is not ours stays until its owner acts (the
  // next notification brings us back); anything else is retried, paced.
  if (restored.error().code != ErrorCode::kUnavailable) ScheduleRestore();
}

}  // namespace hafw::firewall::nft
