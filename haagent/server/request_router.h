#pragma once

// What the control socket's handler does with a request: `status` is
// assembled here (node, version, uptime) from every service's part; any other
// request goes to the first service that serves it. A request no service
// serves gets an error saying why (failover: not before state sync).

#include <string>
#include <vector>

#include "common/clock.h"
#include "haagent/services/service.h"
#include "hafw/control/v1/control.pb.h"

namespace hafw::agent {

class RequestRouter {
 public:
  // `services` in the agent's start order; they outlive the router.
  RequestRouter(std::string node, std::string version, const Clock& clock, TimePoint started,
                std::vector<Service*> services);

  control::v1::Response Handle(const control::v1::Request& request);
  control::v1::StatusReply Status() const;

 private:
  std::string node_;
  std::string version_;
  const Clock& clock_;
  TimePoint started_;
  std::vector<Service*> services_;
};

}  // namespace hafw::agent
