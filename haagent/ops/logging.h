#pragma once

// Logging for ha-agent and hactl: spdlog to stderr. Under systemd (JOURNAL_STREAM
// names our stderr) lines are "<N>level: message": journald adds the timestamp
// itself and turns the <N> prefix into the syslog priority. Elsewhere lines carry
// a local timestamp.

#include <string>
#include <string_view>

#include <spdlog/common.h>

#include "common/result.h"

namespace hafw::agent {

// "trace", "debug", "info", "warn", "error".
Result<spdlog::level::level_enum> ParseLogLevel(std::string_view text);

// True when stderr is the journal stream systemd announced in JOURNAL_STREAM.
bool StderrIsJournal();

// Installs the default logger "ha-agent"/"hactl" writing to stderr.
void SetupLogging(std::string_view program, spdlog::level::level_enum level);

}  // namespace hafw::agent
