"""Real peers from Debian, each started in a lab namespace, configured by a
file (or arguments) rendered here, and stopped by its pid:

  * ``Ucarp``: one ucarp process (one vhid, one IPv4 VIP), with up/down
    scripts that add/remove the VIP and log each event to a file;
  * ``Keepalived``: keepalived --vrrp (VRRPv3) with instances and a sync group;
  * ``Conntrackd``: conntrackd (conntrack-tools state sync, FTFW over UDP on
    the sync link), with its control commands (-s, -i, -e, -c, -n, ...).
"""

from __future__ import annotations

import dataclasses
import os
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from . import plan, waits
from .netns import LabError

if TYPE_CHECKING:
    from .lab import Lab


def _require(tool: str) -> None:
    import shutil
    if shutil.which(tool) is None:
        raise LabError(f"{tool} is not installed (tools/bootstrap.sh installs it)")


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


class _Daemon:
    """Common process handling: start with lab.popen, log to a file, stop by pid."""

    name = "daemon"

    def __init__(self, lab: "Lab", node: str, workdir: Path, tag: str) -> None:
        self.lab = lab
        self.node = node
        self.dir = Path(workdir)
        self.tag = tag
        self.log_path = self.dir / f"{tag}.log"
        self.proc: subprocess.Popen | None = None
        self.started_at = 0.0

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> subprocess.Popen:
        with open(self.log_path, "ab") as out:
            self.proc = self.lab.popen(self.node, self.command(), stdout=out,
                                       stderr=subprocess.STDOUT)
        self.started_at = time.monotonic()
        return self.proc

    @property
    def pid(self) -> int:
        assert self.proc is not None, f"{self.name} not started"
        return self.proc.pid

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def send_signal(self, sig: int) -> None:
        """Signals the daemon's own pid (ip netns exec and stdbuf exec it)."""
        os.kill(self.pid, sig)

    def kill(self) -> None:
        """SIGKILL to its whole process group (parent and children), no wait."""
        if self.proc is not None:
            _signal_group(self.proc, signal.SIGKILL)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int | None:
        """Signals it and waits (bounded) for it to exit; SIGKILL after the timeout."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        return self.lab.stop(self.proc, signal.SIGKILL)  # reaps, kills stragglers

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


# --- ucarp ---------------------------------------------------------------------

class Ucarp(_Daemon):
    """One ucarp process in a firewall namespace (Debian's ucarp 1.5.2).

    Runs in the foreground without syslog, its log line-buffered into a file;
    the up/down scripts add/remove ``vip/prefixlen`` and append
    "up IFACE VIP" / "down IFACE VIP" to ``events_path``. UCARP refuses
    passphrases over 19 bytes.
    """

    name = "ucarp"

    def __init__(self, lab: "Lab", node: str, workdir: Path, *, vip: str, password: str,
                 vhid: int = 1, interface: str = "lan0", prefixlen: int = 24,
                 advbase: int = 1, advskew: int = 0, preempt: bool = False,
                 shutdown: bool = True, srcip: str | None = None) -> None:
        _require("ucarp")
        super().__init__(lab, node, workdir, f"ucarp-{node}-{interface}-{vhid}")
        if len(password.encode()) > 19:
            raise ValueError("ucarp accepts at most 19 bytes of passphrase")
        self.interface = interface
        self.vhid = vhid
        self.vip = vip
        self.events_path = self.dir / f"{self.tag}.events"
        leg = next(leg for leg, ifn in lab.legs(node).items() if ifn == interface)
        up, down = self.dir / f"{self.tag}-up.sh", self.dir / f"{self.tag}-down.sh"
        # ucarp runs SCRIPT INTERFACE VIP XPARAM and waits for the up-script
        # before it advertises: keep them short.
        for path, verb, word in ((up, "add", "up"), (down, "del", "down")):
            path.write_text("#!/bin/sh\n"
                            f'ip -4 addr {verb} "$2/$3" dev "$1" 2>/dev/null\n'
                            f'echo "{word} $1 $2" >> {self.events_path}\n'
                            "exit 0\n")
            os.chmod(path, 0o700)
        self.cmd = ["stdbuf", "-oL", "-eL", "ucarp", f"--interface={interface}",
                    f"--srcip={srcip or plan.ip(node, leg, 4)}", f"--vhid={vhid}",
                    f"--pass={password}", f"--addr={vip}", f"--advbase={advbase}",
                    f"--advskew={advskew}", f"--xparam={prefixlen}", "--facility=none",
                    f"--upscript={up}", f"--downscript={down}"]
        if shutdown:
            self.cmd.append("--shutdown")
        if preempt:
            self.cmd.append("--preempt")

    def command(self) -> list[str]:
        return self.cmd

    def events(self) -> list[str]:
        if not self.events_path.exists():
            return []
        return self.events_path.read_text().splitlines()

    def states(self) -> list[str]:
        """Every 'Switching to state: X' ucarp logged, in order."""
        return re.findall(r"Switching to state: (\w+)", self.log())

    def state(self) -> str | None:
        s = self.states()
        return s[-1] if s else None

    def status_line(self, timeout: float = 3.0) -> str:
        """SIGUSR1 makes ucarp log its view: "<STATE> on <iface> id <vhid>"."""
        pattern = rf"\] (\w+ on {re.escape(self.interface)} id \d+)"
        before = len(re.findall(pattern, self.log()))
        self.send_signal(signal.SIGUSR1)
        found = waits.wait_for_value("ucarp's SIGUSR1 status line",
                                     lambda: re.findall(pattern, self.log()),
                                     lambda f: len(f) > before, timeout, interval=0.05,
                                     diagnostics=self.log)
        return found[-1]


# --- keepalived ------------------------------------------------------------------

@dataclasses.dataclass
class VrrpInstance:
    name: str
    interface: str
    vrid: int
    priority: int
    advert_int: str = "1"             # seconds; VRRPv3 allows centiseconds ("0.01")
    vips: list[str] = dataclasses.field(default_factory=list)  # "addr/len"
    preempt: bool = True


# keepalived's GARP defaults written out so configurations document them: a
# burst of 5 GARPs on becoming MASTER, a second burst 5 s later, no refresh.
_KEEPALIVED_GLOBAL = """\
global_defs {{
    router_id {node}
    vrrp_version 3
    vrrp_garp_master_delay 5
    vrrp_garp_master_repeat 5
    vrrp_garp_master_refresh 0
}}
"""


def render_keepalived(node: str, instances: Sequence[VrrpInstance],
                      sync_group: str | None = "EDGE") -> str:
    """A keepalived.conf: the instances (state BACKUP, elected by priority),
    in one sync group so they fail over together (like a demotion group)."""
    text = _KEEPALIVED_GLOBAL.format(node=node)
    if sync_group and len(instances) > 1:
        members = "".join(f"        {i.name}\n" for i in instances)
        text += f"\nvrrp_sync_group {sync_group} {{\n    group {{\n{members}    }}\n}}\n"
    for i in instances:
        vips = "".join(f"        {v} dev {i.interface}\n" for v in i.vips)
        text += (f"\nvrrp_instance {i.name} {{\n    state BACKUP\n    interface {i.interface}\n"
                 f"    virtual_router_id {i.vrid}\n    priority {i.priority}\n"
                 f"    advert_int {i.advert_int}\n"
                 + ("" if i.preempt else "    nopreempt\n")
                 + f"    virtual_ipaddress {{\n{vips}    }}\n}}\n")
    return text


class Keepalived(_Daemon):
    """keepalived --vrrp in the foreground with its log on the console."""

    name = "keepalived"

    def __init__(self, lab: "Lab", node: str, workdir: Path,
                 instances: Sequence[VrrpInstance], sync_group: str | None = "EDGE") -> None:
        _require("keepalived")
        super().__init__(lab, node, workdir, f"keepalived-{node}-{time.monotonic_ns()}")
        self.config_path = self.dir / f"{self.tag}.conf"
        self.config_path.write_text(render_keepalived(node, instances, sync_group))

    def command(self) -> list[str]:
        # Fresh pid files per start: after SIGKILL the old ones (and a not yet
        # reaped VRRP child) make keepalived refuse to start.
        n = time.monotonic_ns()
        return ["keepalived", "--vrrp", "--dont-fork", "--log-console", "--no-syslog",
                "--use-file", str(self.config_path),
                "--pid", str(self.dir / f"{self.tag}-{n}.pid"),
                "--vrrp_pid", str(self.dir / f"{self.tag}-vrrp-{n}.pid")]


# --- conntrackd --------------------------------------------------------------------

_CONNTRACKD_CONF = """\
Sync {{
    Mode FTFW {{
        DisableExternalCache {external}
    }}
    UDP {{
        IPv4_address {local}
        IPv4_Destination_Address {peer}
        Port {port}
        Interface {interface}
        SndSocketBuffer 1249280
        RcvSocketBuffer 1249280
        Checksum on
    }}
}}
General {{
    HashSize 32768
    HashLimit 524288
    LogFile {log}
    Syslog off
    LockFile {lock}
    UNIX {{
        Path {socket}
    }}
    NetlinkBufferSize 2097152
    NetlinkBufferSizeMaxGrowth 8388608
    Filter From Userspace {{
        Protocol Accept {{
            TCP
            UDP
            ICMP
            IPv6-ICMP
        }}
        Address Ignore {{
            IPv4_address 127.0.0.1
            IPv6_address ::1
            IPv4_address {sync_net}
        }}
    }}
}}
"""


def render_conntrackd(node: str, peer: str, workdir: Path, port: int = plan.SYNC_PORT,
                      interface: str = "sync0", external_cache: bool = True) -> str:
    """conntrackd.conf for FTFW over UDP unicast on the sync link, node -> peer
    (UDP unicast has one destination: a pair of nodes)."""
    tag = f"conntrackd-{node}"
    return _CONNTRACKD_CONF.format(
        external="off" if external_cache else "on", local=plan.ip(node, "sync", 4),
        peer=plan.ip(peer, "sync", 4), port=port, interface=interface,
        log=workdir / f"{tag}.log", lock=workdir / f"{tag}.lock",
        socket=workdir / f"{tag}.ctl", sync_net=plan.SYNC4)


class Conntrackd(_Daemon):
    """conntrackd on a firewall, syncing with one peer over its sync link.

    ``ctl("-s")`` runs ``conntrackd -C CONF -s`` in the node (stats);
    ``internal()``/``external()`` dump the caches, ``commit()`` writes the
    external cache into the kernel, ``resync()`` asks the peer for a bulk send.
    """

    name = "conntrackd"

    def __init__(self, lab: "Lab", node: str, peer: str, workdir: Path,
                 port: int = plan.SYNC_PORT, external_cache: bool = True) -> None:
        _require("conntrackd")
        super().__init__(lab, node, workdir, f"conntrackd-{node}-out")
        self.peer = peer
        self.config_path = self.dir / f"conntrackd-{node}.conf"
        self.config_path.write_text(render_conntrackd(node, peer, self.dir, port,
                                                      external_cache=external_cache))
        self.socket_path = self.dir / f"conntrackd-{node}.ctl"
        self.logfile = self.dir / f"conntrackd-{node}.log"

    def command(self) -> list[str]:
        return ["conntrackd", "-C", str(self.config_path)]

    def start(self, timeout: float = 10.0) -> subprocess.Popen:
        """Starts conntrackd and waits until it answers on its control socket."""
        proc = super().start()
        waits.wait_until(f"conntrackd on {self.node} to answer",
                         lambda: (proc.poll() is not None
                                  or (self.socket_path.exists()
                                      and self.ctl("-s", check=False).returncode == 0)),
                         timeout, interval=0.1)
        if proc.poll() is not None:
            raise LabError(f"conntrackd on {self.node} exited {proc.returncode}:\n"
                           f"{self.log()}\n{self.daemon_log()}")
        return proc

    def ctl(self, *args: str, check: bool = True, timeout: float = 15.0
            ) -> subprocess.CompletedProcess:
        return self.lab.run(self.node, ["conntrackd", "-C", str(self.config_path), *args],
                            check=check, timeout=timeout)

    def stats(self) -> str:
        return self.ctl("-s").stdout

    def internal(self) -> str:
        return self.ctl("-i").stdout

    def external(self) -> str:
        return self.ctl("-e").stdout

    def commit(self) -> None:
        self.ctl("-c")

    def resync(self) -> None:
        self.ctl("-n")

    def daemon_log(self) -> str:
        return self.logfile.read_text(errors="replace") if self.logfile.exists() else ""
