#!/usr/bin/env bash
# The hafw demo on a fresh Debian 12 machine, as root, from a clone:
#   bash tools/demo.sh
# Installs the Debian packages, builds ha-agent and hactl, validates the
# example cluster file for both nodes, builds the network-namespace lab and
# runs the demo steps (tools/demo.py) in it: traffic through a strict
# firewall, then ha-agent on fw1 and fw2 and a live failover (graceful stop,
# then a dead node) with the measured outage. Everything it creates is removed
# on exit, also on failure or Ctrl-C.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${HAFW_DEMO_BUILD_DIR:-$repo/build}
python=/usr/bin/python3  # Debian's python (pytest, scapy), not a pyenv one
lab_py=$repo/tests/integration/lab.py

die() { echo "demo: $*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "must run as root (network namespaces, nftables)"

echo "== bootstrap (Debian packages)"
bash "$repo/tools/bootstrap.sh"

echo "== build ha-agent, hactl and the control API bindings in $build"
cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
# hafw_proto_python: the control API bindings the test kit speaks to the agents.
cmake --build "$build" --target ha-agent hactl hafw_proto_python -j "$(nproc)"

secrets_tool=$repo/tools/make_lab_secrets.sh
[[ -f $secrets_tool ]] || die "$secrets_tool is missing: cannot create the lab secrets"

workdir=$(mktemp -d /tmp/hafw-demo.XXXXXX)
prefix="hafwdemo$$-"
lab_started=0
cleanup() {
  if [[ $lab_started -eq 1 ]]; then
    "$python" "$lab_py" down --prefix "$prefix" || echo "demo: lab teardown failed" >&2
  fi
  rm -rf "$workdir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "== validate the example cluster file (etc/hafw.toml) for both nodes"
config=$(bash "$secrets_tool" "$workdir/secrets")
[[ -f $config ]] || die "make_lab_secrets.sh did not produce a cluster file ($config)"
for node in fw1 fw2; do
  # The full plan is long; show the per-vhid timing lines (errors go to stderr).
  plan=$("$build/haagent/ha-agent" --check --config "$config" --node "$node") ||
    die "ha-agent --check --node $node rejected $config"
  echo "-- ha-agent --check --node $node: ok"
  grep -E '^vhid |advbase / advskew' <<<"$plan" | sed 's/^/     /'
done

echo "== bring the namespace lab up (prefix $prefix)"
lab_started=1
"$python" "$lab_py" up --prefix "$prefix"

echo "== demo steps"
"$python" "$repo/tools/demo.py" --prefix "$prefix" --build-dir "$build" --config "$config"

echo "== tear the lab down"
