#!/usr/bin/env bash
# hafw's whole test suite on a fresh Debian 12 machine, as root, from a clone:
#   bash tools/run-tests.sh
# 1. installs the Debian packages (tools/bootstrap.sh),
# 2. builds everything (Ninja, RelWithDebInfo) in build/ and runs every ctest
#    label there: unit, sim, integration (network-namespace lab), timing
#    (sub-second timing asserts, each run alone: RUN_SERIAL), fuzz, lint,
# 3. builds again with AddressSanitizer + UBSan in build-asan/ and runs the
#    unit and simulator tests there.
# Exits non-zero if anything fails. Runnable from any directory.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
jobs=$(nproc)

if [[ $(id -u) -ne 0 ]]; then
  echo "run-tests: must run as root (packages, network namespaces, nftables)" >&2
  exit 1
fi

summary=()
status=0

# run_ctest DIR [ctest args...]: runs ctest, keeps its summary lines, records failure.
run_ctest() {
  local dir=$1
  shift
  local log
  log=$(mktemp /tmp/hafw-ctest.XXXXXX)
  local rc=0
  (cd "$dir" && ctest --output-on-failure "$@") 2>&1 | tee "$log" || rc=$?
  summary+=("[$dir ctest $*]")
  while IFS= read -r line; do
    summary+=("  $line")
  done < <(grep -E '^[0-9]+% tests passed|tests failed out of|^\s+[0-9]+ - |Total Test time' "$log" || true)
  rm -f "$log"
  if [[ $rc -ne 0 ]]; then
    status=1
  fi
}

echo "== bootstrap"
bash "$repo/tools/bootstrap.sh"

echo "== build ($repo/build, RelWithDebInfo)"
cmake -S "$repo" -B "$repo/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$repo/build" -j "$jobs"

echo "== ctest: all labels (unit, sim, integration, timing, fuzz, lint)"
run_ctest "$repo/build" -j "$jobs"

echo "== sanitizer build ($repo/build-asan)"
cmake -S "$repo" -B "$repo/build-asan" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DHAFW_SANITIZE=ON -DHAFW_BUILD_BENCH=OFF
cmake --build "$repo/build-asan" -j "$jobs"

echo "== ctest under sanitizers: unit and sim"
run_ctest "$repo/build-asan" -j "$jobs" -L 'unit|sim'

echo
echo "== summary"
printf '%s\n' "${summary[@]}"
if [[ $status -ne 0 ]]; then
  echo "run-tests: FAILED"
else
  echo "run-tests: all passed"
fi
exit "$status"
