#pragma once

// Renders a StatusReply for people (`hactl status`) and machines (`--json`).

#include <string>

#include "hafw/control/v1/control.pb.h"

namespace hafw::agent {

std::string FormatStatusText(const control::v1::StatusReply& status);
// JSON (json.h): proto field names (snake_case), every field without presence
// present, numbers as numbers; docs/operations.md lists the fields.
std::string FormatStatusJson(const control::v1::StatusReply& status);
// "1m23s", "4.2s", "2h05m".
std::string FormatAge(double seconds);

}  // namespace hafw::agent
