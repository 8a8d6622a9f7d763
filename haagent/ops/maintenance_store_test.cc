#include "haagent/ops/maintenance_store.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace hafw::agent {
namespace {

namespace fs = std::filesystem;

class MaintenanceStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/hafw-maintenance-test-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(MaintenanceStoreTest, OnSurvivesUntilOff) {
  MaintenanceStore store(dir_ / "state");  // created on first save
  EXPECT_EQ(store.Path(), dir_ / "state" / "maintenance");
  EXPECT_FALSE(store.Load());
  ASSERT_TRUE(store.Save(true, "kernel upgrade"));
  EXPECT_EQ(MaintenanceStore(dir_ / "state").Load(), "kernel upgrade");  // a restarted agent
  EXPECT_FALSE(fs::exists(store.Path().string() + ".tmp"));
  ASSERT_TRUE(store.Save(false, ""));
  EXPECT_FALSE(store.Load());
  EXPECT_TRUE(store.Save(false, ""));  // off twice is fine
}

TEST_F(MaintenanceStoreTest, EmptyReasonIsSavedAsMaintenance) {
  MaintenanceStore store(dir_);
  ASSERT_TRUE(store.Save(true, ""));
  EXPECT_EQ(store.Load(), "maintenance");
}

TEST_F(MaintenanceStoreTest, UnwritableDirectoryIsAnError) {
  fs::path file = dir_ / "not-a-dir";
  std::ofstream(file) << "x";
  auto saved = MaintenanceStore(file).Save(true, "x");
  ASSERT_FALSE(saved);
  EXPECT_EQ(saved.error().code, ErrorCode::kIo);
}

}  // namespace
}  // namespace hafw::agent
