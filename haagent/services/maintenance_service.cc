#include "haagent/services/maintenance_service.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "carp/core/demotion_groups.h"
#include "haagent/control/replies.h"

namespace hafw::agent {

Result<void> MaintenanceService::Start() {
  auto reason = store_.Load();
  if (!reason) return {};
  demotion_.SetDemotion(carp::kAllGroup, carp::kReasonMaintenance, kMaintenanceDemotion);
  spdlog::warn("maintenance mode is on ({}), from {}: every vhid is demoted by {}", *reason,
               store_.Path().string(), kMaintenanceDemotion);
  return {};
}

std::optional<control::v1::Response> MaintenanceService::Handle(
    const control::v1::Request& request) {
  if (!request.has_maintenance()) return std::nullopt;
  const auto& m = request.maintenance();
  if (auto saved = store_.Save(m.on(), m.reason()); !saved) {
    return ErrorResponse(saved.error().code, saved.error().context);
  }
  demotion_.SetDemotion(carp::kAllGroup, carp::kReasonMaintenance,
                        m.on() ? kMaintenanceDemotion : 0);
  spdlog::info("maintenance {}{}", m.on() ? "on" : "off",
               m.reason().empty() ? "" : ": " + m.reason());
  return ActionResponse(m.on() ? fmt::format("maintenance on: every vhid demoted by {}, kept "
                                             "across restarts until 'maintenance off'",
                                             kMaintenanceDemotion)
                               : "maintenance off");
}

}  // namespace hafw::agent
