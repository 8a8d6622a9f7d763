#pragma once

// The minimal nftables object that makes the kernel attach the conntrack
// labels extension to new entries (docs/statesync-kernel.md, "Labels"): a
// `ct label` match in an unhooked chain of hafw's own table. It never sees a
// packet. Loaded through libnftables; only `table inet hafw` is touched.
// Lives here until firewall/nft (issue 10) owns hafw's table; that table then
// carries the same chain and this class goes away.

#include <string>

#include "common/result.h"

namespace hafw::statesync::io {

inline constexpr const char* kLabelsTableName = "hafw";

class CtLabelsTable {
 public:
  // Adds (idempotently) `table inet hafw { chain ct_labels { ct label 127 } }`
  // in the calling thread's namespace. Entries created before this have no
  // labels extension and never get one.
  static Result<void> Ensure();
  // Deletes the chain (and the table when nothing else is in it). Entries
  // keep their extension; entries created afterwards get none, so an agent
  // normally leaves the table in place across restarts.
  static Result<void> Remove();
  // Whether the chain is present.
  static Result<bool> Present();
};

}  // namespace hafw::statesync::io
