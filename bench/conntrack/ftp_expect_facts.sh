#!/bin/bash
# Expectation sync facts (docs/statesync-kernel.md, "Helpers and
# expectations"): a masqueraded FTP PORT creates an expectation with NAT; it
# is deleted and re-created through the sync codec and writer (ct_reinstall
# --expectations), and the server's data connection must still reach the
# client. Then the same with the master re-created without its helper: the
# expectation cannot be created. Needs root; namespaces with a per-run prefix,
# removed on exit. Usage: ftp_expect_facts.sh BUILD_DIR
set -u
BUILD=${1:?usage: ftp_expect_facts.sh BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
REINSTALL=$BUILD/bench/conntrack/ct_reinstall
P=hafwfx$$
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
ip -n $P-fw addr add 203.0.113.1/24 dev wan0
ip -n $P-srv addr add 203.0.113.2/24 dev s0
for l in "cli c0" "fw lan0" "fw wan0" "srv s0"; do set -- $l; ip -n $P-$1 link set $2 up; done
ip -n $P-cli route add default via 198.51.100.1
ip netns exec $P-fw sysctl -qw net.ipv4.ip_forward=1
ip netns exec $P-fw nft -f - <<'NFT'
table inet lab {
  ct helper ftp-std { type "ftp" protocol tcp; }
  chain pre { type filter hook prerouting priority 0; tcp dport 21 ct helper set "ftp-std"; }
}
table ip nat {
  chain post { type nat hook postrouting priority 100; oifname "wan0" masquerade; }
}
NFT
ip netns exec $P-srv python3 "$HERE/ftp_fake.py" server >/dev/null 2>&1 &
PIDS+=($!)
sleep 0.5

# run LABEL [REINSTALL_ARGS...]
run() {
  local label=$1 d=$WORK/$1
  shift
  mkdir -p "$d"
  ip netns exec $P-fw conntrack -F >/dev/null 2>&1
  ip netns exec $P-cli timeout 40 python3 "$HERE/ftp_fake.py" client "$d" >"$d/client" 2>&1 &
  local cp=$!
  for _ in $(seq 100); do grep -q '^200' "$d/client" && break; sleep 0.05; done
  echo "== $label"
  if [ "$#" -gt 0 ]; then ip netns exec $P-fw "$REINSTALL" "$@" | sed 's/^/  /'; fi
  local exp
  exp=$(ip netns exec $P-fw conntrack -L expect 2>/dev/null | grep -o 'dport=[0-9]*' | head -1 | cut -d= -f2)
  if [ -z "$exp" ]; then
    echo "  no expectation in the kernel"
  else
    ip netns exec $P-cli timeout 8 python3 "$HERE/ftp_fake.py" listen 198.51.100.2 51210 >"$d/listen" &
    local lp=$!
    sleep 0.3
    echo "  server -> 203.0.113.1:$exp: $(ip netns exec $P-srv timeout 5 python3 "$HERE/ftp_fake.py" connect 203.0.113.1 "$exp")"
    wait $lp
    echo "  client: $(cat "$d/listen")"
  fi
  touch "$d/end"
  wait $cp
}
run "expectation made by the helper"
run "expectation re-created through ctnetlink" --expectations
run "master without its helper" --expectations --master-without-helper
