#!/usr/bin/env bash
# cli_test.sh SCENARIO HA_AGENT HACTL: ha-agent and hactl end to end (ctest, label unit;
# hactl-status-json runs an agent (status --json, SIGHUP diff) in a network namespace
# it creates: root, label integration, exit 77 = skipped without root or jq).
# Secrets come from tools/make_lab_secrets.sh, as in the lab and the demo.
set -uo pipefail

scenario=$1
ha_agent=$2
hactl=$3
src=${HAFW_SOURCE_DIR:?HAFW_SOURCE_DIR must name the source tree}

tmp=$(mktemp -d /tmp/hafw-cli-test-XXXXXX)
ns=""     # the namespace hactl-status-json creates
agent=""  # the pid of the agent it starts
cleanup() {
  if [[ -n $agent ]] && kill -0 "$agent" 2>/dev/null; then
    kill -TERM "$agent" 2>/dev/null
    for ((i = 0; i < 100; i++)); do kill -0 "$agent" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$agent" 2>/dev/null
    wait "$agent" 2>/dev/null
  fi
  [[ -n $ns ]] && ip netns delete "$ns" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

# wait_log TEXT: the agent's log holds TEXT within ~5 s.
wait_log() {
  for ((i = 0; i < 100; i++)); do
    grep -qF -- "$1" "$tmp/agent.log" && return 0
    sleep 0.05
  done
  fail "agent log lacks '$1':"$'\n'"$(cat "$tmp/agent.log")"
}

# run CMD...: sets rc, out, err.
run() {
  "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  out=$(cat "$tmp/out")
  err=$(cat "$tmp/err")
}

config=$(bash "$src/tools/make_lab_secrets.sh" "$tmp/lab") || fail "make_lab_secrets.sh failed"
[[ $config == "$tmp/lab/hafw.toml" ]] || fail "make_lab_secrets.sh printed '$config'"
for f in vhid1.pass vhid2.pass sync.key; do
  [[ $(stat -c %a "$tmp/lab/$f") == 600 ]] || fail "$f is not mode 600"
done

case $scenario in
  check-ok)
    run "$ha_agent" --config "$config" --node fw1 --check
    [[ $rc == 0 ]] || fail "exit $rc, stderr: $err"
    for want in "node fw1 (cluster file $config)" "vhid 1 on lan0" "vhid 2 on wan0" \
                "192.0.2.1/24 2001:db8:1::1/64" "198.51.100.1/24 2001:db8:2::1/64" \
                "advbase / advskew      1 / 0 " "preempt                yes" \
                "edge                   lan0 wan0" "local address          203.0.113.1 port 7788" \
                "peer                   fw2 203.0.113.2"; do
      grep -qF -- "$want" <<<"$out" || fail "plan lacks '$want':"$'\n'"$out"
    done
    [[ -z $err ]] || fail "unexpected stderr: $err"
    run "$ha_agent" --config "$config" --node fw2 --check
    [[ $rc == 0 ]] || fail "fw2: exit $rc, stderr: $err"
    grep -qF "advbase / advskew      1 / 100 " <<<"$out" || fail "fw2 plan: $out"
    ;;
  check-broken)
    # advskew 100 -> 300 on fw2 (the value starts at column 11).
    line=$(grep -n '^advskew = 100$' "$config" | cut -d: -f1)
    [[ -n $line ]] || fail "example lost 'advskew = 100'"
    sed -i "${line}s/100/300/" "$config"
    run "$ha_agent" --config "$config" --node fw1 --check
    [[ $rc == 1 ]] || fail "exit $rc (want 1), stdout: $out"
    [[ $err == "$config:$line:11: advskew 300 is out of range 0..254" ]] || fail "stderr: $err"
    [[ -z $out ]] || fail "unexpected stdout: $out"
    # A passphrase file others can read.
    bash "$src/tools/make_lab_secrets.sh" "$tmp/lab2" >/dev/null
    chmod 644 "$tmp/lab2/vhid2.pass"
    run "$ha_agent" --config "$tmp/lab2/hafw.toml" --node fw1 --check
    [[ $rc == 1 ]] || fail "exit $rc (want 1)"
    grep -qE "^$tmp/lab2/hafw.toml:[0-9]+:19: passphrase file '$tmp/lab2/vhid2.pass' is accessible by group or others \(mode 0644\); run chmod 600 on it$" <<<"$err" ||
      fail "stderr: $err"
    ;;
  check-unknown-node)
    run "$ha_agent" --config "$config" --node fw9 --check
    [[ $rc == 1 ]] || fail "exit $rc (want 1)"
    [[ $err == "$config: node 'fw9' is not defined in the cluster file (nodes: fw1, fw2)" ]] ||
      fail "stderr: $err"
    ;;
  agent-usage)
    run "$ha_agent" --version
    [[ $rc == 0 && $out =~ ^ha-agent\ [0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "--version: $out"
    run "$ha_agent" --log-level loud --check
    [[ $rc != 0 ]] || fail "--log-level loud accepted"
    ;;
  hactl-unreachable)
    for cmd in "status" "status --json" "failover" "failover --vhid 2 --force" \
               "maintenance on --reason upgrade" "maintenance off" \
               "demote --group edge --reason test --by 2" "undemote --group edge --reason test" \
               "sync-status --json" "resync"; do
      # shellcheck disable=SC2086 # word splitting of $cmd is intended
      run "$hactl" --socket "$tmp/agent.sock" $cmd
      [[ $rc == 3 ]] || fail "hactl $cmd: exit $rc (want 3), stderr: $err"
      [[ $err == "hactl: cannot reach ha-agent at $tmp/agent.sock: No such file or directory" ]] ||
        fail "hactl $cmd: stderr: $err"
    done
    # A socket file nobody listens on.
    python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$tmp/dead.sock"
    run "$hactl" --socket "$tmp/dead.sock" status
    [[ $rc == 3 && $err == "hactl: cannot reach ha-agent at $tmp/dead.sock: Connection refused" ]] ||
      fail "dead socket: exit $rc, stderr: $err"
    ;;
  hactl-usage)
    run "$hactl" --help
    [[ $rc == 0 ]] || fail "--help exit $rc"
    for want in --socket --version status failover maintenance demote undemote sync-status resync; do
      grep -qF -- "$want" <<<"$out" || fail "--help lacks $want"
    done
    run "$hactl" demote --help
    for want in --group --reason --by; do
      grep -qF -- "$want" <<<"$out" || fail "demote --help lacks $want"
    done
    run "$hactl" --socket "$tmp/agent.sock" demote --group edge
    [[ $rc == 2 ]] || fail "missing --reason: exit $rc (want 2)"
    run "$hactl" --socket "$tmp/agent.sock" failover --vhid 0
    [[ $rc == 2 ]] || fail "--vhid 0: exit $rc (want 2)"
    run "$hactl" --socket "$tmp/agent.sock" maintenance maybe
    [[ $rc == 2 ]] || fail "maintenance maybe: exit $rc (want 2)"
    run "$hactl"
    [[ $rc == 2 ]] || fail "no subcommand: exit $rc (want 2)"
    run "$hactl" --version
    [[ $rc == 0 && $out =~ ^hactl\ [0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "--version: $out"
    ;;
  hactl-status-json)
    # A real agent answers `hactl status --json`: its numbers are JSON numbers.
    [[ $(id -u) == 0 ]] || { echo "SKIP: needs root for a network namespace"; exit 77; }
    command -v jq >/dev/null || { echo "SKIP: jq is not installed"; exit 77; }
    ns=hafw-cli-$$
    ip netns add "$ns" || fail "cannot create namespace $ns"
    ip -n "$ns" link set lo up
    # The lab file's vhid interfaces: veth pairs with both ends in the namespace
    # (this kernel has no dummy links), documentation addresses.
    for link in lan0 wan0; do
      ip -n "$ns" link add "$link" type veth peer name "${link}p" ||
        fail "cannot create veth $link"
      ip -n "$ns" link set "${link}p" up
      ip -n "$ns" link set "$link" up
    done
    ip -n "$ns" addr add 192.0.2.10/24 dev lan0
    ip -n "$ns" addr add 198.51.100.10/24 dev wan0
    ip netns exec "$ns" "$ha_agent" --config "$config" --node fw1 \
      --control-socket "$tmp/agent.sock" --state-dir "$tmp/state" >"$tmp/agent.log" 2>&1 &
    agent=$!
    got=""
    for ((i = 0; i < 100; i++)); do  # at most ~5 s for the socket to answer
      if "$hactl" --socket "$tmp/agent.sock" status --json >"$tmp/status.json" 2>/dev/null; then
        got=yes
        break
      fi
      kill -0 "$agent" 2>/dev/null || fail "ha-agent exited:"$'\n'"$(cat "$tmp/agent.log")"
      sleep 0.05
    done
    [[ -n $got ]] || fail "no status from ha-agent:"$'\n'"$(cat "$tmp/agent.log")"
    for check in '.vhosts[0].transitions | type == "number"' \
                 '.vhosts[0].transitions >= 1' \
                 '.vhosts[0].adverts_sent | type == "number"' \
                 '.vhosts[0].adverts_received | type == "number"' \
                 '.vhosts[0].vhid == 1 and .vhosts[0].interface == "lan0"' \
                 '.vhosts[0].link_up == true and .vhosts[0].preempt == true' \
                 '.vhosts[0].drops | type == "object"' \
                 '.vhosts[0].vips == ["192.0.2.1/24", "2001:db8:1::1/64"]' \
                 '.uptime_seconds | type == "number"' \
                 '.node == "fw1" and (.version | type == "string")' \
                 '[.groups[].name] == ["all", "edge"] and (.groups[1].total | type == "number")' \
                 '[.interfaces[].interface] == ["lan0", "wan0"]'; do
      jq -e "$check" "$tmp/status.json" >/dev/null ||
        fail "jq '$check' is not true for:"$'\n'"$(cat "$tmp/status.json")"
    done
    # The text form still answers.
    "$hactl" --socket "$tmp/agent.sock" status | grep -q "^node fw1 " || fail "hactl status text"
    # SIGHUP: the same file is unchanged; a new advskew for fw1 is a diff of both vhids.
    kill -HUP "$agent"
    wait_log "SIGHUP: $config unchanged for node fw1"
    line=$(grep -n '^advskew = 0$' "$config" | head -1 | cut -d: -f1)
    [[ -n $line ]] || fail "example lost fw1's 'advskew = 0'"
    sed -i "${line}s/0/5/" "$config"
    kill -HUP "$agent"
    wait_log "SIGHUP: $config is valid but changes node fw1; restart ha-agent to apply it"
    wait_log "SIGHUP: changes: vhid 1 on lan0: advskew; vhid 2 on wan0: advskew"
    # A clean stop exits 0.
    kill -TERM "$agent"
    for ((i = 0; i < 100; i++)); do kill -0 "$agent" 2>/dev/null || break; sleep 0.05; done
    wait "$agent"
    rc=$?
    agent=""
    [[ $rc == 0 ]] || fail "ha-agent exit $rc after SIGTERM:"$'\n'"$(cat "$tmp/agent.log")"
    ;;
  *)
    fail "unknown scenario $scenario"
    ;;
esac
echo "ok: $scenario"
