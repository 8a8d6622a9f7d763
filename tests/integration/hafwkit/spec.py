"""The cluster file: what a test wants (nodes, vhids, groups, hooks, the
``[sync]`` section) and its TOML rendering (docs/configuration.md).

    spec = ClusterSpec(firewalls=["fw1", "fw2"])          # the lab's defaults
    spec.sync.extra["bulk_timeout_seconds"] = 30           # keys sync adds later
    text = render(spec, secrets=SecretStore(tmpdir))

Secrets (passphrases, the sync key) are written by a SecretStore as 0600
files; a fixed ``Vhid.passphrase`` or ``SyncSpec.key`` is used as given.
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets as _secrets
from pathlib import Path
from typing import Any, Iterable, Mapping

from . import plan


@dataclasses.dataclass
class Vhid:
    """One [[vhid]] table. advskew maps node -> skew; VIPs as "addr/len"."""

    vhid: int
    interface: str
    vips: list[str]
    advskew: dict[str, int]
    advbase: int = 1
    preempt: bool = True
    master_down: str = "classic"
    demote_raises_advskew: bool = False
    vmac: bool = False
    passphrase: str = ""  # empty: a random one, shared by every node
    unicast_peer: dict[str, list[str]] | None = None
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)  # more keys, as given


@dataclasses.dataclass
class SyncSpec:
    """The [sync] section. ``key_file`` None: a random key in the SecretStore.
    ``extra``: further keys (state sync will add some), rendered as given."""

    interface: str = "sync0"
    port: int = plan.SYNC_PORT
    key_file: Path | None = None
    key: str = ""  # used for the generated key file when key_file is None
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)


def default_vhids(firewalls: Iterable[str], ipv6: bool = True) -> list[Vhid]:
    """The lab's two vhids: LAN (1) and WAN (2), fw1 best, then fw2, fw3."""
    skews = {fw: 100 * i for i, fw in enumerate(firewalls)}
    lan = [f"{plan.LAN_VIP4}/24"] + ([f"{plan.LAN_VIP6}/64"] if ipv6 else [])
    wan = [f"{plan.WAN_VIP4}/24"] + ([f"{plan.WAN_VIP6}/64"] if ipv6 else [])
    return [Vhid(1, "lan0", lan, dict(skews)), Vhid(2, "wan0", wan, dict(skews))]


@dataclasses.dataclass
class ClusterSpec:
    """Everything the cluster file says. ``sync`` None leaves out [sync] and
    the nodes' sync_address. ``node_extra[node]`` adds keys to that [[node]]."""

    firewalls: list[str]
    vhids: list[Vhid] | None = None
    groups: dict[str, list[str]] | None = None
    hooks: dict[str, Any] = dataclasses.field(default_factory=dict)
    sync: SyncSpec | None = dataclasses.field(default_factory=SyncSpec)
    node_extra: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    # (node, vhid) -> passphrase that node uses instead (wrong-passphrase tests)
    passphrase_override: dict[tuple[str, int], str] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.vhids is None:
            self.vhids = default_vhids(self.firewalls)
        if self.groups is None:
            self.groups = {"edge": ["lan0", "wan0"]}


class SecretStore:
    """Secret files (mode 0600) in a private directory; random values are drawn
    once per name, so every node's file of a cluster holds the same secret."""

    def __init__(self, directory: Path) -> None:
        self.dir = Path(directory)
        self._values: dict[str, str] = {}

    def value(self, name: str, given: str = "", nbytes: int = 16) -> str:
        if name not in self._values:
            self._values[name] = given or _secrets.token_hex(nbytes)
        return self._values[name]

    def file(self, name: str, value: str) -> Path:
        path = self.dir / name
        path.write_text(value + "\n")
        os.chmod(path, 0o600)
        return path


def toml_value(value: Any) -> str:
    """A Python value as TOML: str/Path, bool, int, float, list, dict (inline table)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (str, Path)):
        return json.dumps(str(value))  # a JSON string is a valid TOML basic string
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML rendering for {value!r}")


def _table(lines: list[str], header: str, items: Mapping[str, Any]) -> None:
    lines.append(header)
    lines.extend(f"{k} = {toml_value(v)}" for k, v in items.items() if v is not None)
    lines.append("")


def render(spec: ClusterSpec, secrets: SecretStore, node: str | None = None) -> str:
    """The cluster file; ``node`` applies that node's passphrase overrides."""
    lines = ["# written by tests/integration/hafwkit/spec.py", ""]
    for fw in spec.firewalls:
        entry: dict[str, Any] = {"name": fw}
        if spec.sync is not None:
            entry["sync_address"] = plan.ip(fw, "sync", 4)
        entry.update(spec.node_extra.get(fw, {}))
        _table(lines, "[[node]]", entry)
    if spec.groups:
        _table(lines, "[groups]", spec.groups)
    for v in spec.vhids or []:
        override = spec.passphrase_override.get((node or "", v.vhid))
        if override is not None:
            pass_file = secrets.file(f"vhid{v.vhid}-{node}.pass", override)
        else:
            pass_file = secrets.file(f"vhid{v.vhid}.pass",
                                     secrets.value(f"vhid{v.vhid}", v.passphrase, 8))
        items: dict[str, Any] = {
            "vhid": v.vhid, "interface": v.interface, "vips": v.vips,
            "passphrase_file": pass_file, "advbase": v.advbase, "advskew": v.advskew,
            "preempt": v.preempt, "master_down": v.master_down,
            "demote_raises_advskew": v.demote_raises_advskew, "vmac": v.vmac,
            "unicast_peer": v.unicast_peer or None, **v.extra}
        _table(lines, "[[vhid]]", items)
    if spec.sync is not None:
        s = spec.sync
        key_file = s.key_file or secrets.file("sync.key", secrets.value("sync", s.key, 32))
        _table(lines, "[sync]", {"interface": s.interface, "port": s.port,
                                 "key_file": key_file, **s.extra})
    if spec.hooks:
        _table(lines, "[hooks]", spec.hooks)
    return "\n".join(lines)
