#pragma once

// nftables change notifications (NFNLGRP_NFTABLES) parsed into TableWatch
// calls. Every object message (table, chain, rule, set, element, object,
// flowtable) carries its table's name as attribute 1 and, in nlmsg_pid, the
// netlink port of the socket that sent the change; NEWGEN ends a transaction.

#include <linux/netlink.h>

#include "firewall/core/table_watch.h"

namespace hafw::firewall::nft {

// Feeds `msg` to `watch`. True when it ends a transaction by someone else
// that changed our table (time to restore).
bool HandleNotification(const nlmsghdr& msg, TableWatch& watch);

}  // namespace hafw::firewall::nft
