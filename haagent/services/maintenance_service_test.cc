#include "haagent/services/maintenance_service.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <utility>

#include <gtest/gtest.h>

#include "carp/core/demotion_groups.h"

namespace hafw::agent {
namespace {

namespace fs = std::filesystem;

class FakeDemotion : public Demotion {
 public:
  bool HasGroup(std::string_view group) const override { return group == carp::kAllGroup; }
  void AdjustDemotion(std::string_view group, std::string_view reason, int delta) override {
    counts_[{std::string(group), std::string(reason)}] += delta;
  }
  void SetDemotion(std::string_view group, std::string_view reason, int count) override {
    counts_[{std::string(group), std::string(reason)}] = count;
  }
  int DemotionCount(std::string_view group, std::string_view reason) const override {
    auto it = counts_.find({std::string(group), std::string(reason)});
    return it == counts_.end() ? 0 : it->second;
  }

 private:
  std::map<std::pair<std::string, std::string>, int> counts_;
};

class MaintenanceServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/hafw-maintenance-service-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  static control::v1::Request Maintenance(bool on, std::string reason) {
    control::v1::Request r;
    r.mutable_maintenance()->set_on(on);
    r.mutable_maintenance()->set_reason(std::move(reason));
    return r;
  }
  int Demoted() const { return demotion_.DemotionCount(carp::kAllGroup, carp::kReasonMaintenance); }

  fs::path dir_;
  FakeDemotion demotion_;
};

TEST_F(MaintenanceServiceTest, OnDemotesAllAndSurvivesARestart) {
  MaintenanceService service(MaintenanceStore(dir_), demotion_);
  ASSERT_TRUE(service.Start());
  EXPECT_EQ(Demoted(), 0);
  auto reply = service.Handle(Maintenance(true, "upgrade"));
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->action().message(),
            "maintenance on: every vhid demoted by 128, kept across restarts until 'maintenance "
            "off'");
  EXPECT_EQ(Demoted(), kMaintenanceDemotion);

  FakeDemotion after_restart;
  MaintenanceService restarted(MaintenanceStore(dir_), after_restart);
  ASSERT_TRUE(restarted.Start());
  EXPECT_EQ(after_restart.DemotionCount(carp::kAllGroup, carp::kReasonMaintenance),
            kMaintenanceDemotion);

  reply = restarted.Handle(Maintenance(false, ""));
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->action().message(), "maintenance off");
  EXPECT_EQ(after_restart.DemotionCount(carp::kAllGroup, carp::kReasonMaintenance), 0);
  EXPECT_FALSE(MaintenanceStore(dir_).Load());
}

TEST_F(MaintenanceServiceTest, OtherRequestsAreNotItsAndSaveErrorsAreReplies) {
  MaintenanceService service(MaintenanceStore(dir_ / "file" / "below"), demotion_);
  control::v1::Request status;
  status.mutable_status();
  EXPECT_FALSE(service.Handle(status));
  std::ofstream(dir_ / "file") << "x";  // the state directory cannot be created
  auto reply = service.Handle(Maintenance(true, "x"));
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->error().code(), "io");
  EXPECT_EQ(Demoted(), 0);  // not demoted when it could not be kept
}

}  // namespace
}  // namespace hafw::agent
