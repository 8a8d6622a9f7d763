#include "haagent/agent/service_set.h"

namespace hafw::agent {

Result<void> ServiceSet::StartAll() {
  for (size_t i = 0; i < services_.size(); ++i) {
    if (auto started = services_[i]->Start(); !started) {
      for (size_t j = i + 1; j-- > 0;) services_[j]->Stop();
      return started;
    }
  }
  return {};
}

void ServiceSet::StopAll() {
  for (auto it = services_.rbegin(); it != services_.rend(); ++it) (*it)->Stop();
}

std::vector<Service*> ServiceSet::Pointers() const {
  std::vector<Service*> out;
  out.reserve(services_.size());
  for (const auto& s : services_) out.push_back(s.get());
  return out;
}

}  // namespace hafw::agent
