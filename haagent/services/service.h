#pragma once

// The shape of a subsystem the agent runs: CARP now (carp_service.h), state
// sync and the agent's firewall table later, beside it. The agent builds every
// service, starts them in its order, hands them control requests and status,
// and stops them in reverse order (haagent/agent/agent.h). Every method runs
// on the agent's io_context thread.

#include <optional>
#include <string_view>

#include "common/result.h"
#include "common/time.h"
#include "hafw/control/v1/control.pb.h"

namespace hafw::agent {

class Service {
 public:
  virtual ~Service() = default;

  // "carp", "maintenance", "sync": for logs.
  virtual std::string_view Name() const = 0;
  // Opens what the service needs and starts it. An error (its context is
  // logged as is) stops the agent from starting: the services started before
  // are stopped, and so is this one.
  virtual Result<void> Start() = 0;
  // Stops synchronously (CARP: bow-outs sent, VIPs removed before it returns).
  // Idempotent; also called after a failed Start.
  virtual void Stop() = 0;

  // Adds this service's part to `hactl status` (the agent fills node, version
  // and uptime). `now` is the agent clock's.
  virtual void ContributeStatus(control::v1::StatusReply& /*status*/, TimePoint /*now*/) const {}
  // Serves a control request that is this service's; nullopt for the others.
  virtual std::optional<control::v1::Response> Handle(const control::v1::Request& /*request*/) {
    return std::nullopt;
  }
};

}  // namespace hafw::agent
