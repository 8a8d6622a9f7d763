"""hactl as a subprocess: for tests of the command line itself (its text and
JSON output, exit codes). Waits and status polls use hafwkit.control instead.
"""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

from .control import parse_status_json

HACTL_TIMEOUT = 15.0


class HactlError(RuntimeError):
    def __init__(self, args: list[str], result: "HactlResult") -> None:
        super().__init__(f"hactl {' '.join(args)} exited {result.returncode}: "
                         f"{result.stderr.strip()}")
        self.result = result


@dataclasses.dataclass(frozen=True)
class HactlResult:
    returncode: int
    stdout: str
    stderr: str


class Hactl:
    """``Hactl(binary, socket).run("status", "--json")``."""

    def __init__(self, binary: Path, socket: Path, build_dir: Path | None = None) -> None:
        self.binary = Path(binary)
        self.socket = Path(socket)
        self.build_dir = build_dir

    def run(self, *args: str, check: bool = True) -> HactlResult:
        argv = [str(self.binary), "--socket", str(self.socket), *args]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=HACTL_TIMEOUT)
        result = HactlResult(r.returncode, r.stdout, r.stderr)
        if check and r.returncode != 0:
            raise HactlError(list(args), result)
        return result

    def status_json(self) -> dict:
        """`hactl status --json` parsed; counters as ints whether hactl prints
        them as strings (proto3 JSON) or as numbers."""
        return parse_status_json(self.run("status", "--json").stdout, self.build_dir)

    def raw_status_json(self) -> str:
        return self.run("status", "--json").stdout
