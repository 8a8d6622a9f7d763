#!/usr/bin/env bash
# Builds the libFuzzer targets in a separate clang build and runs each one for a
# bounded time on a scratch copy of its seed corpus (the committed corpus is not
# grown). Exits non-zero if a fuzzer finds a crash, leak, timeout or UB.
#
# Usage: tools/run_fuzzers.sh [BUILD_DIR [FUZZER...]]
#        (default ./build-fuzz; without FUZZER names, every fuzzer runs)
# Env:   HAFW_FUZZ_SECONDS  per-fuzzer run time (default 60)
#        HAFW_FUZZ_JOBS     parallel build jobs (default 2)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-./build-fuzz}"
only=("${@:2}")
seconds="${HAFW_FUZZ_SECONDS:-60}"
jobs="${HAFW_FUZZ_JOBS:-2}"

# fuzzer target : seed corpus folder under fuzz/corpus [: extra libFuzzer flags]
fuzzers=(
  "carp_decode_fuzzer:carp_decode"
  # Streams of several frames, and batches big enough to reach the record limit.
  "sync_decode_fuzzer:sync_decode:-max_len=65536"
)

command -v clang++ >/dev/null || { echo "run_fuzzers: clang++ not found" >&2; exit 2; }

# Only the fuzz targets are built; tests must be ON because the root adds fuzz/
# only then, benchmarks are not needed.
CC=clang CXX=clang++ cmake -S "$repo" -B "$build" -G Ninja \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DHAFW_FUZZ=ON -DHAFW_BUILD_TESTS=ON -DHAFW_BUILD_BENCH=OFF -DHAFW_SANITIZE=OFF >/dev/null
cmake --build "$build" --target hafw_fuzzers -j"$jobs"

artifacts="$build/fuzz-artifacts"
mkdir -p "$artifacts"
status=0
ran=0
for entry in "${fuzzers[@]}"; do
  IFS=: read -r name corpus flags <<<"$entry"
  if [[ ${#only[@]} -gt 0 && ! " ${only[*]} " =~ " $name " ]]; then continue; fi
  ran=$((ran + 1))
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  seeds="$repo/fuzz/corpus/$corpus"
  if [[ -d "$seeds" ]]; then cp -r "$seeds/." "$work/"; fi
  echo "run_fuzzers: $name for ${seconds}s ($(ls "$work" | wc -l) seed(s))"
  # shellcheck disable=SC2086 # $flags is a list of flags
  if "$build/fuzz/$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 $flags \
       -print_final_stats=1 -artifact_prefix="$artifacts/$name-" "$work" \
       >"$artifacts/$name.log" 2>&1; then
    echo "run_fuzzers: $name OK: $(grep -E 'stat::number_of_executed_units' "$artifacts/$name.log" | awk '{print $2}') executions"
  else
    status=1
    echo "run_fuzzers: $name FAILED; log: $artifacts/$name.log" >&2
    grep -E "ERROR|SUMMARY|Test unit written|runtime error" "$artifacts/$name.log" | head -20 >&2 || true
  fi
  rm -rf "$work"
  trap - EXIT
done
if [[ $ran -eq 0 ]]; then
  echo "run_fuzzers: no fuzzer named ${only[*]}" >&2
  exit 2
fi
exit "$status"
