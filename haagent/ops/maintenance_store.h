#pragma once

// Maintenance mode survives restarts: while it is on, a file "maintenance" in
// the state directory (--state-dir) holds its reason.

#include <filesystem>
#include <optional>
#include <string>

#include "common/result.h"

namespace hafw::agent {

class MaintenanceStore {
 public:
  explicit MaintenanceStore(std::filesystem::path state_dir) : dir_(std::move(state_dir)) {}

  std::filesystem::path Path() const { return dir_ / "maintenance"; }
  // On: writes the reason ("maintenance" when empty) through a temporary file
  // and a rename, creating the directory; off: removes the file. kIo errors.
  Result<void> Save(bool on, const std::string& reason) const;
  // The saved reason while maintenance is on; nullopt when it is off.
  std::optional<std::string> Load() const;

 private:
  std::filesystem::path dir_;
};

}  // namespace hafw::agent
