"""How fast CARP fails over (issue 4), label `timing`: ctest runs it alone
(RUN_SERIAL), each test is retried once when the machine is loaded, and
every figure is printed with its bound (hafwkit.timing). The scenarios and
their non-timing checks are carp_scenarios.py's, shared with
test_carp_failover.py.
"""
# ctest: RUN_SERIAL

from __future__ import annotations

from carp_scenarios import advbase0, bow_out, dead_master
from hafwkit import timing
from hafwkit.lab import Lab


def _silence_ok(leg, first_fw2: float, master_down: float, tolerance: float) -> bool:
    """The backup waited its master-down interval after fw1's last advert,
    unless that advert carried a demotion (the agent saw a link go before it
    was frozen): then fw2 rightly took that vhid at once (master-demoted)."""
    return first_fw2 - leg.fw1[-1].time >= master_down - tolerance or leg.fw1[-1].demote > 0


def test_kill9_takeover_within_master_down_interval(privileged, hafw_paths):
    """Dead master: fw2's first MASTER advert at most 3 x advbase +
    advskew/256 + 0.3 s = 3.69 s after fw1's links went down, on each leg,
    and not before its master-down interval after fw1's last advert (no
    premature takeover); the client's one outage at most 3.69 + 0.5 s (the
    gratuitous ARPs moved both neighbours; without them the old MAC stays
    >= 5 s) and probes answered again after the takeover."""
    def attempt(t: timing.Attempt) -> None:
        with Lab() as lab:
            r = dead_master(lab, hafw_paths)
        bound = r.master_down + 0.3
        end = 0.0
        for leg in r.legs:
            first = leg.fw2[0].time
            t.within(f"vhid {leg.vhid}: links down -> fw2's first advert",
                     first - r.t_down, high=bound, unit="s")
            silence = first - leg.fw1[-1].time
            t.figure(f"vhid {leg.vhid}: fw1's last advert -> fw2's first", silence, unit="s")
            assert _silence_ok(leg, first, r.master_down, 0.05), (
                f"vhid {leg.vhid}: fw2 took over {silence:.3f} s after fw1's last advert, "
                f"before its master-down interval {r.master_down:.3f} s, and that advert "
                "carried no demotion")
            end = max(end, first)
        answered = [x for x in r.probe.received if x[1] + r.mono_to_real > end + 0.5]
        assert answered, "no probe answered after the takeover"
        start, stop = r.probe.outages()[0]
        t.within("client outage", stop - start, high=bound + 0.5, unit="s",
                 detail=f"{r.probe.lost} of {len(r.probe.sent)} probes lost")
    timing.run(attempt)


def test_sigterm_bow_out_takeover_within_100ms(privileged, hafw_paths):
    """Bow-out: fw2's first MASTER advert at most 100 ms after fw1's first
    bow-out on each leg (both on the wire)."""
    def attempt(t: timing.Attempt) -> None:
        with Lab() as lab:
            r = bow_out(lab, hafw_paths)
        for leg in r.legs:
            t_bow = next(a for a in leg.fw1 if a.bow_out).time
            t.figure(f"vhid {leg.vhid}: SIGTERM -> bow-out", t_bow - r.t_term)
            t.within(f"vhid {leg.vhid}: bow-out -> fw2's first advert",
                     leg.fw2[0].time - t_bow, low=0.0, high=0.100)
    timing.run(attempt)


def test_advbase0_interval_and_takeover_within_384ms(privileged, hafw_paths):
    """advbase 0, advskew 10/20: fw1's mean advert interval within [0.95,
    1.15] x 10/256 s (the timer re-arms from when it fired, so each late
    wake-up adds up); no fw2 advert while fw1 lives (a spurious takeover of
    its 234 ms master-down interval); takeover at most 3 x 20/256 + 0.15 s
    = 384 ms after fw1's links went down."""
    def attempt(t: timing.Attempt) -> None:
        with Lab() as lab:
            r = advbase0(lab, hafw_paths)
        ts = r.fw1_v4_times
        mean = (ts[-1] - ts[0]) / (len(ts) - 1)
        t.figure("fw1's longest advert interval", max(b - a for a, b in zip(ts, ts[1:])))
        t.within(f"fw1's mean advert interval ({len(ts)} IPv4 adverts)", mean,
                 low=0.95 * r.nominal, high=1.15 * r.nominal)
        for leg in r.legs:
            assert all(a.time > r.t_down for a in leg.fw2), (
                f"fw2 advertised vhid {leg.vhid} while fw1 was alive (spurious takeover)")
            first = leg.fw2[0].time
            t.figure(f"vhid {leg.vhid}: fw1's last advert -> fw2's first",
                     first - leg.fw1[-1].time)
            assert _silence_ok(leg, first, r.master_down, 0.010), (
                f"vhid {leg.vhid}: fw2 took over before its master-down interval")
            t.within(f"vhid {leg.vhid}: links down -> fw2's first advert", first - r.t_down,
                     high=r.master_down + 0.150)
    timing.run(attempt)
