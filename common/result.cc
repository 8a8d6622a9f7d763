#include "common/result.h"

#include <cstring>

namespace hafw {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return "invalid-argument";
    case ErrorCode::kConfig:
      return "config";
    case ErrorCode::kNotFound:
      return "not-found";
    case ErrorCode::kPermission:
      return "permission";
    case ErrorCode::kIo:
      return "io";
    case ErrorCode::kProtocol:
      return "protocol";
    case ErrorCode::kUnavailable:
      return "unavailable";
    case ErrorCode::kInternal:
      return "internal";
  }
  return "unknown";
}

Error SysError(std::string_view what, int err) {
  std::string context(what);
  context += ": ";
  context += std::strerror(err);
  return Error{ErrorCode::kIo, std::move(context), err};
}

std::string Error::ToString() const {
  std::string out(ErrorCodeName(code));
  out += ": ";
  out += context;
  return out;
}

}  // namespace hafw
