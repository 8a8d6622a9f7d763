#pragma once

// Errors are values: Result<T> is tl::expected<T, Error>. An Error carries a
// machine-readable code, a human context that reaches hactl unchanged and, for
// a failed system call or netlink request, its errno (so callers can treat
// EEXIST and friends as success without parsing text).

#include <cerrno>
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
  int sys_errno = 0;  // errno of the failure, 0 when it was not a system error

  // "config: fw.toml:3:1: unknown key 'foo'"
  std::string ToString() const;
};

template <typename T>
using Result = tl::expected<T, Error>;

// Shorthand for `return MakeError(ErrorCode::kIo, "bind: ...")` in a Result<T> function.
inline tl::unexpected<Error> MakeError(ErrorCode code, std::string context) {
  return tl::unexpected<Error>(Error{code, std::move(context)});
}

// kIo "<what>: <strerror(err)>" carrying err; `err` defaults to errno at the call.
Error SysError(std::string_view what, int err = errno);

// The same as an unexpected Result, for `return SysFailure("bind");`.
inline tl::unexpected<Error> SysFailure(std::string_view what, int err = errno) {
  return tl::unexpected<Error>(SysError(what, err));
}

}  // namespace hafw
