"""CARP failover timing on real Linux networks (issue 4): dead master, bow-out,
sub-second advbase.

Every time here is measured from packet captures: tcpdump runs on the lab's
bridges in the switch namespace, so each advertisement carries the kernel's
timestamp of the moment it crossed the "wire", on one clock for every node.
Polling `hactl status` would add its own latency (a process start per poll)
and the agents' logs have millisecond resolution and record when the agent
*decided*, not when peers could see it. Wall-clock instants taken by the test
(time.time(), the same CLOCK_REALTIME as the capture) are used only as the
start of an interval, taken just *before* the action, so they can only make a
measured interval longer (conservative).

Timing-sensitive: ctest runs this file alone.
"""
# ctest: RUN_SERIAL

from __future__ import annotations

import signal
import time

from hafw_cluster import HafwCluster, default_vhids

import lab as labmod

SERVER4 = labmod.Lab.ip("server", "wan", 4)
# (vhid, bridge the vhid's adverts cross, the firewall's interface on it)
LEGS = ((1, "brlan", "lan0"), (2, "brwan", "wan0"))


def _start_fw1_master(cluster: HafwCluster) -> None:
    """Starts every agent and waits for the steady state: fw1 MASTER, others BACKUP."""
    cluster.start_all()
    for vhid, _, _ in LEGS:
        cluster.wait_for_master(vhid, "fw1", timeout=10)
        for fw in cluster.firewalls[1:]:
            cluster.wait_for_state(fw, vhid, "BACKUP", timeout=5)


def _wait_advert_captured(cluster: HafwCluster, backup: str = "fw2") -> None:
    """Returns once the backup accepted a new advert on every leg, i.e. one
    the running capture has seen: the master's last advert before the
    failover is then in the capture, as the silence measurement needs."""
    seen = {vhid: cluster.vhost(backup, vhid)["adverts_received"] for vhid, _, _ in LEGS}
    cluster.wait_until(f"{backup} to accept an advert on every leg during the capture",
                       lambda: all(cluster.vhost(backup, v)["adverts_received"] > seen[v]
                                   for v in seen), timeout=5)


def _check_silence(vhid: int, fw1_ads: list, first_fw2: float, master_down: float,
                   tolerance: float) -> float:
    """The backup waited its master-down interval after fw1's last advert.

    kill_node freezes fw1's agent before its links go down, so its last
    advert normally carries no demotion. Should an advert with a demotion
    still slip out (the agent saw a link go before it was frozen), fw2 may
    rightly take that vhid at once (master-demoted), so a shorter silence is
    accepted only when fw1's last advert carried a demotion.
    """
    silence = first_fw2 - fw1_ads[-1].time
    if silence < master_down - tolerance:
        assert fw1_ads[-1].demote > 0, (
            f"vhid {vhid}: fw2 took over {silence * 1000:.1f} ms after fw1's last advert, "
            f"before its master-down interval {master_down * 1000:.1f} ms, and that advert "
            f"carried no demotion")
    return silence


def test_kill9_dead_master_backup_takes_over_within_master_down_interval(lab, hafw_paths):
    """A dead master (links down, then kill -9: no bow-out can leave it) is
    replaced after the backup's master-down interval, 3 x advbase +
    advskew/256 = 3.39 s for fw2, and traffic flows again through the VIPs.

    Bound: 3.39 s + 0.3 s (the issue's margin: timer and scheduling latency
    on a loaded 2-core machine), measured from just before the first link
    went down to fw2's first advertisement as MASTER, on each leg. A lower
    bound checks the backup waited its full interval after the last
    advertisement it could have heard (no premature takeover).
    """
    cluster = HafwCluster(lab, hafw_paths)
    _start_fw1_master(cluster)
    lab.start_udp_echo_server()
    assert lab.ping("client", SERVER4), "no traffic through fw1 before the failover"
    macs = {(fw, ifname): cluster.mac(fw, ifname) for fw in ("fw1", "fw2")
            for _, _, ifname in LEGS}
    probe = lab.start_udp_probe(SERVER4, interval_ms=20, duration=40)
    cap = cluster.capture()
    mono_to_real = time.time() - time.monotonic()
    _wait_advert_captured(cluster)

    t_down = time.time()
    cluster.kill_node("fw1")
    for vhid, _, _ in LEGS:
        cluster.wait_for_master(vhid, "fw2", timeout=8)
    # Both VIPs moved, so requests and replies both pass fw2.
    cluster.wait_until("client -> server traffic through fw2",
                       lambda: lab.ping("client", SERVER4, timeout=1), timeout=5)
    # Keeps flowing (5 pings over ~1 s) while the probe records it too.
    assert lab.ping("client", SERVER4, count=5), "traffic through fw2 is not steady"
    result = probe.stop()
    cap.stop()

    master_down = 3 * 1 + 100 / 256
    bound = master_down + 0.3
    takeover_end = 0.0
    for vhid, bridge, ifname in LEGS:
        fw1_ads = cap.adverts(vhid, bridge, src_mac=macs[("fw1", ifname)])
        fw2_ads = cap.adverts(vhid, bridge, src_mac=macs[("fw2", ifname)])
        assert fw1_ads, f"no advertisement of fw1 for vhid {vhid} captured on {bridge}"
        assert fw2_ads, f"fw2 never advertised vhid {vhid} on {bridge}"
        assert all(a.time > t_down for a in fw2_ads), (
            f"fw2 advertised vhid {vhid} before fw1 died (it should have been BACKUP)")
        first_fw2 = fw2_ads[0].time
        takeover = first_fw2 - t_down
        silence = _check_silence(vhid, fw1_ads, first_fw2, master_down, 0.05)
        print(f"vhid {vhid}: link down -> fw2 MASTER advert {takeover:.3f} s, "
              f"fw1's last advert -> fw2's first {silence:.3f} s (bound {bound:.3f} s)")
        assert takeover <= bound, (
            f"vhid {vhid}: fw2 took over {takeover:.3f} s after fw1's links went down, "
            f"more than 3 x advbase + advskew/256 + 0.3 = {bound:.3f} s")
        takeover_end = max(takeover_end, first_fw2)

    # The client saw one outage, which ended shortly after the takeover: the
    # gratuitous ARPs moved both neighbours (client -> LAN VIP, server -> WAN
    # VIP) at once. Without them the old MAC would stay in use for >= 5 s
    # (neighbour cache delay_first_probe_time), far outside the 0.5 s margin.
    answered_after = [r for r in result.received if r[1] + mono_to_real > takeover_end + 0.5]
    assert answered_after, "no probe answered after the takeover"
    outages = result.outages()
    assert len(outages) == 1, f"expected one outage, got {outages}"
    start, end = outages[0]
    outage = end - start
    print(f"client outage {outage:.3f} s, {result.lost} of {len(result.sent)} probes lost")
    assert outage <= bound + 0.5, f"traffic was interrupted {outage:.3f} s (> {bound + 0.5:.3f} s)"


def test_sigterm_bow_out_backup_takes_over_within_100ms(lab, hafw_paths):
    """SIGTERM makes the master send a 255/255 advertisement (bow-out) per
    family on each leg before it removes its VIPs; fw2 (advbase 1) takes
    over at once instead of after 3.39 s. Bound: fw2's first MASTER
    advertisement at most 100 ms after the bow-out, both on the wire.
    """
    cluster = HafwCluster(lab, hafw_paths)
    _start_fw1_master(cluster)
    macs = {(fw, ifname): cluster.mac(fw, ifname) for fw in ("fw1", "fw2")
            for _, _, ifname in LEGS}
    cap = cluster.capture()
    _wait_advert_captured(cluster)

    t_term = time.time()
    assert cluster.stop("fw1", signal.SIGTERM) == 0, cluster.log("fw1")
    for vhid, _, _ in LEGS:
        cluster.wait_for_master(vhid, "fw2", timeout=3)
    cap.stop()

    for vhid, bridge, ifname in LEGS:
        fw1_ads = cap.adverts(vhid, bridge, src_mac=macs[("fw1", ifname)])
        bow_outs = [a for a in fw1_ads if a.bow_out]
        assert {a.family for a in bow_outs} == {4, 6}, (
            f"vhid {vhid}: expected a 255/255 bow-out in IPv4 and IPv6 on {bridge}, "
            f"fw1 sent {[(a.family, a.advbase, a.advskew) for a in fw1_ads[-4:]]}")
        for a in bow_outs:
            assert a.ttl == 255 and a.dst in ("224.0.0.18", "ff02::12"), a
        assert fw1_ads[-1].bow_out, "fw1 advertised again after its bow-out"
        t_bow = bow_outs[0].time
        fw2_ads = cap.adverts(vhid, bridge, src_mac=macs[("fw2", ifname)])
        assert fw2_ads, f"fw2 never advertised vhid {vhid} on {bridge}"
        delay = fw2_ads[0].time - t_bow
        print(f"vhid {vhid}: SIGTERM -> bow-out {t_bow - t_term:.3f} s, "
              f"bow-out -> fw2's first MASTER advert {delay * 1000:.1f} ms")
        assert 0 <= delay <= 0.100, (
            f"vhid {vhid}: fw2's first advertisement came {delay * 1000:.1f} ms after "
            f"fw1's bow-out (bound 100 ms)")


def test_advbase0_subsecond_adverts_and_takeover(lab, hafw_paths):
    """advbase 0, advskews 10 (fw1) and 20 (fw2): fw1 advertises every
    10/256 s = 39 ms, and a dead fw1 is replaced within fw2's master-down
    interval 3 x 20/256 = 234 ms (classic rule with advbase 0).

    Margins: the mean advert interval may be up to 15% longer than nominal
    (the timer re-arms from when it fired, so each late wake-up adds up) and
    never shorter than 95%; the takeover gets 150 ms on top of 234 ms for
    timer and scheduling latency on a loaded 2-core machine.
    """
    vhids = default_vhids(lab.firewalls)
    for v in vhids:
        v.advbase = 0
        v.advskew = {"fw1": 10, "fw2": 20}
    cluster = HafwCluster(lab, hafw_paths, vhids=vhids)
    _start_fw1_master(cluster)
    macs = {(fw, ifname): cluster.mac(fw, ifname) for fw in ("fw1", "fw2")
            for _, _, ifname in LEGS}
    cap = cluster.capture()
    # A window of about 2 s of adverts: 50 intervals per family.
    sent0 = cluster.vhost("fw1", 1)["adverts_sent"]
    cluster.wait_until("fw1 to send 100 more adverts (2 families)",
                       lambda: cluster.vhost("fw1", 1)["adverts_sent"] >= sent0 + 100,
                       timeout=10)
    t_down = time.time()
    cluster.kill_node("fw1")
    for vhid, _, _ in LEGS:
        cluster.wait_for_master(vhid, "fw2", timeout=3)
    cap.stop()

    nominal = 10 / 256
    fw1_v4 = [a.time for a in cap.adverts(1, "brlan", src_mac=macs[("fw1", "lan0")], family=4)]
    assert len(fw1_v4) >= 40, f"only {len(fw1_v4)} IPv4 adverts of fw1 captured"
    mean = (fw1_v4[-1] - fw1_v4[0]) / (len(fw1_v4) - 1)
    longest = max(b - a for a, b in zip(fw1_v4, fw1_v4[1:]))
    print(f"fw1: {len(fw1_v4)} IPv4 adverts, mean interval {mean * 1000:.2f} ms "
          f"(nominal {nominal * 1000:.2f} ms), longest {longest * 1000:.1f} ms")
    assert 0.95 * nominal <= mean <= 1.15 * nominal, (
        f"fw1 advertised every {mean * 1000:.2f} ms on average, expected ~{nominal * 1000:.2f} ms")

    master_down = 3 * 20 / 256
    for vhid, bridge, ifname in LEGS:
        fw1_ads = cap.adverts(vhid, bridge, src_mac=macs[("fw1", ifname)])
        fw2_ads = cap.adverts(vhid, bridge, src_mac=macs[("fw2", ifname)])
        assert fw2_ads, f"fw2 never advertised vhid {vhid} on {bridge}"
        # Sub-second timing is fragile under load: fw2 must not have taken
        # over while fw1 was still alive.
        assert all(a.time > t_down for a in fw2_ads), (
            f"fw2 advertised vhid {vhid} while fw1 was alive (spurious takeover)")
        takeover = fw2_ads[0].time - t_down
        silence = _check_silence(vhid, fw1_ads, fw2_ads[0].time, master_down, 0.010)
        print(f"vhid {vhid}: link down -> fw2 MASTER advert {takeover * 1000:.1f} ms, "
              f"fw1's last advert -> fw2's first {silence * 1000:.1f} ms "
              f"(master-down {master_down * 1000:.1f} ms)")
        assert takeover <= master_down + 0.150, (
            f"vhid {vhid}: takeover took {takeover * 1000:.1f} ms, bound "
            f"{(master_down + 0.150) * 1000:.1f} ms")
