"""Faults on the sync link (or any firewall interface), all undone at lab
teardown (also in an attached lab) or by ``undo()``:

    faults = SyncFaults(lab)
    faults.link_down("fw2")                 # fw2's sync0 down
    loss = faults.loss("fw1", 30)           # 30 % random loss on fw1's sync0, both ways
    block = faults.block("fw1", "fw2")      # fw1 -> fw2 dropped, fw2 -> fw1 passes
    block.dropped()                         # packets the rule dropped so far
    block.undo(); faults.clear()

Drops are nftables rules (``numgen random mod 100 < N drop`` for loss) in
the kit's own table ``inet hafw_faults`` on the node, never the user's.
Neighbour discovery is exempt, so a one-way block stays one-way for IPv6
(ARP is not IP and passes anyway).
"""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING

from . import plan

if TYPE_CHECKING:
    from .lab import Lab

TABLE = "hafw_faults"
_TABLE_TEXT = f"""\
table inet {TABLE} {{
    chain input {{
        type filter hook input priority filter - 10; policy accept;
        icmpv6 type {{ nd-neighbor-solicit, nd-neighbor-advert }} accept
    }}
    chain output {{
        type filter hook output priority filter - 10; policy accept;
        icmpv6 type {{ nd-neighbor-solicit, nd-neighbor-advert }} accept
    }}
}}
"""


@dataclasses.dataclass
class Fault:
    """One active fault; ``undo()`` removes it (idempotent)."""

    faults: "SyncFaults"
    node: str
    kind: str
    # (chain, comment) of each rule, or the interface for a link fault
    rules: list[tuple[str, str]]
    ifname: str = ""
    active: bool = True

    def dropped(self) -> int:
        """Packets dropped so far by this fault's rules (0 for a link fault)."""
        return sum(self.faults._counter(self.node, chain, comment)
                   for chain, comment in self.rules)

    def undo(self) -> None:
        if not self.active:
            return
        self.active = False
        if self.kind == "link-down":
            self.faults.lab.link_up(self.node, self.ifname)
        else:
            for chain, comment in self.rules:
                self.faults._delete_rule(self.node, chain, comment)
        if self in self.faults.active:
            self.faults.active.remove(self)


class SyncFaults:
    """Fault injection on the firewalls' sync link (``ifname``, default sync0)."""

    def __init__(self, lab: "Lab", ifname: str = "sync0") -> None:
        self.lab = lab
        self.ifname = ifname
        self.active: list[Fault] = []
        self._tables: set[str] = set()
        self._seq = 0
        lab.add_cleanup(self.clear)

    # --- faults ---------------------------------------------------------------

    def link_down(self, node: str, ifname: str | None = None) -> Fault:
        ifname = ifname or self.ifname
        self.lab.link_down(node, ifname)
        f = Fault(self, node, "link-down", [], ifname)
        self.active.append(f)
        return f

    def loss(self, node: str, percent: int, direction: str = "both") -> Fault:
        """Drops ``percent`` % of the node's IP packets on the link at random:
        received (direction "in"), sent ("out") or both."""
        if not 0 <= percent <= 100:
            raise ValueError("percent must be 0..100")
        chains = {"in": ["input"], "out": ["output"], "both": ["input", "output"]}[direction]
        rules = [self._add_rule(node, chain, f"numgen random mod 100 < {percent}")
                 for chain in chains]
        return self._track(node, "loss", rules)

    def block(self, src: str, dst: str) -> Fault:
        """One-way block: packets from firewall ``src`` to firewall ``dst`` on the
        link are dropped (at ``src``'s output); ``dst`` -> ``src`` still passes."""
        rules = [self._add_rule(src, "output",
                                f"ip{'' if fam == 4 else '6'} daddr {plan.ip(dst, 'sync', fam)}")
                 for fam in (4, 6)]
        return self._track(src, "block", rules)

    def clear(self) -> None:
        """Undoes every fault and removes the kit's tables."""
        for f in list(self.active):
            try:
                f.undo()
            except Exception:  # noqa: BLE001 - teardown: the table goes anyway
                pass
        self.active.clear()
        for node in list(self._tables):
            self.lab.run(node, ["nft", "delete", "table", "inet", TABLE], check=False)
            self._tables.discard(node)

    # --- nftables ---------------------------------------------------------------

    def _track(self, node: str, kind: str, rules: list[tuple[str, str]]) -> Fault:
        f = Fault(self, node, kind, rules, self.ifname)
        self.active.append(f)
        return f

    def _ensure_table(self, node: str) -> None:
        if node not in self._tables:
            self.lab.run(node, ["nft", "-f", "-"], input=_TABLE_TEXT)
            self._tables.add(node)

    def _add_rule(self, node: str, chain: str, match: str) -> tuple[str, str]:
        self._ensure_table(node)
        self._seq += 1
        comment = f"fault-{self._seq}"
        iface = "iifname" if chain == "input" else "oifname"
        self.lab.run(node, ["nft", "add", "rule", "inet", TABLE, chain, iface,
                            f'"{self.ifname}"', *match.split(), "counter", "drop",
                            "comment", f'"{comment}"'])
        return chain, comment

    def _rules(self, node: str, chain: str) -> list[dict]:
        out = self.lab.run(node, ["nft", "-j", "-a", "list", "chain", "inet", TABLE, chain],
                           check=False).stdout
        if not out:
            return []
        return [i["rule"] for i in json.loads(out).get("nftables", []) if "rule" in i]

    def _counter(self, node: str, chain: str, comment: str) -> int:
        for rule in self._rules(node, chain):
            if rule.get("comment") == comment:
                for expr in rule.get("expr", []):
                    if "counter" in expr:
                        return int(expr["counter"]["packets"])
        return 0

    def _delete_rule(self, node: str, chain: str, comment: str) -> None:
        for rule in self._rules(node, chain):
            if rule.get("comment") == comment:
                self.lab.run(node, ["nft", "delete", "rule", "inet", TABLE, chain,
                                    "handle", str(rule["handle"])])
