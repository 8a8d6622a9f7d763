"""pytest fixtures for hafw's namespace-lab integration tests.

Skip rule: these tests need root (namespaces, nftables). They may be skipped
only when the user is not root AND the environment variable CI is unset, and
then a loud banner says so. As root or under CI they always run: anything
missing is a failure, never a skip.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
from pathlib import Path
from typing import Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hafwkit import netns  # noqa: E402
from hafwkit.lab import Lab  # noqa: E402
from hafwkit.paths import SOURCE_DIR, HafwPaths, default_build_dir  # noqa: E402

_REQUIRED_TOOLS = ("ip", "nft", "sysctl", "ping", "conntrack")

_SKIP_REASON = ("NOT RUN: hafw integration tests need root (network namespaces, "
                "nftables) and this is neither root nor CI")
_skipped_for_privilege: list[str] = []


def _may_skip() -> bool:
    """Skipping is allowed only for a non-root user outside CI."""
    return os.geteuid() != 0 and os.environ.get("CI") is None


def _banner(text: str) -> str:
    bar = "!" * 78
    return f"\n{bar}\n!!! {text}\n{bar}\n"


def _sigterm_interrupts(signum: int, frame: object) -> None:
    # KeyboardInterrupt makes pytest stop the whole session after running the
    # finalizers (lab teardown); SystemExit would only fail the current test.
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_configure(config: pytest.Config) -> None:
    if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, _sigterm_interrupts)
    config.addinivalue_line(
        "markers", "lab(firewalls=2, igmp_snooping=False, nat=None, ftp_helper=False): "
        "options for the lab fixture")


def pytest_report_header(config: pytest.Config) -> str:
    who = "root" if os.geteuid() == 0 else f"uid {os.geteuid()}"
    return (f"hafw lab: {who}, CI={os.environ.get('CI', '<unset>')}, "
            f"HAFW_BUILD_DIR={os.environ.get('HAFW_BUILD_DIR', '<unset>')}")


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if _skipped_for_privilege:
        terminalreporter.write(_banner(
            f"{_SKIP_REASON}: {len(_skipped_for_privilege)} test(s) SKIPPED. "
            "Run as root (or with CI=true) to run them."), red=True, bold=True)


def _require_privileges(request: pytest.FixtureRequest) -> None:
    if os.geteuid() == 0:
        missing = [t for t in _REQUIRED_TOOLS if shutil.which(t) is None]
        if missing:
            pytest.fail(f"lab tools missing: {', '.join(missing)} (run tools/bootstrap.sh)")
        return
    if _may_skip():
        _skipped_for_privilege.append(request.node.nodeid)
        sys.stderr.write(_banner(f"{_SKIP_REASON}: skipping {request.node.nodeid}"))
        pytest.skip(_SKIP_REASON)
    pytest.fail("CI is set but the integration tests are not running as root: "
                "they must run, not skip")


@pytest.fixture(scope="session", autouse=True)
def _sweep_stale_labs() -> None:
    """Removes labs of earlier runs that died without cleaning up (e.g. SIGKILL)."""
    if os.geteuid() == 0:
        netns.sweep_stale_labs()


@pytest.fixture(scope="session")
def hafw_paths() -> HafwPaths:
    return HafwPaths(build_dir=default_build_dir(), source_dir=SOURCE_DIR)


@pytest.fixture
def lab(request: pytest.FixtureRequest) -> Iterator[Lab]:
    """A freshly built lab (hafwkit.lab.Lab), torn down afterwards whatever the
    test did. Options with ``@pytest.mark.lab(firewalls=3, nat="snat", ...)``.
    """
    _require_privileges(request)
    marker = request.node.get_closest_marker("lab")
    kwargs = dict(marker.kwargs) if marker else {}
    the_lab = Lab(**kwargs)
    request.addfinalizer(the_lab.teardown)
    the_lab.up()
    yield the_lab


@pytest.fixture
def privileged(request: pytest.FixtureRequest) -> None:
    """For tests that build their own Lab: applies the same skip/fail rule."""
    _require_privileges(request)
