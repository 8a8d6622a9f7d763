#pragma once

// A FirewallTable for tests of the agent's firewall service: records the
// plans it is given, reports counters the test sets, and fails on demand.

#include <optional>
#include <utility>
#include <vector>

#include "firewall/nft/firewall_table.h"

namespace hafw::firewall::testing {

class FakeFirewallTable final : public FirewallTable {
 public:
  Result<void> Apply(const FirewallPlan& plan) override {
    if (fail_next_apply) {
      Error error = *fail_next_apply;
      fail_next_apply.reset();
      return Fail(std::move(error));
    }
    if (auto valid = ValidatePlan(plan); !valid) return Fail(valid.error());
    applied.push_back(plan);
    status_.table_name = plan.table_name;
    status_.installed = true;
    ++status_.applies;
    status_.last_error.clear();
    return {};
  }
  Result<void> Stop() override {
    ++stops;
    status_.installed = false;
    return {};
  }
  Result<DropCounters> ReadCounters() override {
    if (fail_reads) return tl::unexpected(*fail_reads);
    return counters;
  }
  TableStatus Status() const override { return status_; }

  std::vector<FirewallPlan> applied;  // every plan Apply accepted, in order
  int stops = 0;
  DropCounters counters;                 // what ReadCounters reports
  std::optional<Error> fail_next_apply;  // the next Apply fails with it
  std::optional<Error> fail_reads;       // every ReadCounters fails with it

 private:
  Result<void> Fail(Error error) {
    status_.last_error = error.ToString();
    return tl::unexpected(std::move(error));
  }
  TableStatus status_;
};

}  // namespace hafw::firewall::testing
