"""Real ha-agent daemons in the lab: the cluster file (hafwkit.spec), one
agent per firewall namespace, its log, its control socket, and waits on its
state through the control socket (hafwkit.control: one connection per
agent, no process per poll).

    cluster = HafwCluster(lab, paths)            # etc/hafw.toml-like defaults
    cluster.start_all()
    cluster.wait_for_master(vhid=1, node="fw1")
    cluster.vhost("fw2", 1)["state"]

Every agent is a child of this process, started with lab.popen (stopped by
pid at lab teardown); control sockets, secrets, logs and state directories
live in a private temp directory, so parallel labs never collide.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Iterable

from . import pcap, spec as specmod, waits
from .control import AgentUnreachable, ControlClient, socket_alive
from .hactl import Hactl
from .lab import Lab
from .paths import HafwPaths
from .spec import ClusterSpec, SyncSpec, Vhid

START_TIMEOUT = 10.0


class ClusterError(RuntimeError):
    pass


class HafwCluster:
    """The cluster file and the agents of one lab.

    The spec's parts are attributes a test may change before ``start``:
    ``vhids``, ``groups``, ``hooks``, ``sync`` (a SyncSpec or None),
    ``node_extra``, ``passphrase_override[(node, vhid)]``.
    """

    def __init__(self, lab: Lab, paths: HafwPaths, vhids: list[Vhid] | None = None,
                 groups: dict[str, list[str]] | None = None,
                 hooks: dict[str, Any] | None = None, log_level: str = "debug",
                 sync: SyncSpec | None | bool = True,
                 firewalls: Iterable[str] | None = None) -> None:
        self.lab = lab
        self.paths = paths
        self.spec = ClusterSpec(firewalls=list(firewalls or lab.firewalls), vhids=vhids,
                                groups=groups, hooks=dict(hooks or {}),
                                sync=SyncSpec() if sync is True else (sync or None))
        self.log_level = log_level
        self.dir = Path(tempfile.mkdtemp(prefix="hafw-cluster-"))
        os.chmod(self.dir, 0o700)
        # Secrets, logs and sockets go when the process exits (after the lab's
        # teardown stopped the agents); HAFW_KEEP_CLUSTER_DIR=1 keeps them.
        if os.environ.get("HAFW_KEEP_CLUSTER_DIR") != "1":
            atexit.register(shutil.rmtree, self.dir, ignore_errors=True)
        self.secrets = specmod.SecretStore(self.dir)
        self.procs: dict[str, subprocess.Popen] = {}
        self.logs: dict[str, Path] = {}
        self._clients: dict[str, ControlClient] = {}
        lab.add_cleanup(self.close_clients)

    # The spec's parts, as attributes.
    firewalls = property(lambda self: self.spec.firewalls)
    vhids = property(lambda self: self.spec.vhids,
                     lambda self, v: setattr(self.spec, "vhids", v))
    groups = property(lambda self: self.spec.groups,
                      lambda self, v: setattr(self.spec, "groups", v))
    hooks = property(lambda self: self.spec.hooks,
                     lambda self, v: setattr(self.spec, "hooks", v))
    sync = property(lambda self: self.spec.sync,
                    lambda self, v: setattr(self.spec, "sync", v))
    node_extra = property(lambda self: self.spec.node_extra)
    passphrase_override = property(lambda self: self.spec.passphrase_override)

    # --- files --------------------------------------------------------------

    def config_text(self, node: str | None = None) -> str:
        """The cluster file; ``node`` applies that node's passphrase overrides."""
        return specmod.render(self.spec, self.secrets, node)

    def config_path(self, node: str) -> Path:
        path = self.dir / f"{node}.toml"
        path.write_text(self.config_text(node))
        return path

    def socket(self, node: str) -> Path:
        return self.dir / f"{node}.sock"

    def state_dir(self, node: str) -> Path:
        return self.dir / f"{node}-state"

    # --- agents -------------------------------------------------------------

    def check(self, node: str) -> str:
        """``ha-agent --check`` of the node's cluster file; its plan on success."""
        r = subprocess.run([str(self.paths.require(self.paths.ha_agent)), "--config",
                            str(self.config_path(node)), "--node", node, "--check"],
                           capture_output=True, text=True, timeout=10)
        if r.returncode != 0:
            raise ClusterError(f"ha-agent --check for {node} failed:\n{r.stderr}")
        return r.stdout

    def running(self, node: str) -> bool:
        return node in self.procs and self.procs[node].poll() is None

    def start(self, node: str, extra_args: Iterable[str] = ()) -> subprocess.Popen:
        """Starts ha-agent for ``node`` in its namespace and waits until its
        control socket answers a status request."""
        if self.running(node):
            raise ClusterError(f"ha-agent for {node} is already running")
        self._drop_client(node)
        sock = self.socket(node)
        log = self.dir / f"{node}.log"
        self.logs[node] = log
        cmd = [str(self.paths.require(self.paths.ha_agent)), "--config",
               str(self.config_path(node)), "--node", node, "--control-socket", str(sock),
               "--state-dir", str(self.state_dir(node)), "--log-level", self.log_level,
               *extra_args]
        with open(log, "ab") as out:
            proc = self.lab.popen(node, cmd, stdout=out, stderr=subprocess.STDOUT)
        self.procs[node] = proc
        deadline = waits.Deadline(START_TIMEOUT)
        while not deadline.expired:
            if proc.poll() is not None:
                raise ClusterError(f"ha-agent for {node} exited with {proc.returncode}:\n"
                                   + self.log(node))
            if socket_alive(sock):
                try:
                    self.control(node).status()
                    return proc
                except AgentUnreachable:
                    self._drop_client(node)
            time.sleep(waits.DEFAULT_INTERVAL)
        raise ClusterError(f"ha-agent for {node} did not answer on {sock} within "
                           f"{START_TIMEOUT} s:\n" + self.log(node))

    def start_all(self) -> None:
        for fw in self.firewalls:
            self.start(fw)

    def stop(self, node: str, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int:
        """Signals the agent and waits for it to exit; returns its exit status."""
        self._drop_client(node)
        proc = self.procs[node]
        if proc.poll() is None:
            proc.send_signal(sig)
            if sig == signal.SIGTERM:
                try:
                    os.kill(proc.pid, signal.SIGCONT)  # a frozen agent cannot exit
                except ProcessLookupError:
                    pass
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.lab.stop(proc, signal.SIGKILL)
        return proc.returncode

    def freeze(self, node: str) -> None:
        """SIGSTOP: the agent stops reacting (and advertising) at once."""
        self.lab.stop(self.procs[node], signal.SIGSTOP)

    def thaw(self, node: str) -> None:
        self.lab.stop(self.procs[node], signal.SIGCONT)

    def kill_node(self, node: str) -> None:
        """A dead node: every link and the agent fail at the same instant.

        The agent is frozen first (SIGSTOP), so it cannot react to its own
        links going down (a demotion advertised on the surviving link would
        move that vhid early); then every link of the node's namespace goes
        down in one ``ip -batch``; then kill -9.
        """
        links = self.lab.links(node)
        if self.running(node):
            self.freeze(node)
        self.lab.links_down(node, links)
        self.stop(node, signal.SIGKILL)

    def log(self, node: str) -> str:
        path = self.logs.get(node)
        return path.read_text(errors="replace") if path and path.exists() else ""

    def logs_text(self, tail: int = 4000) -> str:
        return "".join(f"\n--- {fw} log ---\n{self.log(fw)[-tail:]}" for fw in self.logs)

    def wait_for_log(self, node: str, text: str, timeout: float = 10.0) -> float:
        """Waits until the agent's log contains ``text``."""
        return waits.wait_until(f"{text!r} in {node}'s log", lambda: text in self.log(node),
                                timeout, interval=0.05, diagnostics=self.logs_text)

    # --- control socket and hactl ------------------------------------------

    def control(self, node: str) -> ControlClient:
        """The node's control-socket client (one connection, reused)."""
        if node not in self._clients:
            self._clients[node] = ControlClient(self.socket(node), self.paths.build_dir)
        return self._clients[node]

    def _drop_client(self, node: str) -> None:
        client = self._clients.pop(node, None)
        if client is not None:
            client.close()

    def close_clients(self) -> None:
        for node in list(self._clients):
            self._drop_client(node)

    def hactl_cli(self, node: str) -> Hactl:
        return Hactl(self.paths.require(self.paths.hactl), self.socket(node),
                     self.paths.build_dir)

    def hactl(self, node: str, *args: str, check: bool = True) -> str:
        """Runs hactl against the node's agent; its stdout."""
        return self.hactl_cli(node).run(*args, check=check).stdout

    def hactl_status(self, node: str) -> dict:
        """`hactl status --json` of the node (parsed, counters as ints)."""
        return self.hactl_cli(node).status_json()

    def status(self, node: str) -> dict:
        """The node's status (control socket) as hactl's JSON shape, numbers as ints."""
        from .control import to_dict
        return to_dict(self.control(node).status())

    def state(self, node: str, vhid: int) -> str | None:
        """MASTER/BACKUP/INIT of a vhid on a node; None when its agent is down."""
        if not self.running(node):
            return None
        try:
            reply = self.control(node).status()
        except AgentUnreachable:
            return None
        for v in reply.vhosts:
            if v.vhid == vhid:
                return v.state
        raise ClusterError(f"{node} has no vhid {vhid}")

    def masters(self, vhid: int) -> list[str]:
        return [fw for fw in self.firewalls if self.state(fw, vhid) == "MASTER"]

    def vhost(self, node: str, vhid: int) -> dict:
        """The status entry of one vhid on a node (counters as ints)."""
        for v in self.status(node)["vhosts"]:
            if v["vhid"] == vhid:
                return v
        raise ClusterError(f"{node} has no vhid {vhid}")

    # --- waits ----------------------------------------------------------------

    def wait_until(self, what: str, predicate: Callable[[], object], timeout: float,
                   interval: float = waits.DEFAULT_INTERVAL) -> float:
        """Polls ``predicate`` until true; returns the seconds it took; on
        timeout fails with the agents' logs."""
        return waits.wait_until(what, predicate, timeout, interval=interval,
                                diagnostics=self.logs_text)

    def wait_for_master(self, vhid: int, node: str, timeout: float = 10.0) -> float:
        return self.wait_until(f"{node} to be the only MASTER of vhid {vhid}",
                               lambda: self.masters(vhid) == [node], timeout)

    def wait_for_state(self, node: str, vhid: int, state: str, timeout: float = 10.0) -> float:
        return self.wait_until(f"vhid {vhid} on {node} to be {state}",
                               lambda: self.state(node, vhid) == state, timeout)

    # --- the lab around the agents --------------------------------------------

    def mac(self, node: str, ifname: str) -> str:
        return self.lab.mac(node, ifname)

    def macs(self) -> dict[str, str]:
        """MAC -> firewall for every lan0/wan0, to tell who sent a captured frame."""
        return {self.mac(fw, ifname): fw for fw in self.firewalls for ifname in ("lan0", "wan0")}

    def capture(self, bridges: Iterable[str] = ("brlan", "brwan"),
                bpf: str = pcap.CARP_FILTER) -> pcap.Capture:
        """Starts capturing CARP, NA and ARP on the lab's bridges (returns once live)."""
        return pcap.capture(self.lab, self.dir, bridges, bpf)

    def vip_holders(self, vip: str, ifname: str) -> list[str]:
        """Firewalls of the cluster that have ``vip`` (bare address) on ``ifname``."""
        return self.lab.holders(vip, ifname, self.firewalls)
