#include "haagent/config/config_test_fixture.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace hafw::agent::config_test {

namespace fs = std::filesystem;

std::string SourceDir() {
  const char* dir = std::getenv("HAFW_SOURCE_DIR");
  return dir != nullptr ? dir : HAFW_TEST_SOURCE_DIR;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteFile(const fs::path& path, std::string_view text, mode_t mode) {
  fs::create_directories(path.parent_path());
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
  }
  ASSERT_EQ(::chmod(path.c_str(), mode), 0) << path;
}

void ConfigTest::SetUp() {
  char pattern[] = "/tmp/hafw-config-test-XXXXXX";
  ASSERT_NE(::mkdtemp(pattern), nullptr);
  dir_ = pattern;
  WriteFile(dir_ / "vhid1.pass", "lan-secret\n", 0600);
  WriteFile(dir_ / "vhid2.pass", "wan-secret", 0600);
  WriteFile(dir_ / "sync.key", std::string(kSyncKey) + "\n", 0600);
  WriteFile(dir_ / "long.pass", "0123456789abcdefghij\n", 0600);  // 20 bytes
  WriteFile(dir_ / "empty.pass", "\n", 0600);
  WriteFile(dir_ / "two_lines.pass", "one\ntwo\n", 0600);
  WriteFile(dir_ / "open.pass", "secret\n", 0644);
  WriteFile(dir_ / "group.key", std::string(kSyncKey) + "\n", 0640);
  WriteFile(dir_ / "hook.sh", "#!/bin/sh\nexit 0\n", 0755);
  WriteFile(dir_ / "open_hook.sh", "#!/bin/sh\nexit 0\n", 0777);
}

void ConfigTest::TearDown() { fs::remove_all(dir_); }

std::string ConfigTest::Copy(std::string_view name) {
  fs::path from = fs::path(SourceDir()) / "haagent/config/testdata" / name;
  std::string text = ReadFile(from);
  EXPECT_FALSE(text.empty()) << from;
  fs::path to = dir_ / name;
  WriteFile(to, text, 0644);
  return to.string();
}

std::string ConfigTest::ErrorOf(std::string_view name) {
  auto config = Load(name);
  if (config) return "(loaded without error)";
  EXPECT_EQ(config.error().code, ErrorCode::kConfig);
  std::string text = config.error().context;
  for (size_t at; (at = text.find(dir_.string())) != std::string::npos;) {
    text.replace(at, dir_.string().size(), "DIR");
  }
  return text;
}

}  // namespace hafw::agent::config_test
