#!/bin/sh
# ucarp down-script for the failover benchmark: run on becoming BACKUP and,
# with --shutdown, on exit. Removing an absent address is not an error.
ip addr del "$2/$3" dev "$1" 2>/dev/null
exit 0
