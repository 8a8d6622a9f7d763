#pragma once

// The CARP subsystem of the agent: the node plan's vhids as a carp::VhostSet
// run by carp::io::CarpIo on the agent's io_context. It logs and hooks every
// transition, serves `hactl demote` / `undemote`, contributes the vhosts,
// groups and interfaces to `hactl status`, and is the Demotion seam through
// which other services (maintenance, state sync) demote the node.

#include <memory>
#include <optional>
#include <string_view>

#include <boost/asio/io_context.hpp>

#include "carp/core/vhost_set.h"
#include "carp/io/carp_io.h"
#include "common/clock.h"
#include "common/result.h"
#include "haagent/config/node_plan.h"
#include "haagent/ops/hook_runner.h"
#include "haagent/services/carp_status.h"
#include "haagent/services/demotion.h"
#include "haagent/services/service.h"

namespace hafw::agent {

class CarpService final : public Service, public Demotion {
 public:
  // Builds the engines and the adapter; opens nothing (Start does). Errors:
  // "vhid 1 on lan0: ..." for a vhid the core refuses, "cannot set up CARP: ...".
  static Result<std::unique_ptr<CarpService>> Create(boost::asio::io_context& io,
                                                     const Clock& clock, const NodePlan& plan,
                                                     HookRunner& hooks);
  ~CarpService() override;
  CarpService(const CarpService&) = delete;
  CarpService& operator=(const CarpService&) = delete;

  std::string_view Name() const override { return "carp"; }
  // Leftover VIPs removed, sockets open, every vhid started as INIT/BACKUP.
  // Error: "cannot start CARP: ..." (e.g. an interface that does not exist).
  Result<void> Start() override;
  // Bow-outs sent and VIPs removed before it returns.
  void Stop() override;
  void ContributeStatus(control::v1::StatusReply& status, TimePoint now) const override;
  // Demote and Undemote requests.
  std::optional<control::v1::Response> Handle(const control::v1::Request& request) override;

  bool HasGroup(std::string_view group) const override;
  void AdjustDemotion(std::string_view group, std::string_view reason, int delta) override;
  void SetDemotion(std::string_view group, std::string_view reason, int count) override;
  int DemotionCount(std::string_view group, std::string_view reason) const override;

  const carp::VhostSet& Vhosts() const { return carp_->Vhosts(); }

 private:
  CarpService(const NodePlan& plan, HookRunner& hooks);
  void OnAction(const carp::VhostAction& action, const Result<void>& outcome);
  void RunHook(const carp::VhostAction& action, const carp::StateChanged& change);
  const VhidPlan* FindVhid(std::string_view interface, uint8_t vhid) const;
  control::v1::Response Demote(const control::v1::DemoteRequest& request);
  control::v1::Response Undemote(const control::v1::UndemoteRequest& request);

  NodePlan plan_;
  HookRunner& hooks_;
  std::unique_ptr<carp::io::CarpIo> carp_;
  CarpStatusExtras status_extras_;  // the VIPs' prefixes; socket drops filled per status
};

}  // namespace hafw::agent
