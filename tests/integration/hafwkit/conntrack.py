"""Conntrack tables as normalized records: snapshots per namespace and diffs
between namespaces (did state sync copy fw1's table to fw2?).

``parse_entries(text)`` reads ``conntrack -L -o extended`` output (also the
lines of ``conntrack -E -o extended``, without their [NEW] prefix), and
``parse_expectations(text)`` ``conntrack -L expect``. A ``CtEntry`` has the
family, protocol, original and reply tuples, NAT (derived from them), TCP
state, status flags, mark, zone, labels, helper and the timeout; the timeout
is kept but never compared. ``diff(a, b)`` pairs entries by their identity
(family, protocol, original tuple, zone) and returns what is only in a,
only in b, and what differs in the compared fields. 10,000 entries parse
and diff in well under a second.
"""

from __future__ import annotations

import atexit
import dataclasses
import shutil
import signal
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Sequence

if TYPE_CHECKING:
    from .lab import Lab

_FAMILY = {"ipv4": 4, "ipv6": 6}
# Keys that belong to a tuple (ICMP: type/code/id; GRE: keys; SCTP: vtag).
_TUPLE_KEYS = {"src", "dst", "sport", "dport", "type", "code", "id", "srckey", "dstkey",
               "vtag", "zone-orig", "zone-reply"}
# Fields of CtEntry that diff compares by default (never the timeout).
COMPARED = ("reply", "state", "flags", "mark", "labels", "helper")


@dataclasses.dataclass(frozen=True)
class CtTuple:
    src: str
    dst: str
    sport: int | None = None
    dport: int | None = None
    extra: tuple[tuple[str, str], ...] = ()  # ICMP type/code/id, GRE keys, ...

    def __str__(self) -> str:
        ports = f" {self.sport}->{self.dport}" if self.sport is not None else ""
        extra = "".join(f" {k}={v}" for k, v in self.extra)
        return f"{self.src}->{self.dst}{ports}{extra}"


@dataclasses.dataclass(frozen=True)
class Nat:
    """Address translation seen in an entry's tuples (None: not translated)."""

    snat: tuple[str, int | None] | None = None  # what the source became
    dnat: tuple[str, int | None] | None = None  # what the destination became


@dataclasses.dataclass(frozen=True)
class CtEntry:
    family: int            # 4 or 6
    proto: str             # "tcp", "udp", "icmp", "ipv6-icmp", "unknown", ...
    protonum: int
    orig: CtTuple
    reply: CtTuple
    state: str | None = None            # TCP (also SCTP/DCCP) state
    flags: frozenset[str] = frozenset()  # ASSURED, UNREPLIED, OFFLOAD, ...
    mark: int = 0
    zone: int = 0
    labels: frozenset[str] = frozenset()
    helper: str | None = None
    timeout: int | None = dataclasses.field(default=None, compare=False)
    other: tuple[tuple[str, str], ...] = dataclasses.field(default=(), compare=False)

    @property
    def key(self) -> tuple:
        """Identity of the connection: what a peer's copy must share."""
        return (self.family, self.protonum, self.orig, self.zone)

    @property
    def nat(self) -> Nat:
        o, r = self.orig, self.reply
        snat = (r.dst, r.dport) if (r.dst, r.dport) != (o.src, o.sport) else None
        dnat = (r.src, r.sport) if (r.src, r.sport) != (o.dst, o.dport) else None
        return Nat(snat, dnat)

    def __str__(self) -> str:
        state = f" {self.state}" if self.state else ""
        return f"ipv{self.family} {self.proto}{state} {self.orig} | reply {self.reply}"


@dataclasses.dataclass(frozen=True)
class Expectation:
    """One ``conntrack -L expect`` line: what a helper expects to see next."""

    timeout: int = dataclasses.field(compare=False)
    protonum: int
    tuple: CtTuple
    mask: CtTuple
    master: CtTuple
    helper: str | None
    cls: int = 0
    other: tuple[tuple[str, str], ...] = dataclasses.field(default=(), compare=False)


def _tuple(fields: list[tuple[str, str]]) -> CtTuple:
    d = dict(fields)
    sport, dport = d.get("sport"), d.get("dport")
    extra = tuple((k, v) for k, v in fields if k not in ("src", "dst", "sport", "dport"))
    return CtTuple(d.get("src", ""), d.get("dst", ""),
                   int(sport) if sport is not None else None,
                   int(dport) if dport is not None else None, extra)


def parse_entry(line: str) -> CtEntry | None:
    """One ``-o extended`` line (an optional leading ``[NEW]``-style event tag is
    skipped); None for lines that are not entries."""
    tokens = line.split()
    while tokens and tokens[0].startswith("[") and tokens[0].endswith("]"):
        tokens.pop(0)  # -E event type
    if len(tokens) < 6 or tokens[0] not in _FAMILY:
        return None
    family, proto, protonum = _FAMILY[tokens[0]], tokens[2], int(tokens[3])
    rest = tokens[4:]
    timeout = None
    if rest and rest[0].isdigit():
        timeout = int(rest.pop(0))
    state = None
    if rest and "=" not in rest[0] and not rest[0].startswith("["):
        state = rest.pop(0)
    tuples: list[list[tuple[str, str]]] = []
    flags: set[str] = set()
    meta: dict[str, str] = {}
    for tok in rest:
        if tok.startswith("[") and tok.endswith("]"):
            flags.add(tok[1:-1])
            continue
        k, sep, v = tok.partition("=")
        if not sep:
            continue
        if k == "src" and len(tuples) < 2:
            tuples.append([])
        if k in _TUPLE_KEYS and tuples and len(meta) == 0:
            tuples[-1].append((k, v))
        else:
            meta[k] = v
    if len(tuples) != 2:
        return None
    labels = frozenset(x for x in meta.pop("labels", "").split(",") if x)
    helper = meta.pop("helper", None)
    mark = int(meta.pop("mark", "0"), 0)
    zone = int(meta.pop("zone", "0"))
    meta.pop("use", None)
    return CtEntry(family, proto, protonum, _tuple(tuples[0]), _tuple(tuples[1]), state,
                   frozenset(flags), mark, zone, labels, helper, timeout,
                   tuple(sorted(meta.items())))


def parse_entries(text: str) -> list[CtEntry]:
    return [e for e in map(parse_entry, text.splitlines()) if e is not None]


def parse_expectation(line: str) -> Expectation | None:
    tokens = line.split()
    if not tokens or not tokens[0].isdigit():
        return None
    timeout = int(tokens[0])
    groups: dict[str, list[tuple[str, str]]] = {"tuple": [], "mask": [], "master": []}
    current = "tuple"
    meta: dict[str, str] = {}
    for tok in tokens[1:]:
        k, sep, v = tok.partition("=")
        if not sep:
            continue
        if k.startswith("mask-"):
            current, k = "mask", k[5:]
        elif k.startswith("master-"):
            current, k = "master", k[7:]
        if k in ("src", "dst", "sport", "dport"):
            groups[current].append((k, v))
        else:
            meta[k] = v
    return Expectation(timeout, int(meta.pop("proto", "0")), _tuple(groups["tuple"]),
                       _tuple(groups["mask"]), _tuple(groups["master"]), meta.pop("helper", None),
                       int(meta.pop("class", "0")), tuple(sorted(meta.items())))


def parse_expectations(text: str) -> list[Expectation]:
    return [e for e in map(parse_expectation, text.splitlines()) if e is not None]


@dataclasses.dataclass
class Snapshot:
    """A node's table at one moment: entries, optionally expectations."""

    node: str
    entries: list[CtEntry]
    expectations: list[Expectation] = dataclasses.field(default_factory=list)

    def __len__(self) -> int:
        return len(self.entries)

    def by_key(self) -> dict[tuple, CtEntry]:
        return {e.key: e for e in self.entries}

    def filter(self, proto: str | None = None, dport: int | None = None,
               family: int | None = None) -> "Snapshot":
        """Entries of one protocol / original destination port / family."""
        return Snapshot(self.node, [
            e for e in self.entries
            if (proto is None or e.proto == proto) and (dport is None or e.orig.dport == dport)
            and (family is None or e.family == family)], self.expectations)


_label_dir: Path | None = None


def conntrack_command(args: Sequence[str]) -> list[str]:
    """``conntrack ARGS`` that also prints connection labels, as bit numbers.

    conntrack names labels through /etc/xtables/connlabel.conf and prints none
    without it; in a private mount namespace (nothing outside changes) it sees
    a file of ours naming bit N "N".
    """
    global _label_dir
    if not Path("/etc/xtables").is_dir():
        return ["conntrack", *args]
    if _label_dir is None:
        _label_dir = Path(tempfile.mkdtemp(prefix="hafw-connlabel-"))
        (_label_dir / "connlabel.conf").write_text("".join(f"{i} {i}\n" for i in range(128)))
        atexit.register(shutil.rmtree, _label_dir, ignore_errors=True)
    return ["unshare", "--mount", "sh", "-c",
            'mount --bind "$0" /etc/xtables && exec conntrack "$@"', str(_label_dir), *args]


def snapshot(lab: "Lab", node: str, expectations: bool = False,
             args: Sequence[str] = (), timeout: float = 60.0) -> Snapshot:
    """``conntrack -L -o extended,labels`` (every family) of a node, parsed.

    ``args`` filter in conntrack itself (e.g. ["-p", "tcp", "--dport", "5003"]).
    """
    out = lab.run(node, conntrack_command(["-L", "-o", "extended,labels", *args]),
                  timeout=timeout).stdout
    exp: list[Expectation] = []
    if expectations:
        exp = parse_expectations(lab.run(node, ["conntrack", "-L", "expect"]).stdout)
    return Snapshot(node, parse_entries(out), exp)


def expectations(lab: "Lab", node: str) -> list[Expectation]:
    return parse_expectations(lab.run(node, ["conntrack", "-L", "expect"]).stdout)


@dataclasses.dataclass
class CtDiff:
    only_a: list[CtEntry]
    only_b: list[CtEntry]
    differing: list[tuple[CtEntry, CtEntry, tuple[str, ...]]]  # (a, b, fields that differ)

    def __bool__(self) -> bool:
        return bool(self.only_a or self.only_b or self.differing)

    @property
    def empty(self) -> bool:
        return not self

    def summary(self, limit: int = 10) -> str:
        lines = [f"only in a: {len(self.only_a)}, only in b: {len(self.only_b)}, "
                 f"differing: {len(self.differing)}"]
        lines += [f"  - {e}" for e in self.only_a[:limit]]
        lines += [f"  + {e}" for e in self.only_b[:limit]]
        for a, b, fields in self.differing[:limit]:
            lines.append(f"  ~ {a.orig}: " + ", ".join(
                f"{f} {getattr(a, f)!r} != {getattr(b, f)!r}" for f in fields))
        return "\n".join(lines)


def _entries(x: Snapshot | Iterable[CtEntry]) -> Iterable[CtEntry]:
    return x.entries if isinstance(x, Snapshot) else x


def diff(a: Snapshot | Iterable[CtEntry], b: Snapshot | Iterable[CtEntry],
         fields: Sequence[str] = COMPARED) -> CtDiff:
    """What differs between two tables; entries pair up by ``CtEntry.key``."""
    ka = {e.key: e for e in _entries(a)}
    kb = {e.key: e for e in _entries(b)}
    only_a = [e for k, e in ka.items() if k not in kb]
    only_b = [e for k, e in kb.items() if k not in ka]
    differing = []
    for k, ea in ka.items():
        eb = kb.get(k)
        if eb is None:
            continue
        bad = tuple(f for f in fields if getattr(ea, f) != getattr(eb, f))
        if bad:
            differing.append((ea, eb, bad))
    return CtDiff(only_a, only_b, differing)


class EventWatch:
    """``conntrack -E -o extended`` in a node, read by a thread so the pipe never
    fills; ``stop()`` returns the (event, entry) pairs, event "NEW", "UPDATE"
    or "DESTROY". ``args`` filter in conntrack (e.g. ["-p", "tcp", "-e", "NEW"]).
    Under a flood the kernel may still drop events (conntrack reports ENOBUFS)."""

    def __init__(self, lab: "Lab", node: str, args: Sequence[str] = ()) -> None:
        self.lab = lab
        self.proc = lab.popen(node, ["stdbuf", "-oL", *conntrack_command([
            "-E", "-o", "extended,labels", "--buffer-size", str(8 << 20), *args])],
                              stdout=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    def count(self, event: str | None = None) -> int:
        """Events so far (of one type), without stopping."""
        return sum(1 for line in list(self.lines)
                   if event is None or line.lstrip().startswith(f"[{event}]"))

    def stop(self) -> list[tuple[str, CtEntry]]:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self._reader.join(timeout=5)
        self.lab.stop(self.proc)
        events = []
        for line in self.lines:
            entry = parse_entry(line)
            if entry is not None:
                events.append((line.split()[0].strip("[]"), entry))
        return events
