#pragma once

// `hactl maintenance on|off`: demotes group "all" so the peers take every vhid
// over, kept across restarts (ops/maintenance_store.h) until turned off. It
// starts before the carp service, so a restarted node's vhids start demoted.

#include <optional>
#include <string_view>

#include "haagent/ops/maintenance_store.h"
#include "haagent/services/demotion.h"
#include "haagent/services/service.h"

namespace hafw::agent {

// How much maintenance demotes group "all": more than any link or sync
// demotion, so a peer in maintenance never wins against a healthy node.
inline constexpr int kMaintenanceDemotion = 128;

class MaintenanceService final : public Service {
 public:
  MaintenanceService(MaintenanceStore store, Demotion& demotion)
      : store_(std::move(store)), demotion_(demotion) {}

  std::string_view Name() const override { return "maintenance"; }
  // Restores a maintenance mode saved by an earlier run.
  Result<void> Start() override;
  void Stop() override {}
  // Maintenance requests.
  std::optional<control::v1::Response> Handle(const control::v1::Request& request) override;

 private:
  MaintenanceStore store_;
  Demotion& demotion_;
};

}  // namespace hafw::agent
