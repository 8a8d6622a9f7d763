"""How busy the machine is: the 1-minute load average and CPU busy time from
/proc, used by the failover benchmark and by the timing tests (which retry
once when the machine is loaded).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

# Above this 1-minute load per core the machine counts as loaded for timing
# asserts (a 2-core box running a build has a load of 2-4).
LOADED_PER_CPU = 0.75


def loadavg() -> tuple[float, float, float]:
    """The 1, 5 and 15 minute load averages."""
    f = Path("/proc/loadavg").read_text().split()
    return float(f[0]), float(f[1]), float(f[2])


def loadavg_text() -> str:
    return Path("/proc/loadavg").read_text().strip()


def cpu_times() -> tuple[int, int]:
    """(total, idle) jiffies of all CPUs since boot (idle includes iowait)."""
    vals = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return sum(vals), vals[3] + vals[4]


class CpuBusy:
    """CPU busy percentage between construction (or ``reset()``) and ``percent()``."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._start = cpu_times()

    def percent(self) -> float:
        total, idle = cpu_times()
        dt = max(1, total - self._start[0])
        return 100.0 * (1 - (idle - self._start[1]) / dt)


def busy_percent(seconds: float = 0.5) -> float:
    """CPU busy percentage measured over the next ``seconds``."""
    meter = CpuBusy()
    time.sleep(seconds)
    return meter.percent()


def loaded_threshold() -> float:
    return LOADED_PER_CPU * (os.cpu_count() or 1)


def machine_loaded() -> bool:
    """True when the 1-minute load average is above ``loaded_threshold()``."""
    return loadavg()[0] > loaded_threshold()


def describe() -> str:
    """One line for test output: load averages, threshold and CPU count."""
    one, five, fifteen = loadavg()
    return (f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs "
            f"(loaded above {loaded_threshold():.2f})")


def wait_quiet(max_load: float, max_wait: float, log=None) -> tuple[float, float]:
    """Waits (bounded by max_wait) for the 1-minute load average to drop below
    max_load; returns (load, seconds waited)."""
    t0 = time.monotonic()
    while True:
        load = loadavg()[0]
        waited = time.monotonic() - t0
        if load < max_load or waited >= max_wait:
            return load, waited
        if log is not None:
            log(f"load average {load:.2f} >= {max_load}: waiting ({waited:.0f}/{max_wait:.0f} s)")
        time.sleep(min(30.0, max_wait - waited + 0.1))
