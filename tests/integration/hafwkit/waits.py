"""Bounded waits on conditions.

Every wait has a deadline; on timeout it raises ``WaitTimeout`` whose
message names what was awaited, how long, the last value seen and whatever
``diagnostics()`` returns (agent logs, say). Predicates should be cheap: the
kit's agent waits poll the control socket (one connection, no process per
poll), so a 20 ms interval costs little.
"""

from __future__ import annotations

import time
from typing import Callable, TypeVar

T = TypeVar("T")

DEFAULT_INTERVAL = 0.02


class WaitTimeout(AssertionError):
    """A bounded wait ran out (an AssertionError, so pytest reports it as a failure)."""


class Deadline:
    """``d = Deadline(5); while not d.expired: ...``; ``d.left`` seconds remain."""

    def __init__(self, seconds: float) -> None:
        self.start = time.monotonic()
        self.end = self.start + seconds

    @property
    def left(self) -> float:
        return max(0.0, self.end - time.monotonic())

    @property
    def expired(self) -> bool:
        return time.monotonic() >= self.end

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.start


def _fail(what: str, timeout: float, last: object, diagnostics: Callable[[], str] | None) -> None:
    extra = ""
    if diagnostics is not None:
        try:
            extra = diagnostics()
        except Exception as e:  # diagnostics must not hide the timeout
            extra = f"(diagnostics failed: {e!r})"
    raise WaitTimeout(f"timed out after {timeout} s waiting for {what}"
                      f" (last seen: {last!r})" + (f"\n{extra}" if extra else ""))


def wait_until(what: str, predicate: Callable[[], object], timeout: float, *,
               interval: float = DEFAULT_INTERVAL,
               diagnostics: Callable[[], str] | None = None) -> float:
    """Polls ``predicate`` until it returns something true; returns the seconds it took."""
    d = Deadline(timeout)
    last: object = None
    while True:
        last = predicate()
        if last:
            return d.elapsed
        if d.expired:
            _fail(what, timeout, last, diagnostics)
        time.sleep(min(interval, d.left))


def wait_for_value(what: str, fn: Callable[[], T], accept: Callable[[T], bool],
                   timeout: float, *, interval: float = DEFAULT_INTERVAL,
                   diagnostics: Callable[[], str] | None = None) -> T:
    """Polls ``fn`` until ``accept(value)``; returns that value."""
    d = Deadline(timeout)
    while True:
        value = fn()
        if accept(value):
            return value
        if d.expired:
            _fail(what, timeout, value, diagnostics)
        time.sleep(min(interval, d.left))


def holds_for(what: str, predicate: Callable[[], object], duration: float, *,
              interval: float = 0.1, diagnostics: Callable[[], str] | None = None) -> None:
    """Checks that ``predicate`` stays true for ``duration`` seconds (bounded by it).

    For "nothing changes meanwhile" assertions; fails at the first false.
    """
    d = Deadline(duration)
    while True:
        value = predicate()
        if not value:
            extra = f"\n{diagnostics()}" if diagnostics is not None else ""
            raise AssertionError(f"{what} stopped holding after {d.elapsed:.2f} s "
                                 f"(of {duration} s): {value!r}{extra}")
        if d.expired:
            return
        time.sleep(min(interval, d.left))
