#include "firewall/nft/nft_query.h"

#include <libmnl/libmnl.h>
#include <libnftnl/object.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

namespace hafw::firewall::nft {

static_assert(kTableFlagDormant == NFT_TABLE_F_DORMANT);
static_assert(kTableFlagOwner == NFT_TABLE_F_OWNER);

namespace {

constexpr size_t kRequestSize = 1024;

struct TableDeleter {
  void operator()(nftnl_table* t) const { nftnl_table_free(t); }
};
struct ObjDeleter {
  void operator()(nftnl_obj* o) const { nftnl_obj_free(o); }
};

int CommentAttr(const nftnl_udata* attr, void* data) {
  if (nftnl_udata_type(attr) == NFTNL_UDATA_TABLE_COMMENT && nftnl_udata_len(attr) > 0) {
    const auto* text = static_cast<const char*>(nftnl_udata_get(attr));
    // Stored with its NUL.
    *static_cast<std::string*>(data) = std::string(text, strnlen(text, nftnl_udata_len(attr)));
  }
  return MNL_CB_OK;
}

}  // namespace

Result<NftQuery> NftQuery::Open() {
  auto socket = netlink::NetlinkSocket::Open(netlink::Protocol::kNetfilter);
  if (!socket) return tl::unexpected(socket.error());
  return NftQuery(std::move(*socket));
}

Result<std::optional<TableInfo>> NftQuery::GetTable(std::string_view name) {
  std::array<char, kRequestSize> buf{};
  const std::string table_name(name);
  std::unique_ptr<nftnl_table, TableDeleter> t(nftnl_table_alloc());
  nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, table_name.c_str());
  nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_GETTABLE, NFPROTO_INET, 0, 0);
  nftnl_table_nlmsg_build_payload(nlh, t.get());

  std::optional<TableInfo> info;
  bool malformed = false;
  auto r = socket_.Transact(
      nlh,
      [&](const nlmsghdr& msg) {
        std::unique_ptr<nftnl_table, TableDeleter> got(nftnl_table_alloc());
        if (nftnl_table_nlmsg_parse(&msg, got.get()) < 0) {
          malformed = true;
          return;
        }
        TableInfo out;
        out.flags = nftnl_table_get_u32(got.get(), NFTNL_TABLE_FLAGS);
        if (nftnl_table_is_set(got.get(), NFTNL_TABLE_OWNER)) {
          out.owner_portid = nftnl_table_get_u32(got.get(), NFTNL_TABLE_OWNER);
        }
        uint32_t len = 0;
        const void* udata = nftnl_table_get_data(got.get(), NFTNL_TABLE_USERDATA, &len);
        if (udata != nullptr && len > 0) nftnl_udata_parse(udata, len, CommentAttr, &out.comment);
        info = std::move(out);
      },
      "nftables: get table inet " + table_name);
  if (!r) {
    if (r.error().sys_errno == ENOENT) return std::optional<TableInfo>{};
    return tl::unexpected(r.error());
  }
  if (malformed || !info) {
    return MakeError(ErrorCode::kProtocol, "nftables: unreadable answer for table " + table_name);
  }
  return info;
}

Result<DropCounters> NftQuery::ReadCounters(std::string_view name) {
  std::array<char, kRequestSize> buf{};
  const std::string table_name(name);
  std::unique_ptr<nftnl_obj, ObjDeleter> filter(nftnl_obj_alloc());
  // A dump filtered in the kernel by table and object type.
  nftnl_obj_set_str(filter.get(), NFTNL_OBJ_TABLE, table_name.c_str());
  nftnl_obj_set_u32(filter.get(), NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
  nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_GETOBJ, NFPROTO_INET, NLM_F_DUMP, 0);
  nftnl_obj_nlmsg_build_payload(nlh, filter.get());

  DropCounters counters;
  bool seen_any = false;
  auto r = socket_.Transact(
      nlh,
      [&](const nlmsghdr& msg) {
        std::unique_ptr<nftnl_obj, ObjDeleter> obj(nftnl_obj_alloc());
        if (nftnl_obj_nlmsg_parse(&msg, obj.get()) < 0) return;
        const char* table = nftnl_obj_get_str(obj.get(), NFTNL_OBJ_TABLE);
        const char* obj_name = nftnl_obj_get_str(obj.get(), NFTNL_OBJ_NAME);
        if (table == nullptr || obj_name == nullptr || table_name != table) return;
        seen_any = true;
        if (auto reason = DropReasonFromName(obj_name)) {
          counters[*reason] = {nftnl_obj_get_u64(obj.get(), NFTNL_OBJ_CTR_PKTS),
                               nftnl_obj_get_u64(obj.get(), NFTNL_OBJ_CTR_BYTES)};
        }
      },
      "nftables: list counters of table inet " + table_name);
  if (!r) return tl::unexpected(r.error());
  // A dump of a missing table is empty rather than an error: ask the table.
  if (!seen_any) {
    auto table = GetTable(name);
    if (!table) return tl::unexpected(table.error());
    if (!*table) return MakeError(ErrorCode::kNotFound, "nftables: no table inet " + table_name);
  }
  return counters;
}

}  // namespace hafw::firewall::nft
