#pragma once

// One libnftables context for the agent's lifetime. Every command buffer is
// one nftables transaction: all of it applies, or none. The context keeps one
// netlink socket open from creation to destruction, so a table created with
// `flags owner` through it belongs to this session (NFT_TABLE_F_OWNER): only
// this session may change it, `flush ruleset` from others leaves it alone,
// and the kernel deletes it when the session's socket closes (agent exit,
// crash or kill). docs/firewall.md, "Ownership", has what was measured.

#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

struct nft_ctx;

namespace hafw::firewall::nft {

class NftSession {
 public:
  // A context in the calling thread's network namespace. Its netlink socket
  // is made close-on-exec (libnftables 1.0.6 does not), so hook processes
  // never inherit it and cannot keep an owned table alive after the agent.
  static Result<std::unique_ptr<NftSession>> Open();
  ~NftSession();
  NftSession(const NftSession&) = delete;
  NftSession& operator=(const NftSession&) = delete;

  // Runs `commands` as one transaction; its output (for `list ...`) on success.
  // A failure names nftables' own message and leaves the ruleset unchanged.
  Result<std::string> Run(std::string_view commands);
  // The same in check mode: the kernel validates the transaction and aborts it.
  Result<void> Check(std::string_view commands);

  // The netlink port id of the session's socket: nftables stamps it on the
  // notifications of our own transactions and as the owner of an owned table.
  uint32_t PortId() const { return port_id_; }

 private:
  NftSession(nft_ctx* ctx, uint32_t port_id) : ctx_(ctx), port_id_(port_id) {}
  Result<std::string> RunBuffer(std::string_view commands, bool dry_run);

  nft_ctx* ctx_;
  uint32_t port_id_;
};

}  // namespace hafw::firewall::nft
