#!/bin/bash
# What removing a masquerade address does to conntrack (docs/statesync-kernel.md,
# "Masquerade cleanup"): entries the local masquerade created are deleted with
# a DESTROY event each; entries created through ctnetlink (a peer's sync
# writes) survive. Needs root; namespaces with a per-run prefix, removed on
# exit. Usage: masq_cleanup_facts.sh BUILD_DIR
set -u
BUILD=${1:?usage: masq_cleanup_facts.sh BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
FLOOD=$BUILD/bench/conntrack/ct_flood
P=hafwmc$$
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for n in cli fw srv; do ip netns del $P-$n 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT
for n in cli fw srv; do ip netns add $P-$n && ip -n $P-$n link set lo up; done
ip link add c0 netns $P-cli type veth peer name lan0 netns $P-fw
ip link add s0 netns $P-srv type veth peer name wan0 netns $P-fw
ip -n $P-cli addr add 198.51.100.2/24 dev c0
ip -n $P-fw addr add 198.51.100.1/24 dev lan0
ip -n $P-fw addr add 203.0.113.100/24 dev wan0   # the VIP, the only WAN address
ip -n $P-srv addr add 203.0.113.2/24 dev s0
for l in "cli c0" "fw lan0" "fw wan0" "srv s0"; do set -- $l; ip -n $P-$1 link set $2 up; done
ip -n $P-cli route add default via 198.51.100.1
ip netns exec $P-fw sysctl -qw net.ipv4.ip_forward=1 net.netfilter.nf_conntrack_events=1
ip netns exec $P-fw nft -f - <<'NFT'
table ip nat {
  chain post { type nat hook postrouting priority 100; oifname "wan0" masquerade; }
}
NFT
ip netns exec $P-srv python3 "$HERE/tcp_echo.py" server 5001 >/dev/null 2>&1 &
PIDS+=($!)
sleep 0.5
# One masqueraded connection through the firewall, kept open.
mkdir -p "$WORK/c"
ip netns exec $P-cli timeout 30 python3 "$HERE/tcp_echo.py" client 203.0.113.2 5001 "$WORK/c" 1000 >"$WORK/c/out" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do grep -q '^port' "$WORK/c/out" && break; sleep 0.05; done
# Ten entries masqueraded to the same VIP, written through ctnetlink.
ip netns exec $P-fw "$FLOOD" --count 10 --batch 10 --masquerade --keep >/dev/null
echo "before: $(ip netns exec $P-fw conntrack -L 2>/dev/null | grep -c 'dst=203.0.113.100') entries NAT'ed to 203.0.113.100"
ip netns exec $P-fw timeout 3 conntrack -E -e DESTROY -o extended >"$WORK/events" 2>/dev/null &
PIDS+=($!)
sleep 0.5
ip -n $P-fw addr del 203.0.113.100/24 dev wan0
sleep 1.5
echo "after removing the address: $(ip netns exec $P-fw conntrack -L 2>/dev/null | grep -c 'dst=203.0.113.100') left"
echo "DESTROY events:"
sed 's/^/  /' "$WORK/events"
touch "$WORK/c/go" "$WORK/c/end"
