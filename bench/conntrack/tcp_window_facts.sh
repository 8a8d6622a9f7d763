#!/bin/bash
# What a firewall enforces on a TCP connection after its conntrack entry was
# re-created through ctnetlink (a takeover): docs/statesync-kernel.md, "TCP
# windows". Needs root; creates namespaces cli -- fw -- srv with a per-run
# prefix, the strict forward chain, tcp_loose=0 and be_liberal=0, and removes
# them on exit. Usage: tcp_window_facts.sh BUILD_DIR
set -u
BUILD=${1:?usage: tcp_window_facts.sh BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
REINSTALL=$BUILD/bench/conntrack/ct_reinstall
P=hafwtw$$
WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null
  for n in cli fw srv; do ip netns del $P-$n 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT
for n in cli fw srv; do ip netns add $P-$n && ip -n $P-$n link set lo up; done
ip link add c0 netns $P-cli type veth peer name lan0 netns $P-fw
ip link add s0 netns $P-srv type veth peer name wan0 netns $P-fw
ip -n $P-cli addr add 198.51.100.2/24 dev c0
ip -n $P-fw addr add 198.51.100.1/24 dev lan0
ip -n $P-fw addr add 203.0.113.1/24 dev wan0
ip -n $P-srv addr add 203.0.113.2/24 dev s0
for l in "cli c0" "fw lan0" "fw wan0" "srv s0"; do set -- $l; ip -n $P-$1 link set $2 up; done
ip -n $P-cli route add default via 198.51.100.1
ip -n $P-srv route add 198.51.100.0/24 via 203.0.113.1
ip netns exec $P-fw sysctl -qw net.ipv4.ip_forward=1 net.netfilter.nf_conntrack_tcp_loose=0 \
  net.netfilter.nf_conntrack_tcp_be_liberal=0
ip netns exec $P-fw nft -f - <<'NFT'
table inet filter {
  counter invalid {}
  chain forward {
    type filter hook forward priority 0; policy drop;
    ct state invalid counter name invalid drop
    ct state established,related accept
    iifname "lan0" ct state new accept
  }
}
NFT
ip netns exec $P-srv python3 "$HERE/tcp_echo.py" server 5001 >/dev/null 2>&1 &
SERVER_PID=$!
sleep 0.5

invalid() { ip netns exec $P-fw nft list counter inet filter invalid | grep -o 'packets [0-9]*' | cut -d' ' -f2; }
# run MODE WHAT: WHAT is transfer | inject-after | inject-first | rst
run() {
  local mode=$1 what=$2 d=$WORK/$1.$2
  mkdir -p "$d"
  ip netns exec $P-fw conntrack -F >/dev/null 2>&1
  ip netns exec $P-fw nft reset counters >/dev/null
  ip netns exec $P-cli timeout 60 python3 "$HERE/tcp_echo.py" client 203.0.113.2 5001 "$d" 4000000 >"$d/out" 2>&1 &
  local cp=$!
  for _ in $(seq 100); do grep -q '^port' "$d/out" && break; sleep 0.05; done
  local port
  port=$(awk '/^port/{print $2}' "$d/out")
  sleep 0.2
  ip netns exec $P-fw "$REINSTALL" --port 5001 --mode "$mode" >"$d/reinstall" || echo "ct_reinstall failed"
  inject() { ip netns exec $P-cli python3 "$HERE/tcp_inject.py" 198.51.100.2 "$port" 203.0.113.2 5001 123456789 987654321; }
  [ "$what" = inject-first ] && inject
  touch "$d/go"
  for _ in $(seq 200); do grep -q '^result' "$d/out" && break; sleep 0.05; done
  [ "$what" = inject-after ] && inject
  [ "$what" = rst ] && touch "$d/rst"
  touch "$d/end"
  wait $cp
  sleep 0.2
  local state
  state=$(ip netns exec $P-fw conntrack -L -p tcp --dport 5001 2>/dev/null | awk '{print $4}' | head -1)
  printf '%-12s %-13s %-40s invalid=%-3s entry-after=%s\n' "$mode" "$what" \
    "$(grep '^result' "$d/out" | cut -c1-40)" "$(invalid)" "${state:-gone}"
}
for mode in asis nowscale wscale=0 wscale=2 wscale=14; do run "$mode" transfer; done
run asis inject-after
run asis inject-first
for i in 1 2 3; do run asis rst; done
