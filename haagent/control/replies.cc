#include "haagent/control/replies.h"

#include <utility>

namespace hafw::agent {

control::v1::Response ErrorResponse(ErrorCode code, std::string context) {
  control::v1::Response r;
  r.mutable_error()->set_code(std::string(ErrorCodeName(code)));
  r.mutable_error()->set_context(std::move(context));
  return r;
}

control::v1::Response ActionResponse(std::string message) {
  control::v1::Response r;
  r.mutable_action()->set_message(std::move(message));
  return r;
}

}  // namespace hafw::agent
