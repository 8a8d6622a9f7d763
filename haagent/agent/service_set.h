#pragma once

// The agent's services in their start order: started one by one, stopped in
// reverse (agent.h says which order and why).

#include <memory>
#include <vector>

#include "common/result.h"
#include "haagent/services/service.h"

namespace hafw::agent {

class ServiceSet {
 public:
  void Add(std::unique_ptr<Service> service) { services_.push_back(std::move(service)); }

  // Starts every service in order. When one fails it is stopped, and so is
  // every one started before it (in reverse order); its error is returned.
  Result<void> StartAll();
  // Stops every service in reverse order (Stop is idempotent).
  void StopAll();

  // In start order, for the request router.
  std::vector<Service*> Pointers() const;

 private:
  std::vector<std::unique_ptr<Service>> services_;
};

}  // namespace hafw::agent
