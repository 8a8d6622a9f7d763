#!/usr/bin/env python3
"""Enforces the layering rules of docs/architecture.md on the source tree.

1. A */core layer includes no Boost, protobuf, libmnl, libnftnl, libnftables or
   libnetfilter_conntrack header, and no */io, */nft, proto or haagent header.
   OpenSSL is allowed only in carp/core/crypto.cc.
2. carp and statesync never include each other.
3. common/ includes nothing from the other layers.
Exit status 1 with one "file:line: rule" line per violation.
"""
import pathlib
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]')
THIRD_PARTY_IN_CORE = (
    "boost/", "google/protobuf", "libmnl/", "libnftnl/", "nftables/",
    "libnetfilter_conntrack/", "linux/netlink.h", "linux/rtnetlink.h",
)
ADAPTER_PREFIXES = ("carp/io/", "statesync/io/", "firewall/nft/", "proto/", "haagent/")
OPENSSL_ALLOWED = {"carp/core/crypto.cc"}
SOURCES = (".h", ".cc", ".hpp", ".cpp")


def violations(root: pathlib.Path):
    for path in sorted(root.rglob("*")):
        if path.suffix not in SOURCES or not path.is_file():
            continue
        rel = path.relative_to(root).as_posix()
        if rel.startswith(("build", ".")):
            continue
        layer_is_core = "/core/" in f"/{rel}" and rel.split("/")[1] == "core"
        for lineno, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            inc = m.group(1)
            where = f"{rel}:{lineno}"
            if layer_is_core:
                if inc.startswith(THIRD_PARTY_IN_CORE):
                    yield f"{where}: core layer includes third-party header <{inc}>"
                if inc.startswith(ADAPTER_PREFIXES):
                    yield f"{where}: core layer includes adapter header \"{inc}\""
                if inc.startswith("openssl/") and rel not in OPENSSL_ALLOWED:
                    yield f"{where}: OpenSSL is only allowed in carp/core/crypto.cc"
            if rel.startswith("carp/") and inc.startswith("statesync/"):
                yield f"{where}: carp must not include statesync"
            if rel.startswith("statesync/") and inc.startswith("carp/"):
                yield f"{where}: statesync must not include carp"
            if rel.startswith("common/") and inc.split("/")[0] in (
                    "carp", "statesync", "firewall", "haagent", "proto"):
                yield f"{where}: common must not include other layers"


def self_test() -> int:
    """Plants one violation of each rule in a temporary tree: the checker must see all."""
    import tempfile
    planted = {
        "carp/core/a.h": "#include <boost/asio.hpp>",
        "statesync/core/b.cc": '#include "statesync/io/ctnetlink.h"',
        "carp/core/c.cc": "#include <openssl/evp.h>",
        "carp/io/d.cc": '#include "statesync/core/x.h"',
        "common/e.h": '#include "carp/core/codec.h"',
        "firewall/core/f.h": "#include <libnftnl/rule.h>",
    }
    with tempfile.TemporaryDirectory() as tmp:
        for rel, line in planted.items():
            path = pathlib.Path(tmp, rel)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(line + "\n")
        found = list(violations(pathlib.Path(tmp)))
    ok = len(found) == len(planted)
    print(f"layering self-test: {len(found)} of {len(planted)} planted violations found")
    return 0 if ok else 1


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--self-test":
        return self_test()
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    found = list(violations(root))
    for v in found:
        print(v)
    print(f"layering: {len(found)} violation(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
