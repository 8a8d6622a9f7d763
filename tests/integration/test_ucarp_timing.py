"""The ucarp interop takeover windows, label `timing` (RUN_SERIAL, one retry
when the machine is loaded, figures printed): the scenarios and their
non-timing checks are carp_scenarios.py's, shared with test_ucarp_interop.py.
"""
# ctest: RUN_SERIAL

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from carp_scenarios import agent_bows_out_to_ucarp, agent_takes_over_from_dead_ucarp
from hafwkit import timing
from hafwkit.lab import Lab


def _in_fresh_lab(hafw_paths, scenario):
    workdir = Path(tempfile.mkdtemp(prefix="hafw-ucarp-"))
    try:
        with Lab() as lab:
            return scenario(lab, hafw_paths, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def test_ucarp_takes_over_within_1_8s_of_the_bow_out(privileged, hafw_paths):
    """ucarp hands packets to its loop about 0.5 s late (libpcap, §6); its own
    master-down timer would fire >= 3.39 s after our last regular advert, so
    1.8 s proves the bow-out did it."""
    def attempt(t: timing.Attempt) -> None:
        took = _in_fresh_lab(hafw_paths, agent_bows_out_to_ucarp)
        t.within("ha-agent SIGTERM -> ucarp MASTER", took, high=1.8, unit="s")
    timing.run(attempt)


def test_agent_takes_over_2_to_4_5s_after_ucarp_died(privileged, hafw_paths):
    """ucarp's last advert left at most 1 s before the kill; the agent's
    master-down interval is 3 + 100/256 s: a takeover between 2.0 and 4.5 s."""
    def attempt(t: timing.Attempt) -> None:
        took = _in_fresh_lab(hafw_paths, agent_takes_over_from_dead_ucarp)
        t.within("ucarp SIGTERM -> ha-agent MASTER", took, low=2.0, high=4.5, unit="s")
    timing.run(attempt)
