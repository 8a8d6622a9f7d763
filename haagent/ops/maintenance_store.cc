#include "haagent/ops/maintenance_store.h"

#include <fstream>

namespace hafw::agent {

Result<void> MaintenanceStore::Save(bool on, const std::string& reason) const {
  namespace fs = std::filesystem;
  const fs::path file = Path();
  std::error_code ec;
  if (!on) {
    fs::remove(file, ec);
    if (ec) return MakeError(ErrorCode::kIo, file.string() + ": " + ec.message());
    return {};
  }
  fs::create_directories(dir_, ec);
  fs::path tmp = file.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << (reason.empty() ? "maintenance" : reason) << "\n";
    if (!out) return MakeError(ErrorCode::kIo, "cannot write " + tmp.string());
  }
  fs::rename(tmp, file, ec);
  if (ec) return MakeError(ErrorCode::kIo, file.string() + ": " + ec.message());
  return {};
}

std::optional<std::string> MaintenanceStore::Load() const {
  std::ifstream in(Path());
  if (!in) return std::nullopt;
  std::string reason;
  std::getline(in, reason);
  return reason;
}

}  // namespace hafw::agent
