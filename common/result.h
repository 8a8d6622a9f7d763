#pragma once

// Errors are values: Result<T> is tl::expected<T, Error>. An Error carries a
// machine-readable code and a human context that reaches hactl unchanged.

#include <string>
#include <string_view>
#include <utility>

#include <tl/expected.hpp>

namespace hafw {

enum class ErrorCode {
  kInvalidArgument,  // malformed input (address, number, option)
  kConfig,           // cluster file rejected; context is "file:line:col: message"
  kNotFound,         // a named thing (node, interface, vhid) does not exist
  kPermission,       // file mode or privilege problem
  kIo,               // a system call failed; context names it and errno's text
  kProtocol,         // a peer or the control socket sent something we cannot use
  kUnavailable,      // the agent or a resource is not there (yet)
  kInternal,         // a bug: should never be seen
};

std::string_view ErrorCodeName(ErrorCode code);

struct Error {
  ErrorCode code;
  std::string context;

  // "config: fw.toml:3:1: unknown key 'foo'"
  std::string ToString() const;
};

template <typename T>
using Result = tl::expected<T, Error>;

// Shorthand for `return MakeError(ErrorCode::kIo, "bind: ...")` in a Result<T> function.
inline tl::unexpected<Error> MakeError(ErrorCode code, std::string context) {
  return tl::unexpected<Error>(Error{code, std::move(context)});
}

}  // namespace hafw
