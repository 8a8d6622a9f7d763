"""Runs real ha-agent daemons in the namespace lab: the cluster file, secrets,
one agent per firewall namespace, and hactl to ask each one for its status.

Used by the integration tests, the demo (tools/demo.py) and the failover
benchmark (bench/failover). Every agent is a child of this process, started
with lab.popen (stopped by pid at lab teardown); control sockets and state
directories live in a private temp directory, so parallel labs never collide.

    cluster = HafwCluster(lab, paths)            # etc/hafw.toml-like defaults
    cluster.start_all()
    cluster.wait_for_master(vhid=1, node="fw1")
    cluster.status("fw2")["vhosts"][0]["state"]
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterable

import lab as labmod

# How often a waiting loop polls; every wait is bounded by its own timeout.
POLL_INTERVAL = 0.02


class ClusterError(RuntimeError):
    pass


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


def default_vhids(firewalls: Iterable[str], ipv6: bool = True) -> list[Vhid]:
    """The lab's two vhids: LAN (1) and WAN (2), fw1 best, then fw2, fw3."""
    skews = {fw: 100 * i for i, fw in enumerate(firewalls)}
    lan = [f"{labmod.LAN_VIP4}/24"] + ([f"{labmod.LAN_VIP6}/64"] if ipv6 else [])
    wan = [f"{labmod.WAN_VIP4}/24"] + ([f"{labmod.WAN_VIP6}/64"] if ipv6 else [])
    return [Vhid(1, "lan0", lan, dict(skews)), Vhid(2, "wan0", wan, dict(skews))]


def _toml_str(s: str) -> str:
    return json.dumps(s)  # a JSON string is a valid TOML basic string


def _toml_list(items: Iterable[str]) -> str:
    return "[" + ", ".join(_toml_str(i) for i in items) + "]"


class HafwCluster:
    """The cluster file and the agents of one lab."""

    def __init__(self, lab: labmod.Lab, paths, vhids: list[Vhid] | None = None,
                 groups: dict[str, list[str]] | None = None,
                 hooks: dict[str, str] | None = None, log_level: str = "debug") -> None:
        self.lab = lab
        self.paths = paths
        self.firewalls = list(lab.firewalls)
        self.vhids = vhids if vhids is not None else default_vhids(self.firewalls)
        self.groups = groups if groups is not None else {"edge": ["lan0", "wan0"]}
        self.hooks = hooks or {}
        self.log_level = log_level
        self.dir = Path(tempfile.mkdtemp(prefix="hafw-cluster-"))
        os.chmod(self.dir, 0o700)
        self.procs: dict[str, subprocess.Popen] = {}
        self.logs: dict[str, Path] = {}
        # A node-specific passphrase override (the wrong-passphrase test).
        self.passphrase_override: dict[tuple[str, int], str] = {}
        self._sync_key = secrets.token_hex(32)
        self._passphrases = {v.vhid: (v.passphrase or secrets.token_hex(8)) for v in self.vhids}

    # --- files --------------------------------------------------------------

    def _secret(self, name: str, value: str) -> Path:
        path = self.dir / name
        path.write_text(value + "\n")
        os.chmod(path, 0o600)
        return path

    def config_text(self, node: str | None = None) -> str:
        """The cluster file; `node` applies that node's passphrase overrides."""
        lines = ["# written by tests/integration/hafw_cluster.py", ""]
        for i, fw in enumerate(self.firewalls):
            lines += ["[[node]]", f"name = {_toml_str(fw)}",
                      f"sync_address = {_toml_str(labmod.Lab.ip(fw, 'sync', 4))}", ""]
        if self.groups:
            lines.append("[groups]")
            for name, members in self.groups.items():
                lines.append(f"{name} = {_toml_list(members)}")
            lines.append("")
        for v in self.vhids:
            passphrase = self.passphrase_override.get((node or "", v.vhid),
                                                      self._passphrases[v.vhid])
            suffix = f"-{node}" if (node or "", v.vhid) in self.passphrase_override else ""
            pass_file = self._secret(f"vhid{v.vhid}{suffix}.pass", passphrase)
            skews = ", ".join(f"{n} = {s}" for n, s in v.advskew.items())
            lines += ["[[vhid]]", f"vhid = {v.vhid}", f"interface = {_toml_str(v.interface)}",
                      f"vips = {_toml_list(v.vips)}",
                      f"passphrase_file = {_toml_str(str(pass_file))}",
                      f"advbase = {v.advbase}", f"advskew = {{ {skews} }}",
                      f"preempt = {'true' if v.preempt else 'false'}",
                      f"master_down = {_toml_str(v.master_down)}",
                      f"demote_raises_advskew = {'true' if v.demote_raises_advskew else 'false'}",
                      f"vmac = {'true' if v.vmac else 'false'}"]
            if v.unicast_peer:
                peers = ", ".join(f"{n} = {_toml_list(a)}" for n, a in v.unicast_peer.items())
                lines.append(f"unicast_peer = {{ {peers} }}")
            lines.append("")
        key = self._secret("sync.key", self._sync_key)
        lines += ["[sync]", 'interface = "sync0"', "port = 7788",
                  f"key_file = {_toml_str(str(key))}", ""]
        if self.hooks:
            lines.append("[hooks]")
            for key, value in self.hooks.items():
                lines.append(f"{key} = {_toml_str(value) if isinstance(value, str) else value}")
            lines.append("")
        return "\n".join(lines)

    def config_path(self, node: str) -> Path:
        path = self.dir / f"{node}.toml"
        path.write_text(self.config_text(node))
        return path

    def socket(self, node: str) -> Path:
        return self.dir / f"{node}.sock"

    # --- agents -------------------------------------------------------------

    def check(self, node: str) -> str:
        r = subprocess.run([str(self.paths.ha_agent), "--config", str(self.config_path(node)),
                            "--node", node, "--check"], capture_output=True, text=True,
                           timeout=10)
        if r.returncode != 0:
            raise ClusterError(f"ha-agent --check for {node} failed:\n{r.stderr}")
        return r.stdout

    def start(self, node: str, extra_args: Iterable[str] = ()) -> subprocess.Popen:
        """Starts ha-agent for `node` in its namespace and waits for its socket."""
        if node in self.procs and self.procs[node].poll() is None:
            raise ClusterError(f"ha-agent for {node} is already running")
        sock = self.socket(node)
        state_dir = self.dir / f"{node}-state"
        log = self.dir / f"{node}.log"
        self.logs[node] = log
        cmd = [str(self.paths.require(self.paths.ha_agent)), "--config",
               str(self.config_path(node)), "--node", node, "--control-socket", str(sock),
               "--state-dir", str(state_dir), "--log-level", self.log_level, *extra_args]
        out = open(log, "ab")
        proc = self.lab.popen(node, cmd, stdout=out, stderr=subprocess.STDOUT)
        out.close()
        self.procs[node] = proc
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise ClusterError(f"ha-agent for {node} exited with {proc.returncode}:\n"
                                   + self.log(node))
            if sock.exists() and self._hactl(node, ["status", "--json"], check=False)[0] == 0:
                return proc
            time.sleep(POLL_INTERVAL)
        raise ClusterError(f"ha-agent for {node} did not open {sock} within 10 s:\n"
                           + self.log(node))

    def start_all(self) -> None:
        for fw in self.firewalls:
            self.start(fw)

    def stop(self, node: str, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int:
        """Signals the agent and waits for it to exit; returns its exit status."""
        proc = self.procs[node]
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.lab.stop(proc, signal.SIGKILL)
        return proc.returncode

    def kill_node(self, node: str) -> None:
        """A dead node: links down first (nothing leaves it any more), then kill -9."""
        for ifname in ("lan0", "wan0", "sync0"):
            self.lab.link_down(node, ifname)
        self.stop(node, signal.SIGKILL)

    def log(self, node: str) -> str:
        path = self.logs.get(node)
        return path.read_text(errors="replace") if path and path.exists() else ""

    # --- hactl --------------------------------------------------------------

    def _hactl(self, node: str, args: list[str], check: bool = True) -> tuple[int, str, str]:
        r = subprocess.run([str(self.paths.hactl), "--socket", str(self.socket(node)), *args],
                           capture_output=True, text=True, timeout=15)
        if check and r.returncode != 0:
            raise ClusterError(f"hactl {' '.join(args)} on {node} exited {r.returncode}: "
                               f"{r.stderr.strip()}")
        return r.returncode, r.stdout, r.stderr

    def hactl(self, node: str, *args: str, check: bool = True) -> str:
        return self._hactl(node, list(args), check)[1]

    def status(self, node: str) -> dict:
        return json.loads(self.hactl(node, "status", "--json"))

    def state(self, node: str, vhid: int) -> str | None:
        """MASTER/BACKUP/INIT of a vhid on a node; None when its agent is down."""
        if node not in self.procs or self.procs[node].poll() is not None:
            return None
        code, out, _ = self._hactl(node, ["status", "--json"], check=False)
        if code != 0:
            return None
        for v in json.loads(out)["vhosts"]:
            if v["vhid"] == vhid:
                return v["state"]
        raise ClusterError(f"{node} has no vhid {vhid}")

    def masters(self, vhid: int) -> list[str]:
        return [fw for fw in self.firewalls if self.state(fw, vhid) == "MASTER"]

    def wait_until(self, what: str, predicate: Callable[[], bool], timeout: float) -> float:
        """Polls `predicate` until true; returns the seconds it took, fails on timeout."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if predicate():
                return time.monotonic() - start
            time.sleep(POLL_INTERVAL)
        raise ClusterError(f"timed out after {timeout} s waiting for {what}\n" + self.logs_text())

    def wait_for_master(self, vhid: int, node: str, timeout: float = 10.0) -> float:
        return self.wait_until(f"{node} to be the only MASTER of vhid {vhid}",
                               lambda: self.masters(vhid) == [node], timeout)

    def vip_holders(self, vip: str, ifname: str) -> list[str]:
        """Firewalls that have `vip` (bare address) on `ifname`."""
        return [fw for fw in self.firewalls
                if any(a.split("/")[0] == vip for a in self.lab.addresses(fw, ifname))]

    def logs_text(self) -> str:
        return "".join(f"\n--- {fw} log ---\n{self.log(fw)[-4000:]}" for fw in self.logs)
