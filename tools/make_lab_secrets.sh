#!/usr/bin/env bash
# make_lab_secrets.sh OUTDIR [CONFIG]
#
# Creates the secrets the example cluster file (etc/hafw.toml, or CONFIG) names
# under /etc/hafw/secrets/ -- vhid passphrases and the sync key, mode 0600 --
# inside OUTDIR, writes a copy of the cluster file with those paths rewritten
# to OUTDIR/hafw.toml, and prints the copy's path. For the lab, the demo and
# the tests; never for production secrets (they are random but written by a
# test helper).
set -euo pipefail

if [[ $# -lt 1 || $# -gt 2 ]]; then
  echo "usage: $0 OUTDIR [CONFIG]" >&2
  exit 2
fi
outdir=$1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
config=${2:-$here/../etc/hafw.toml}
[[ -r $config ]] || { echo "$0: cannot read $config" >&2; exit 1; }

mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)
umask 077

# A passphrase: 16 printable characters (CARP keeps at most 19 bytes).
passphrase() { head -c 12 /dev/urandom | base64 | tr '+/' '-_'; }
# A sync key: 64 hex characters (32 random bytes).
synckey() { head -c 32 /dev/urandom | od -An -tx1 -v | tr -d ' \n'; echo; }

# Every secret the file names under /etc/hafw/secrets/.
grep -oE '"/etc/hafw/secrets/[^"]+"' "$config" | tr -d '"' | sort -u |
  while read -r path; do
    name=${path#/etc/hafw/secrets/}
    target=$outdir/$name
    mkdir -p "$(dirname "$target")"
    if [[ ! -e $target ]]; then
      case $name in
        *.key) synckey >"$target" ;;
        *) passphrase >"$target" ;;
      esac
    fi
    chmod 600 "$target"
  done

sed "s|\"/etc/hafw/secrets/|\"$outdir/|g" "$config" >"$outdir/hafw.toml"
chmod 644 "$outdir/hafw.toml"
echo "$outdir/hafw.toml"
