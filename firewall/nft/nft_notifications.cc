#include "firewall/nft/nft_notifications.h"

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <optional>
#include <string_view>

namespace hafw::firewall::nft {

namespace {

// NFTA_TABLE_NAME, NFTA_CHAIN_TABLE, NFTA_RULE_TABLE, NFTA_SET_TABLE,
// NFTA_SET_ELEM_LIST_TABLE, NFTA_OBJ_TABLE and NFTA_FLOWTABLE_TABLE are all 1.
constexpr uint16_t kTableAttr = 1;
static_assert(NFTA_TABLE_NAME == kTableAttr && NFTA_CHAIN_TABLE == kTableAttr &&
              NFTA_RULE_TABLE == kTableAttr && NFTA_SET_TABLE == kTableAttr &&
              NFTA_SET_ELEM_LIST_TABLE == kTableAttr && NFTA_OBJ_TABLE == kTableAttr &&
              NFTA_FLOWTABLE_TABLE == kTableAttr);

int TableNameAttr(const nlattr* attr, void* data) {
  if (mnl_attr_get_type(attr) == kTableAttr && mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0) {
    *static_cast<std::optional<std::string_view>*>(data) = mnl_attr_get_str(attr);
  }
  return MNL_CB_OK;
}

}  // namespace

bool HandleNotification(const nlmsghdr& msg, TableWatch& watch) {
  if (NFNL_SUBSYS_ID(msg.nlmsg_type) != NFNL_SUBSYS_NFTABLES) return false;
  if (msg.nlmsg_len < NLMSG_LENGTH(sizeof(nfgenmsg))) return false;
  const uint16_t type = NFNL_MSG_TYPE(msg.nlmsg_type);
  if (type == NFT_MSG_NEWGEN) return watch.OnGeneration();
  if (type == NFT_MSG_TRACE) return false;
  const auto* gen = static_cast<const nfgenmsg*>(mnl_nlmsg_get_payload(&msg));
  std::optional<std::string_view> table;
  mnl_attr_parse(&msg, sizeof(nfgenmsg), TableNameAttr, &table);
  // nlmsg_pid of a notification is the port of the socket that sent the change.
  if (table) watch.OnChange(*table, gen->nfgen_family == NFPROTO_INET, msg.nlmsg_pid);
  return false;
}

}  // namespace hafw::firewall::nft
