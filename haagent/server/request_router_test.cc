#include "haagent/server/request_router.h"

#include <string>

#include <gtest/gtest.h>

namespace hafw::agent {
namespace {

using control::v1::Request;
using control::v1::Response;

// Serves demote requests and adds one vhost to the status.
class FakeService : public Service {
 public:
  explicit FakeService(std::string name) : name_(std::move(name)) {}
  std::string_view Name() const override { return name_; }
  Result<void> Start() override { return {}; }
  void Stop() override {}
  void ContributeStatus(control::v1::StatusReply& status, TimePoint now) const override {
    auto* v = status.add_vhosts();
    v->set_interface(name_);
    v->set_master_down_interval_seconds(ToSeconds(now.time_since_epoch()));
  }
  std::optional<Response> Handle(const Request& request) override {
    if (!request.has_demote()) return std::nullopt;
    ++handled;
    Response r;
    r.mutable_action()->set_message(name_ + " demoted " + request.demote().group());
    return r;
  }
  int handled = 0;

 private:
  std::string name_;
};

class RequestRouterTest : public ::testing::Test {
 protected:
  ManualClock clock_{TimePoint{} + Seconds(100)};
  FakeService first_{"first"};
  FakeService second_{"second"};
  RequestRouter router_{"fw1", "0.1.0", clock_, TimePoint{} + Seconds(90), {&first_, &second_}};
};

TEST_F(RequestRouterTest, StatusHasTheAgentsHeaderAndEveryServicesPart) {
  Request r;
  r.mutable_status();
  Response reply = router_.Handle(r);
  ASSERT_TRUE(reply.has_status());
  const auto& st = reply.status();
  EXPECT_EQ(st.node(), "fw1");
  EXPECT_EQ(st.version(), "0.1.0");
  EXPECT_DOUBLE_EQ(st.uptime_seconds(), 10.0);
  ASSERT_EQ(st.vhosts_size(), 2);  // in service order
  EXPECT_EQ(st.vhosts(0).interface(), "first");
  EXPECT_EQ(st.vhosts(1).interface(), "second");
  EXPECT_DOUBLE_EQ(st.vhosts(0).master_down_interval_seconds(), 100.0);  // one `now` for all
}

TEST_F(RequestRouterTest, FirstServiceThatServesARequestAnswersIt) {
  Request r;
  r.mutable_demote()->set_group("edge");
  EXPECT_EQ(router_.Handle(r).action().message(), "first demoted edge");
  EXPECT_EQ(first_.handled, 1);
  EXPECT_EQ(second_.handled, 0);
}

TEST_F(RequestRouterTest, UnservedRequestsAreErrors) {
  Request failover;
  failover.mutable_failover()->set_vhid(1);
  Response r = router_.Handle(failover);
  EXPECT_EQ(r.error().code(), "unavailable");
  EXPECT_NE(r.error().context().find("hactl failover needs state sync"), std::string::npos);
  Response empty = router_.Handle(Request());
  EXPECT_EQ(empty.error().code(), "invalid-argument");
  EXPECT_EQ(empty.error().context(), "empty or unknown request");
  EXPECT_EQ(first_.handled + second_.handled, 0);
}

}  // namespace
}  // namespace hafw::agent
