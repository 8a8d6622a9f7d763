#!/usr/bin/env bash
# Runs clang-tidy (.clang-tidy at the root) over every hafw source file in the
# compile database of BUILD_DIR (default ./build) and fails on any warning.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
[[ -f $build/compile_commands.json ]] || {
  echo "run_clang_tidy: $build/compile_commands.json missing (configure first)" >&2
  exit 2
}
mapfile -t files < <(/usr/bin/python3 - "$build/compile_commands.json" "$root" <<'PY'
import json, sys, os
db, root = sys.argv[1], sys.argv[2]
seen = set()
for entry in json.load(open(db)):
    f = os.path.realpath(os.path.join(entry["directory"], entry["file"]))
    rel = os.path.relpath(f, root)
    # Our own sources only: not generated protobuf code, not the fuzz build.
    if rel.startswith(("build", "..")) or rel in seen:
        continue
    seen.add(rel)
    print(rel)
PY
)
cd "$root"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
printf '%s\n' "${files[@]}" |
  xargs -P "$(nproc)" -n 4 clang-tidy -p "$build" --quiet 2>/dev/null >"$out" || true
warnings=$(grep -cE '(warning|error):' "$out" || true)
grep -E -A3 '(warning|error):' "$out" | head -200 || true
echo "clang-tidy: ${#files[@]} files, $warnings warning(s)"
[[ $warnings -eq 0 ]]
