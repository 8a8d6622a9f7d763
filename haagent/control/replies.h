#pragma once

// Building control API responses, for the agent's handlers and for tests.

#include <string>

#include "common/result.h"
#include "hafw/control/v1/control.pb.h"

namespace hafw::agent {

// A response carrying only an error (code name and context, as hactl prints it).
control::v1::Response ErrorResponse(ErrorCode code, std::string context);
// A response saying what an action did, for the operator.
control::v1::Response ActionResponse(std::string message);

}  // namespace hafw::agent
