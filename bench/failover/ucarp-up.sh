#!/bin/sh
# ucarp up-script for the failover benchmark: ucarp runs it (and waits for it)
# when it becomes MASTER, with: INTERFACE VIP XPARAM (XPARAM = prefix length).
# ucarp itself sends the gratuitous ARP after this script returns.
exec ip addr add "$2/$3" dev "$1"
