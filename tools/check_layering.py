#!/usr/bin/env python3
"""Enforces the layering rules of docs/architecture.md on the source tree.

Layers and adapters:
 1. A */core layer includes no Boost, protobuf, libmnl, libnftnl, libnftables or
    libnetfilter_conntrack header, and no */io, */nft, netlink, proto or haagent
    header. OpenSSL is allowed only in carp/core/crypto.cc.
 2. carp and statesync never include each other.
 3. common/ includes nothing from the other layers (nor netlink/ or the test kits).
 4. netlink/ (the libmnl adapter below carp/io, statesync/io, firewall/nft) includes
    only common/ of the project; of the production code only those adapters include it.
 5. The test kits (testing/, */testing/) are for tests: production code (not a
    *_test.cc, not in a testing/ folder, not under tests/, fuzz/ or bench/) never
    includes them.
haagent (the daemon and hactl):
 6. haagent/control (hafw_control_api, shared with hactl) includes nothing from
    carp/, statesync/, firewall/, netlink/ or any other haagent folder, and none of
    the daemon's libraries (toml++, spdlog, OpenSSL, libsystemd, libmnl).
 7. haagent/cli (hactl) includes only haagent/cli, haagent/control, haagent/version.h,
    the generated proto headers and common/ of the project, and none of the daemon's
    libraries (nor Boost).
 8. haagent/config includes no adapter (*/io, */nft, netlink) and no other haagent
    folder; toml++ is included only in haagent/config.
 9. haagent/ops includes no carp/, statesync/, firewall/, netlink/ and no other
    haagent folder.
10. haagent/server includes, of haagent, only control/, server/ and the service
    interfaces (services/service.h, services/demotion.h); no subsystem.
11. haagent/services: the interfaces (service.h, demotion.h) include no subsystem;
    only carp_* files include carp/io, only sync_* files statesync/, only
    firewall_* files firewall/ (carp/core names the demotion groups for all).
12. Only haagent/cli includes haagent/cli; haagent/agent is included only by
    haagent/main.cc.
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
ADAPTER_PREFIXES = ("carp/io/", "statesync/io/", "firewall/nft/", "netlink/", "proto/",
                    "haagent/")
OPENSSL_ALLOWED = {"carp/core/crypto.cc"}
SOURCES = (".h", ".cc", ".hpp", ".cpp")
# Top-level folders of the project: an include starting with one is ours.
PROJECT = ("common/", "carp/", "statesync/", "firewall/", "netlink/", "testing/", "proto/",
           "haagent/", "tests/", "fuzz/", "bench/")
NETLINK_USERS = ("carp/io/", "statesync/io/", "firewall/nft/", "netlink/")
DAEMON_LIBS = ("toml++/", "spdlog/", "openssl/", "systemd/", "libmnl/")
HAAGENT_DIRS = ("config", "control", "ops", "services", "server", "agent", "cli")
SERVICE_INTERFACES = ("haagent/services/service.h", "haagent/services/demotion.h")


def is_test_code(rel: str) -> bool:
    parts = rel.split("/")
    return (parts[0] in ("tests", "fuzz", "bench") or "testing" in parts[:-1]
            or re.search(r"_test\.(cc|h)$", rel) is not None)


def is_test_kit(inc: str) -> bool:
    return inc.startswith("testing/") or "/testing/" in inc


def haagent_dir(path: str):
    """"config" for haagent/config/..., "" for haagent/main.cc, None outside haagent."""
    parts = path.split("/")
    if parts[0] != "haagent":
        return None
    return parts[1] if len(parts) > 2 and parts[1] in HAAGENT_DIRS else ""


def haagent_rules(rel: str, inc: str):
    """Rules 6-12 for one include of one file."""
    here, there = haagent_dir(rel), haagent_dir(inc)
    ours = inc.startswith(PROJECT)
    if there == "cli" and here != "cli":
        yield "only haagent/cli includes haagent/cli"
    if there == "agent" and here not in ("agent", ""):
        yield "haagent/agent is included only by haagent/main.cc"
    if inc.startswith("toml++/") and here != "config":
        yield "toml++ is included only in haagent/config"
    if here == "control":
        allowed = there == "control" or inc == "haagent/version.h" or inc.startswith("common/")
        if (ours and not allowed) or inc.startswith(DAEMON_LIBS):
            yield f"the control API (haagent/control) must not include \"{inc}\""
    elif here == "cli":
        allowed = there in ("cli", "control") or inc == "haagent/version.h" or \
            inc.startswith(("common/", "hafw/"))
        if (ours and not allowed) or inc.startswith(DAEMON_LIBS + ("boost/",)):
            yield f"hactl (haagent/cli) must not include \"{inc}\""
    elif here == "config":
        if inc.startswith(NETLINK_USERS) or (there is not None and there not in ("config", "")):
            yield f"haagent/config must not include \"{inc}\""
    elif here == "ops":
        if inc.startswith(("carp/", "statesync/", "firewall/", "netlink/")) or \
                (there is not None and there not in ("ops", "")):
            yield f"haagent/ops must not include \"{inc}\""
    elif here == "server":
        if inc.startswith(("carp/", "statesync/", "firewall/", "netlink/")) or (
                there is not None and there not in ("control", "server", "")
                and inc not in SERVICE_INTERFACES):
            yield f"haagent/server must not include \"{inc}\""
    elif here == "services":
        name = rel.split("/")[-1]
        if rel in SERVICE_INTERFACES and inc.startswith(("carp/", "statesync/", "firewall/")):
            yield f"the service interfaces must not include \"{inc}\""
        for prefix, owner in (("carp/io/", "carp_"), ("statesync/", "sync_"),
                              ("firewall/", "firewall_")):
            if inc.startswith(prefix) and not name.startswith(owner):
                yield f"only haagent/services/{owner}* files include {prefix}"
        if there in ("server", "agent"):
            yield f"haagent/services must not include \"{inc}\""


def violations(root: pathlib.Path):
    for path in sorted(root.rglob("*")):
        if path.suffix not in SOURCES or not path.is_file():
            continue
        rel = path.relative_to(root).as_posix()
        if rel.startswith(("build", ".")):
            continue
        layer_is_core = "/core/" in f"/{rel}" and rel.split("/")[1] == "core"
        test_code = is_test_code(rel)
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
                    "carp", "statesync", "firewall", "haagent", "proto", "netlink", "tests"):
                yield f"{where}: common must not include other layers"
            if rel.startswith("netlink/") and not test_code and inc.startswith(PROJECT) and \
                    not inc.startswith(("common/", "netlink/")):
                yield f"{where}: netlink includes only common of the project, not \"{inc}\""
            if inc.startswith("netlink/") and not test_code and not layer_is_core and \
                    not rel.startswith(NETLINK_USERS + ("common/",)):
                yield f"{where}: only carp/io, statesync/io and firewall/nft include netlink"
            if is_test_kit(inc) and not test_code:
                yield f"{where}: production code must not include the test kit \"{inc}\""
            for rule in haagent_rules(rel, inc):
                yield f"{where}: {rule}"


def self_test() -> int:
    """Plants violations in a temporary tree: the checker must see each one, and
    nothing in the allowed files planted beside them."""
    import tempfile
    planted = {  # file: (include line, violations expected)
        "carp/core/a.h": ("#include <boost/asio.hpp>", 1),
        "statesync/core/b.cc": ('#include "statesync/io/ctnetlink.h"', 1),
        "carp/core/c.cc": ("#include <openssl/evp.h>", 1),
        "carp/io/d.cc": ('#include "statesync/core/x.h"', 1),
        "common/e.h": ('#include "carp/core/codec.h"', 1),
        "firewall/core/f.h": ("#include <libnftnl/rule.h>", 1),
        # netlink and the test kits
        "carp/core/g.cc": ('#include "netlink/socket.h"', 1),
        "common/h.cc": ('#include "testing/netns_lab.h"', 1),
        "common/h2.cc": ('#include "netlink/socket.h"', 1),
        "netlink/i.cc": ('#include "carp/io/link_monitor.h"', 1),
        "haagent/ops/j.cc": ('#include "netlink/socket.h"', 2),  # netlink, and ops rule
        "carp/io/k.cc": ('#include "testing/pcap_reader.h"', 1),
        "statesync/io/l.cc": ('#include "carp/testing/fake_socket.h"', 2),  # kit, and carp
        # haagent
        "haagent/control/m.cc": ('#include "carp/core/vhost_set.h"', 1),
        "haagent/control/n.cc": ('#include "haagent/ops/logging.h"', 1),
        "haagent/control/o.cc": ("#include <spdlog/spdlog.h>", 1),
        "haagent/cli/p.cc": ('#include "haagent/config/loader.h"', 1),
        "haagent/cli/q.cc": ("#include <toml++/toml.h>", 2),  # hactl, and toml++ outside config
        "haagent/cli/r.cc": ('#include "carp/core/vhost_engine.h"', 1),
        "haagent/config/s.cc": ('#include "carp/io/carp_io.h"', 1),
        "haagent/config/t.cc": ('#include "haagent/ops/hook_runner.h"', 1),
        "haagent/ops/u.cc": ('#include "carp/core/vhost_set.h"', 1),
        "haagent/server/v.cc": ('#include "haagent/services/carp_service.h"', 1),
        "haagent/services/service.h": ('#include "carp/core/vhost_set.h"', 1),
        "haagent/services/maintenance_service.cc": ('#include "carp/io/carp_io.h"', 1),
        "haagent/services/w.cc": ('#include "statesync/io/link.h"', 1),
        "haagent/services/x.cc": ('#include "haagent/agent/agent.h"', 2),  # agent, and services
        "haagent/config/y.cc": ('#include "haagent/cli/commands.h"', 2),  # cli, and config
        # allowed: none of these may be reported
        "carp/core/pcap_test.cc": ('#include "testing/pcap_reader.h"', 0),
        "carp/io/z.cc": ('#include "netlink/socket.h"', 0),
        "netlink/socket_test.cc": ('#include "testing/netns_lab.h"', 0),
        "testing/netns_lab.cc": ('#include "netlink/socket.h"', 0),
        "haagent/cli/main.cc": ('#include "haagent/control/client.h"', 0),
        "haagent/cli/main2.cc": ('#include "haagent/version.h"', 0),
        "haagent/control/json.cc": ("#include <google/protobuf/message.h>", 0),
        "haagent/control/client.h": ('#include "common/result.h"', 0),
        "haagent/config/describe_plan.cc": ('#include "carp/core/election.h"', 0),
        "haagent/config/toml_reader.h": ("#include <toml++/toml.h>", 0),
        "haagent/server/router.cc": ('#include "haagent/services/service.h"', 0),
        "haagent/services/carp_service.cc": ('#include "carp/io/carp_io.h"', 0),
        "haagent/services/sync_service.cc": ('#include "statesync/io/link.h"', 0),
        "haagent/main.cc": ('#include "haagent/agent/agent.h"', 0),
    }
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for rel, (line, _) in planted.items():
            path = pathlib.Path(tmp, rel)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(line + "\n")
        found = list(violations(pathlib.Path(tmp)))
    for rel, (_, want) in planted.items():
        got = [v for v in found if v.startswith(rel + ":")]
        if len(got) != want:
            failures += 1
            print(f"layering self-test: {rel}: want {want} violation(s), got {got}")
    want_total = sum(n for _, n in planted.values())
    print(f"layering self-test: {len(found)} of {want_total} planted violations found, "
          f"{failures} file(s) wrong")
    return 0 if failures == 0 and len(found) == want_total else 1


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
