#include "haagent/services/carp_service.h"

#include <sys/random.h>

#include <utility>
#include <variant>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "haagent/control/replies.h"
#include "haagent/ops/transition_hook.h"
#include "haagent/services/carp_vhosts.h"

namespace hafw::agent {
namespace {

using control::v1::Request;
using control::v1::Response;

// The engine's advert cookie (carp-protocol.md): random per vhid and run.
uint64_t RandomCookie() {
  uint64_t cookie = 0;
  // getrandom on 8 bytes never blocks after boot and is never short.
  if (::getrandom(&cookie, sizeof(cookie), 0) != sizeof(cookie)) {
    cookie = static_cast<uint64_t>(SteadyClock().Now().time_since_epoch().count());
  }
  return cookie;
}

// Drops the sockets saw before any vhid could, by interface and reason.
std::map<std::string, std::map<std::string, uint64_t>> SocketDrops(
    const std::vector<carp::io::SocketStatus>& sockets) {
  std::map<std::string, std::map<std::string, uint64_t>> out;
  for (const auto& s : sockets) {
    auto& drops = out[s.interface];
    drops["short_ip"] += s.counters.short_packets;
    drops["truncated"] += s.counters.truncated;
    drops["bad_ip_header"] += s.counters.bad_ip_header;
    drops["receive_errors"] += s.counters.receive_errors;
  }
  for (auto& [ifname, drops] : out) {
    std::erase_if(drops, [](const auto& kv) { return kv.second == 0; });
  }
  return out;
}

}  // namespace

CarpService::CarpService(const NodePlan& plan, HookRunner& hooks) : plan_(plan), hooks_(hooks) {}

CarpService::~CarpService() = default;

Result<std::unique_ptr<CarpService>> CarpService::Create(boost::asio::io_context& io,
                                                         const Clock& clock, const NodePlan& plan,
                                                         HookRunner& hooks) {
  std::unique_ptr<CarpService> service(new CarpService(plan, hooks));
  auto set = std::make_unique<carp::VhostSet>(ToDemotionGroups(plan));
  std::vector<carp::io::VhostIo> vhost_io;
  for (const VhidPlan& v : plan.vhids) {
    if (auto added = set->Add(v.interface, ToVhostConfig(v), RandomCookie()); !added) {
      return MakeError(added.error().code, fmt::format("vhid {} on {}: {}", v.vhid, v.interface,
                                                       added.error().context));
    }
    vhost_io.push_back(carp::io::VhostIo{v.interface, v.vhid, v.vips, v.vmac});
    service->status_extras_.vips[{v.interface, v.vhid}] = v.vips;
  }
  carp::io::CarpIoCallbacks callbacks;
  CarpService* self = service.get();
  callbacks.on_action = [self](const carp::VhostAction& a, const Result<void>& outcome) {
    self->OnAction(a, outcome);
  };
  callbacks.on_error = [](const Error& e) { spdlog::error("carp: {}", e.context); };
  auto carp = carp::io::CarpIo::Create(io, clock, std::move(set), std::move(vhost_io),
                                       std::move(callbacks));
  if (!carp) {
    return MakeError(carp.error().code, "cannot set up CARP: " + carp.error().context);
  }
  service->carp_ = std::move(*carp);
  return service;
}

Result<void> CarpService::Start() {
  if (auto started = carp_->Start(); !started) {
    return MakeError(started.error().code, "cannot start CARP: " + started.error().context);
  }
  return {};
}

void CarpService::Stop() { carp_->Shutdown(); }

const VhidPlan* CarpService::FindVhid(std::string_view interface, uint8_t vhid) const {
  for (const VhidPlan& v : plan_.vhids) {
    if (v.interface == interface && v.vhid == vhid) return &v;
  }
  return nullptr;
}

void CarpService::OnAction(const carp::VhostAction& a, const Result<void>& outcome) {
  if (!outcome) {
    spdlog::warn("vhid {} on {}: {}", a.vhid, a.interface, outcome.error().context);
  }
  const auto* change = std::get_if<carp::StateChanged>(&a.action);
  if (change == nullptr) return;
  auto level = change->to == carp::VhostState::kMaster || change->from == carp::VhostState::kMaster
                   ? spdlog::level::info
                   : spdlog::level::debug;
  spdlog::log(level, "vhid {} on {}: {} -> {} ({})", a.vhid, a.interface,
              carp::VhostStateName(change->from), carp::VhostStateName(change->to),
              carp::TransitionCauseName(change->cause));
  RunHook(a, *change);
}

void CarpService::RunHook(const carp::VhostAction& a, const carp::StateChanged& change) {
  const std::string* path = nullptr;
  switch (change.to) {
    case carp::VhostState::kMaster:
      path = &plan_.hooks.master;
      break;
    case carp::VhostState::kBackup:
      path = &plan_.hooks.backup;
      break;
    case carp::VhostState::kInit:
      path = &plan_.hooks.init;
      break;
  }
  if (path == nullptr || path->empty()) return;
  TransitionHookEvent event;
  event.node = plan_.node;
  event.vhid = a.vhid;
  event.interface = a.interface;
  event.state = carp::VhostStateName(change.to);
  event.previous_state = carp::VhostStateName(change.from);
  event.cause = carp::TransitionCauseName(change.cause);
  if (const VhidPlan* vhid = FindVhid(a.interface, a.vhid)) {
    event.vips = vhid->vips;
    event.groups = vhid->groups;
  }
  hooks_.Enqueue(TransitionHook(*path, event));
}

void CarpService::ContributeStatus(control::v1::StatusReply& status, TimePoint now) const {
  CarpStatusExtras extras = status_extras_;
  extras.socket_drops = SocketDrops(carp_->Sockets());
  AddCarpStatus(carp_->Vhosts(), extras, now, status);
}

std::optional<Response> CarpService::Handle(const Request& request) {
  switch (request.command_case()) {
    case Request::kDemote:
      return Demote(request.demote());
    case Request::kUndemote:
      return Undemote(request.undemote());
    default:
      return std::nullopt;
  }
}

Response CarpService::Demote(const control::v1::DemoteRequest& d) {
  if (!HasGroup(d.group())) {
    return ErrorResponse(ErrorCode::kNotFound, "no interface group '" + d.group() + "'");
  }
  int by = d.by() == 0 ? 1 : d.by();
  if (by < 1 || by > 255) return ErrorResponse(ErrorCode::kInvalidArgument, "--by must be 1..255");
  std::string reason = d.reason().empty() ? std::string(carp::kReasonAdmin) : d.reason();
  AdjustDemotion(d.group(), reason, by);
  spdlog::info("demotion: group {} reason '{}' +{} (by hactl)", d.group(), reason, by);
  return ActionResponse(
      fmt::format("group {}: '{}' is now {}", d.group(), reason, DemotionCount(d.group(), reason)));
}

Response CarpService::Undemote(const control::v1::UndemoteRequest& u) {
  if (!HasGroup(u.group())) {
    return ErrorResponse(ErrorCode::kNotFound, "no interface group '" + u.group() + "'");
  }
  std::string reason = u.reason().empty() ? std::string(carp::kReasonAdmin) : u.reason();
  if (DemotionCount(u.group(), reason) == 0) {
    return ErrorResponse(ErrorCode::kNotFound,
                         "group " + u.group() + " has no demotion reason '" + reason + "'");
  }
  SetDemotion(u.group(), reason, 0);
  spdlog::info("demotion: group {} reason '{}' cleared (by hactl)", u.group(), reason);
  return ActionResponse(fmt::format("group {}: '{}' cleared", u.group(), reason));
}

bool CarpService::HasGroup(std::string_view group) const {
  return carp_->Vhosts().Groups().Counter(group) != nullptr;
}

void CarpService::AdjustDemotion(std::string_view group, std::string_view reason, int delta) {
  carp_->AdjustDemotion(group, reason, delta);
}

void CarpService::SetDemotion(std::string_view group, std::string_view reason, int count) {
  carp_->SetDemotion(group, reason, count);
}

int CarpService::DemotionCount(std::string_view group, std::string_view reason) const {
  const DemoteCounter* c = carp_->Vhosts().Groups().Counter(group);
  return c != nullptr ? c->Count(reason) : 0;
}

}  // namespace hafw::agent
