"""CARP failover on real Linux networks (issue 4): a dead master, a graceful
stop (bow-out) and sub-second advbase, checked for what must hold whatever
the machine's load: who takes over, what goes on the wire, that traffic
flows again. How fast is test_carp_failover_timing.py's (label `timing`);
both run the scenarios of carp_scenarios.py.
"""

from carp_scenarios import advbase0, bow_out, dead_master


def test_kill9_dead_master_backup_takes_over_and_traffic_flows(lab, hafw_paths):
    """A dead master (frozen, links down, kill -9: no bow-out can leave it)
    is replaced by fw2 on both legs; fw2 advertised nothing while fw1 lived,
    and the client's probe saw exactly one outage."""
    r = dead_master(lab, hafw_paths)
    for leg in r.legs:
        print(f"vhid {leg.vhid}: fw1 {len(leg.fw1)} adverts, fw2 {len(leg.fw2)} adverts")


def test_sigterm_bow_out_in_both_families_then_backup_takes_over(lab, hafw_paths):
    """SIGTERM: a 255/255 bow-out per family on each leg (TTL 255, to the
    CARP group), nothing from fw1 after it, fw2 MASTER of both vhids."""
    bow_out(lab, hafw_paths)


def test_advbase0_subsecond_adverts_and_takeover(lab, hafw_paths):
    """advbase 0: fw1 advertises many times a second and fw2 takes over when
    fw1 dies."""
    r = advbase0(lab, hafw_paths)
    print(f"fw1: {len(r.fw1_v4_times)} IPv4 adverts captured")
