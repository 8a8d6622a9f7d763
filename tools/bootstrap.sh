#!/usr/bin/env bash
# Installs every Debian 12 package that hafw's build, tests, demo and benchmarks
# need, and nothing else. Idempotent: packages already present are skipped.
set -euo pipefail

if [[ $(id -u) -ne 0 ]]; then
  echo "bootstrap: must run as root (it calls apt-get)" >&2
  exit 1
fi

packages=(
  # toolchain
  build-essential g++ cmake ninja-build pkg-config clang clang-format clang-tidy
  libclang-rt-14-dev
  # libraries (design.md, "Dependencies")
  libboost-dev libprotobuf-dev protobuf-compiler libssl-dev libmnl-dev
  libnftables-dev libnftnl-dev libnetfilter-conntrack-dev libtomlplusplus-dev
  libcli11-dev libspdlog-dev libfmt-dev libexpected-dev libsystemd-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev python3 python3-pytest python3-scapy
  python3-matplotlib python3-protobuf
  # the namespace lab and real peers
  iproute2 nftables conntrack iputils-ping netcat-openbsd tcpdump tshark ucarp
  keepalived conntrackd hping3 iperf3 procps
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$p")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "bootstrap: all ${#packages[@]} packages present"
  exit 0
fi

echo "bootstrap: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Daemons we install (keepalived, conntrackd) are peers for tests and benchmarks,
# started by those tests in namespaces; keep the package scripts from starting them.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod +x "$policy"
  created_policy=1
fi
trap '[[ $created_policy -eq 1 ]] && rm -f "$policy"' EXIT
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "bootstrap: done"
