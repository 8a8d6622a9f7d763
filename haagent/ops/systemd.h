#pragma once

// systemd service notifications (sd_notify(3)); each is a no-op when the agent
// does not run under systemd (no NOTIFY_SOCKET).

#include <chrono>
#include <optional>
#include <string_view>

namespace hafw::agent {

// READY=1 with a STATUS= line for `systemctl status`.
void NotifyReady(std::string_view status);
void NotifyStopping();
void NotifyWatchdog();
// How often to send WATCHDOG=1: half of WatchdogSec= when the unit sets it.
std::optional<std::chrono::microseconds> WatchdogPingInterval();

}  // namespace hafw::agent
