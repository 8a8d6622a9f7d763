#include "statesync/io/ct_labels_table.h"

#include <nftables/libnftables.h>

#include <memory>
#include <string_view>

namespace hafw::statesync::io {
namespace {

struct ContextDeleter {
  void operator()(nft_ctx* ctx) const { nft_ctx_free(ctx); }
};
using Context = std::unique_ptr<nft_ctx, ContextDeleter>;

// Runs one nft command in the calling thread's namespace; the error text of
// libnftables lands in the Error.
Result<std::string> Run(std::string_view command) {
  Context ctx(nft_ctx_new(NFT_CTX_DEFAULT));
  if (!ctx) return MakeError(ErrorCode::kInternal, "libnftables: no context");
  nft_ctx_buffer_output(ctx.get());
  nft_ctx_buffer_error(ctx.get());
  const std::string text(command);
  if (nft_run_cmd_from_buffer(ctx.get(), text.c_str()) != 0) {
    std::string why = nft_ctx_get_error_buffer(ctx.get());
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    return MakeError(ErrorCode::kIo, "nft '" + text + "': " + why);
  }
  return std::string(nft_ctx_get_output_buffer(ctx.get()));
}

}  // namespace

Result<void> CtLabelsTable::Ensure() {
  auto present = Present();
  if (!present) return tl::unexpected(present.error());
  if (*present) return {};
  // One transaction: the table (no-op when it exists) and the chain.
  auto done =
      Run("add table inet hafw\n"
          "add chain inet hafw ct_labels\n"
          "add rule inet hafw ct_labels ct label 127\n");
  if (!done) return tl::unexpected(done.error());
  return {};
}

Result<void> CtLabelsTable::Remove() {
  auto present = Present();
  if (!present) return tl::unexpected(present.error());
  if (!*present) return {};
  auto done = Run("delete chain inet hafw ct_labels");
  if (!done) return tl::unexpected(done.error());
  // The table goes too if it is now empty (firewall/nft may own more of it).
  auto listed = Run("list table inet hafw");
  if (listed && listed->find("chain") == std::string::npos) {
    auto deleted = Run("delete table inet hafw");
    if (!deleted) return tl::unexpected(deleted.error());
  }
  return {};
}

Result<bool> CtLabelsTable::Present() {
  auto listed = Run("list tables inet");
  if (!listed) return tl::unexpected(listed.error());
  if (listed->find("table inet hafw\n") == std::string::npos) return false;
  auto chain = Run("list chain inet hafw ct_labels");
  return chain.has_value();
}

}  // namespace hafw::statesync::io
