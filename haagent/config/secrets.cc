#include "haagent/config/secrets.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include <fmt/format.h>

namespace hafw::agent {

Result<std::string> ReadSecretFile(const std::string& path, std::string_view what) {
  auto refuse = [](std::string message) {
    return MakeError(ErrorCode::kPermission, std::move(message));
  };
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return refuse(fmt::format("cannot read {} '{}': {}", what, path, std::strerror(errno)));
  }
  if (!S_ISREG(st.st_mode)) return refuse(fmt::format("{} '{}' is not a regular file", what, path));
  if ((st.st_mode & 077) != 0) {
    return refuse(
        fmt::format("{} '{}' is accessible by group or others (mode {:04o}); run "
                    "chmod 600 on it",
                    what, path, st.st_mode & 07777));
  }
  if (st.st_size > static_cast<off_t>(kMaxSecretFileBytes)) {
    return refuse(fmt::format("{} '{}' is larger than {} bytes", what, path, kMaxSecretFileBytes));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return refuse(fmt::format("cannot read {} '{}': {}", what, path, std::strerror(errno)));
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!data.empty() && data.back() == '\n') data.pop_back();
  if (data.find_first_of(std::string_view("\n\r\0", 3)) != std::string::npos) {
    return refuse(
        fmt::format("{} '{}' must hold exactly one line (no carriage return or NUL)", what, path));
  }
  return data;
}

Result<void> CheckHookProgram(const std::string& path, std::string_view key) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return MakeError(ErrorCode::kPermission,
                     fmt::format("cannot use {} hook '{}': {}", key, path, std::strerror(errno)));
  }
  if (!S_ISREG(st.st_mode) || (st.st_mode & S_IXUSR) == 0) {
    return MakeError(ErrorCode::kPermission,
                     fmt::format("{} hook '{}' is not an executable file", key, path));
  }
  if ((st.st_mode & 022) != 0) {
    // The agent runs hooks as root: a hook others can rewrite is a root shell.
    return MakeError(ErrorCode::kPermission,
                     fmt::format("{} hook '{}' is writable by group or others (mode {:04o})", key,
                                 path, st.st_mode & 07777));
  }
  return {};
}

}  // namespace hafw::agent
