#!/usr/bin/env python3
"""Checks what an executable links, from the generated build files.

  check_link_deps.py BUILD_DIR hactl     the operator CLI links no daemon library
  check_link_deps.py --self-test         plants violations in fake build files

hactl may link the control API and what it stands on (hafw_control_api,
hafw_proto, hafw_common, protobuf, fmt, the C/C++ runtime) and nothing of the
daemon: no other hafw_* library (hafw_agent_*, hafw_carp_*, hafw_statesync_*,
hafw_firewall_*, hafw_netlink, hafw_testkit...) and none of the daemon's
third-party libraries (toml++, spdlog, OpenSSL, libsystemd, libmnl, netfilter).
The link line is CMake's complete one, so what a library drags in
transitively is seen too. Reads build.ninja (Ninja generator) or
CMakeFiles/<target>.dir/link.txt (Makefile generators).
Exit status 1 with one line per offending library.
"""
import pathlib
import re
import shlex
import sys
import tempfile

ALLOWED_HAFW = {
    "hactl": {"hafw_control_api", "hafw_proto", "hafw_common"},
}
# Third-party libraries only the daemon has any business with.
DAEMON_ONLY = ("tomlplusplus", "spdlog", "ssl", "crypto", "systemd", "mnl",
               "netfilter_conntrack", "nftables", "nftnl", "boost_")

LIBRARY = re.compile(r"(?:^|/)lib([A-Za-z0-9_+.-]+?)\.(?:a|so(?:\.[0-9.]+)?)$")


def library_names(tokens):
    """Library names ("hafw_common", "spdlog") among link-line tokens."""
    for token in tokens:
        if token.startswith("-l") and len(token) > 2:
            yield token[2:]
            continue
        m = LIBRARY.search(token)
        if m:
            yield m.group(1)


def ninja_link_tokens(build_ninja: pathlib.Path, target: str):
    """Inputs and LINK_LIBRARIES of the link statement that builds `target`."""
    lines = build_ninja.read_text(errors="replace").splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^build (\S+): (\S*EXECUTABLE_LINKER\S*) (.*)$", line)
        if not m or pathlib.PurePosixPath(m.group(1)).name != target:
            continue
        tokens = m.group(3).replace("||", " ").replace("|", " ").split()
        for follow in lines[i + 1:]:
            if not follow.startswith("  "):
                break
            key, _, value = follow.strip().partition(" = ")
            if key == "LINK_LIBRARIES":
                tokens += value.split()
        return tokens
    return None


def make_link_tokens(build_dir: pathlib.Path, target: str):
    for link in build_dir.rglob(f"CMakeFiles/{target}.dir/link.txt"):
        return shlex.split(link.read_text(errors="replace"))
    return None


def violations(build_dir: pathlib.Path, target: str):
    build_ninja = build_dir / "build.ninja"
    tokens = (ninja_link_tokens(build_ninja, target) if build_ninja.exists()
              else make_link_tokens(build_dir, target))
    if tokens is None:
        yield f"{target}: no link statement found in {build_dir} (configure the build first)"
        return
    allowed = ALLOWED_HAFW.get(target, set())
    for name in sorted(set(library_names(tokens))):
        if name.startswith("hafw_") and name not in allowed:
            yield f"{target} links {name}: only {', '.join(sorted(allowed))} of hafw's libraries"
        elif name.startswith(DAEMON_ONLY):
            yield f"{target} links {name}, a library of the daemon"


def self_test() -> int:
    """Each planted link line must give exactly the expected verdict."""
    good = ("haagent/control/libhafw_control_api.a proto/libhafw_proto.a "
            "common/libhafw_common.a /usr/lib/x86_64-linux-gnu/libprotobuf.so "
            "/usr/lib/x86_64-linux-gnu/libfmt.so.9.1.0 -lpthread")
    cases = {
        "good": (good, 0),
        "agent library": (good + " haagent/ops/libhafw_agent_ops.a", 1),
        "carp core": (good + " carp/core/libhafw_carp_core.a", 1),
        "netlink": (good + " netlink/libhafw_netlink.a", 1),
        "spdlog": (good + " /usr/lib/x86_64-linux-gnu/libspdlog.so.1.10.0", 1),
        "openssl and toml++": (good + " /usr/lib/libcrypto.so -ltomlplusplus", 2),
    }
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, (libs, want) in cases.items():
            for generator in ("ninja", "make"):
                root = pathlib.Path(tmp, name.replace(" ", "_"), generator)
                if generator == "ninja":
                    root.mkdir(parents=True)
                    (root / "build.ninja").write_text(
                        "build haagent/cli/hactl: CXX_EXECUTABLE_LINKER__hactl_Release "
                        "haagent/cli/CMakeFiles/hactl.dir/main.cc.o | " + libs + "\n"
                        "  LINK_LIBRARIES = " + libs + "\n")
                else:
                    link = root / "haagent/cli/CMakeFiles/hactl.dir/link.txt"
                    link.parent.mkdir(parents=True)
                    link.write_text("/usr/bin/c++ -O2 CMakeFiles/hactl.dir/main.cc.o -o hactl "
                                    + libs + "\n")
                found = list(violations(root, "hactl"))
                if len(found) != want:
                    failures += 1
                    print(f"self-test {name} ({generator}): want {want} violation(s), got {found}")
        missing = list(violations(pathlib.Path(tmp, "nothing"), "hactl"))
        if len(missing) != 1:
            failures += 1
            print(f"self-test: a build dir without hactl must be an error, got {missing}")
    print(f"link deps self-test: {2 * len(cases) + 1 - failures} of {2 * len(cases) + 1} cases")
    return 1 if failures else 0


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--self-test":
        return self_test()
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    build_dir, target = pathlib.Path(sys.argv[1]), sys.argv[2]
    found = list(violations(build_dir, target))
    for v in found:
        print(v)
    print(f"link deps of {target}: {len(found)} violation(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
