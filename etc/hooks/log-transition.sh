#!/bin/sh
# Example notify hook for ha-agent ([hooks] in the cluster file): records every
# transition in the system log and in a state file per vhid that monitoring
# (or a service that must only run on the MASTER) can read.
#
#   [hooks]
#   master = "/etc/hafw/hooks/log-transition.sh"
#   backup = "/etc/hafw/hooks/log-transition.sh"
#   init   = "/etc/hafw/hooks/log-transition.sh"
#
# Arguments: STATE VHID INTERFACE; environment: HAFW_NODE, HAFW_VHID,
# HAFW_INTERFACE, HAFW_STATE, HAFW_PREVIOUS_STATE, HAFW_CAUSE, HAFW_VIPS,
# HAFW_GROUPS (docs/configuration.md). Hooks run as root, asynchronously, and
# are killed after [hooks] timeout_seconds: keep them short.
set -eu

state=$1 vhid=$2 interface=$3
dir=/run/hafw/vhid-state
mkdir -p "$dir"
printf '%s\n' "$state" >"$dir/$interface.$vhid"

logger -t ha-agent-hook -- \
  "node $HAFW_NODE vhid $vhid on $interface: $HAFW_PREVIOUS_STATE -> $state" \
  "($HAFW_CAUSE) VIPs: $HAFW_VIPS"
