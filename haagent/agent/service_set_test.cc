#include "haagent/agent/service_set.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace hafw::agent {
namespace {

// Records "start NAME" / "stop NAME" in a shared log.
class RecordingService : public Service {
 public:
  RecordingService(std::string name, std::vector<std::string>& log, bool fails = false)
      : name_(std::move(name)), log_(log), fails_(fails) {}
  std::string_view Name() const override { return name_; }
  Result<void> Start() override {
    log_.push_back("start " + name_);
    if (fails_) return MakeError(ErrorCode::kUnavailable, "cannot start " + name_);
    return {};
  }
  void Stop() override { log_.push_back("stop " + name_); }

 private:
  std::string name_;
  std::vector<std::string>& log_;
  bool fails_;
};

TEST(ServiceSetTest, StartsInOrderAndStopsInReverse) {
  std::vector<std::string> log;
  ServiceSet set;
  set.Add(std::make_unique<RecordingService>("maintenance", log));
  set.Add(std::make_unique<RecordingService>("sync", log));
  set.Add(std::make_unique<RecordingService>("carp", log));
  ASSERT_TRUE(set.StartAll());
  set.StopAll();
  EXPECT_EQ(log, (std::vector<std::string>{"start maintenance", "start sync", "start carp",
                                           "stop carp", "stop sync", "stop maintenance"}));
  ASSERT_EQ(set.Pointers().size(), 3u);
  EXPECT_EQ(set.Pointers()[2]->Name(), "carp");
}

TEST(ServiceSetTest, AFailedStartStopsItAndThoseBeforeIt) {
  std::vector<std::string> log;
  ServiceSet set;
  set.Add(std::make_unique<RecordingService>("maintenance", log));
  set.Add(std::make_unique<RecordingService>("carp", log, /*fails=*/true));
  set.Add(std::make_unique<RecordingService>("later", log));
  auto started = set.StartAll();
  ASSERT_FALSE(started);
  EXPECT_EQ(started.error().context, "cannot start carp");
  EXPECT_EQ(log, (std::vector<std::string>{"start maintenance", "start carp", "stop carp",
                                           "stop maintenance"}));
}

}  // namespace
}  // namespace hafw::agent
