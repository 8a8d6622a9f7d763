#pragma once

// The fixture of the config tests: a private directory per test holding the
// secrets and hooks the testdata files name (relative to the cluster file, so
// the files are copied there too).

#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "common/ip_address.h"
#include "haagent/config/loader.h"

namespace hafw::agent::config_test {

inline constexpr std::string_view kSyncKey =
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

std::string SourceDir();
std::string ReadFile(const std::filesystem::path& path);
// Modes are set explicitly: git keeps none and the umask varies.
void WriteFile(const std::filesystem::path& path, std::string_view text, mode_t mode);

inline std::vector<uint8_t> Bytes(std::string_view s) { return {s.begin(), s.end()}; }
inline IpPrefix Prefix(std::string_view text) { return *IpPrefix::Parse(text); }
inline IpAddress Address(std::string_view text) { return *IpAddress::Parse(text); }

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Copies haagent/config/testdata/<name> into the test directory.
  std::string Copy(std::string_view name);
  Result<ClusterConfig> Load(std::string_view name) { return LoadClusterConfig(Copy(name)); }
  // The loader's complete message for testdata file `name`, with the test
  // directory shown as "DIR".
  std::string ErrorOf(std::string_view name);

  std::filesystem::path dir_;
};

}  // namespace hafw::agent::config_test
