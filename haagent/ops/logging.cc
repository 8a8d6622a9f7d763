#include "haagent/ops/logging.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace hafw::agent {
namespace {

// sd-daemon(3) priority prefix for journald: "<3>" error ... "<7>" debug.
class JournalPriorityFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const char* prefix = "<6>";
    switch (msg.level) {
      case spdlog::level::trace:
      case spdlog::level::debug:
        prefix = "<7>";
        break;
      case spdlog::level::info:
        prefix = "<6>";
        break;
      case spdlog::level::warn:
        prefix = "<4>";
        break;
      case spdlog::level::err:
        prefix = "<3>";
        break;
      case spdlog::level::critical:
        prefix = "<2>";
        break;
      default:
        break;
    }
    dest.append(prefix, prefix + 3);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JournalPriorityFlag>();
  }
};

}  // namespace

Result<spdlog::level::level_enum> ParseLogLevel(std::string_view text) {
  if (text == "trace") return spdlog::level::trace;
  if (text == "debug") return spdlog::level::debug;
  if (text == "info") return spdlog::level::info;
  if (text == "warn") return spdlog::level::warn;
  if (text == "error") return spdlog::level::err;
  return MakeError(
      ErrorCode::kInvalidArgument,
      "log level '" + std::string(text) + "' is not one of trace, debug, info, warn, error");
}

bool StderrIsJournal() {
  // systemd.exec(5): JOURNAL_STREAM is "device:inode" of the stream; compare it
  // so a child whose stderr was redirected elsewhere keeps timestamps.
  const char* env = std::getenv("JOURNAL_STREAM");
  if (env == nullptr || *env == '\0') return false;
  // "DEV:INO", both decimal.
  char* end = nullptr;
  errno = 0;
  const uint64_t dev = std::strtoull(env, &end, 10);
  if (errno != 0 || end == env || *end != ':') return false;
  const char* ino_text = end + 1;
  const uint64_t ino = std::strtoull(ino_text, &end, 10);
  if (errno != 0 || end == ino_text || *end != '\0') return false;
  struct stat st {};
  if (::fstat(STDERR_FILENO, &st) != 0) return false;
  return static_cast<uint64_t>(st.st_dev) == dev && static_cast<uint64_t>(st.st_ino) == ino;
}

void SetupLogging(std::string_view program, spdlog::level::level_enum level) {
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>(std::string(program), sink);
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  if (StderrIsJournal()) {
    formatter->add_flag<JournalPriorityFlag>('*').set_pattern("%*%l: %v");
  } else {
    formatter->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %l: %v");
  }
  logger->set_formatter(std::move(formatter));
  logger->set_level(level);
  logger->flush_on(spdlog::level::trace);  // stderr: never lose the last lines
  spdlog::set_default_logger(logger);
}

}  // namespace hafw::agent
