#pragma once

// Loading the cluster file: parse the TOML, load and check every section,
// read the secrets it names, and only then return an immutable ClusterConfig.
// Errors are "file:line:col: message" lines (several joined by '\n') in an
// Error with code kConfig; every mistake of the file is reported at once.

#include <string>

#include "common/result.h"
#include "haagent/config/cluster_config.h"

namespace hafw::agent {

// Relative file names inside resolve against the file's directory.
Result<ClusterConfig> LoadClusterConfig(const std::string& path);

}  // namespace hafw::agent
