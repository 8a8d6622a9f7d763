#pragma once

// Checks on the files the cluster file names: secret files (CARP passphrases,
// the sync key) must be private regular files of one line; hook programs run
// as root, so nobody else may rewrite them. Errors carry the message only: the
// loader adds the position of the key that named the file.

#include <cstddef>
#include <string>
#include <string_view>

#include "common/result.h"

namespace hafw::agent {

// Larger secret files are refused unread.
inline constexpr size_t kMaxSecretFileBytes = 4096;

// The one line of a secret file, its trailing newline stripped. `what` names
// the file in messages ("passphrase file", "key file"). Refused: missing or
// unreadable, not a regular file, any group/other permission bit, larger than
// kMaxSecretFileBytes, a second line, a carriage return or a NUL.
Result<std::string> ReadSecretFile(const std::string& path, std::string_view what);

// A hook program: a regular, owner-executable file that group and others
// cannot write. `key` names the hook in messages ("master", "backup", "init").
Result<void> CheckHookProgram(const std::string& path, std::string_view key);

}  // namespace hafw::agent
