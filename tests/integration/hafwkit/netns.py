"""Network namespaces: listing, deleting, sweeping dead runs' labs, and
entering one from this process (for in-process client sockets).

Only namespaces whose names the caller passes are touched; the sweep only
removes labs with an automatic prefix (``hafw<pid>-<n>-``) whose creating
process is dead.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Sequence

DEFAULT_TIMEOUT = 15.0
STOP_GRACE = 3.0
CLONE_NEWNET = 0x40000000
# Default prefixes carry the creating pid so stale labs of dead runs can be found.
AUTO_PREFIX_RE = re.compile(r"^hafw(\d+)-(\d+)-")


class LabError(RuntimeError):
    """A lab operation failed; the message carries the command and its stderr."""


def log(msg: str) -> None:
    if os.environ.get("HAFW_LAB_QUIET") != "1":
        print(f"[lab] {msg}", file=sys.stderr, flush=True)


def run_host(cmd: Sequence[str], timeout: float = DEFAULT_TIMEOUT, check: bool = True,
             input: str | None = None) -> subprocess.CompletedProcess:
    """Runs a command and waits (bounded); with check, a non-zero exit raises LabError."""
    try:
        cp = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout,
                            input=input, stdin=None if input is not None else subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        raise LabError(f"timed out after {timeout}s: {shlex.join(cmd)}") from e
    if check and cp.returncode != 0:
        raise LabError(f"exit {cp.returncode}: {shlex.join(cmd)}\n{cp.stdout}{cp.stderr}".rstrip())
    return cp


def list_netns() -> list[str]:
    """Names of all named network namespaces (`ip netns list`)."""
    out = run_host(["ip", "-j", "netns", "list"], check=False).stdout.strip()
    if not out:
        return []
    return [entry["name"] for entry in json.loads(out)]


def netns_pids(ns: str) -> list[int]:
    out = run_host(["ip", "netns", "pids", ns], check=False).stdout
    return [int(p) for p in out.split() if p.isdigit()]


def is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


def kill_pids_and_wait(pids: list[int], grace: float = STOP_GRACE) -> None:
    """SIGTERM, bounded wait, SIGKILL: for processes left inside our namespaces."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        alive = []
        for pid in pids:
            try:
                os.kill(pid, sig)
                alive.append(pid)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + grace
        while alive and time.monotonic() < deadline:
            alive = [p for p in alive if Path(f"/proc/{p}").exists() and not is_zombie(p)]
            time.sleep(0.05)
        pids = alive
        if not pids:
            return


def delete_namespaces(names: Sequence[str]) -> list[str]:
    """Kills what runs inside the given namespaces, then deletes them.

    Returns the names that could not be deleted (empty on success).
    """
    existing = set(list_netns())
    targets = [n for n in names if n in existing]
    pids: list[int] = []
    for ns in targets:
        pids.extend(netns_pids(ns))
    pids = [p for p in set(pids) if p != os.getpid()]
    if pids:
        kill_pids_and_wait(pids)
    for ns in targets:
        run_host(["ip", "netns", "delete", ns], check=False)
    remaining = set(list_netns())
    return [n for n in targets if n in remaining]


def sweep_stale_labs() -> list[str]:
    """Deletes labs with an automatic prefix whose creating process is dead.

    A run killed with SIGKILL (e.g. a ctest timeout) cannot clean up after
    itself; the next run does it. Labs of live processes are never touched.
    """
    stale = []
    for ns in list_netns():
        m = AUTO_PREFIX_RE.match(ns)
        if m and not Path(f"/proc/{m.group(1)}").exists():
            stale.append(ns)
    if stale:
        log(f"removing stale lab namespaces of dead runs: {' '.join(sorted(stale))}")
        delete_namespaces(stale)
    return stale


_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


class InNetns:
    """Moves the calling thread into a namespace; sockets made inside stay there."""

    def __init__(self, ns: str) -> None:
        self._ns = ns
        self._own: int | None = None

    def __enter__(self) -> None:
        self._own = os.open(f"/proc/self/task/{threading.get_native_id()}/ns/net", os.O_RDONLY)
        target = os.open(f"/run/netns/{self._ns}", os.O_RDONLY)
        try:
            _setns(target)
        except BaseException:
            os.close(self._own)
            raise
        finally:
            os.close(target)

    def __exit__(self, *exc: object) -> None:
        assert self._own is not None
        try:
            _setns(self._own)
        finally:
            os.close(self._own)
