"""What an operator relies on (issue 4): hactl demote/undemote and
maintenance (kept across restarts), notify hooks with the documented
arguments and environment (docs/configuration.md), leftover VIPs of a
crashed agent cleaned up on restart, `hactl status --json` fields, and a
clear start-up failure for an interface that does not exist.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

from hafwkit import plan
from hafwkit.agents import HafwCluster
from hafwkit.spec import Vhid, default_vhids

SERVER4 = plan.ip("server", "wan", 4)
ALL_VIPS = ((plan.LAN_VIP4, "lan0"), (plan.LAN_VIP6, "lan0"),
            (plan.WAN_VIP4, "wan0"), (plan.WAN_VIP6, "wan0"))


def _wait_masters(cluster: HafwCluster, master: str, backup: str, timeout: float = 10) -> None:
    for vhid in (1, 2):
        cluster.wait_for_master(vhid, master, timeout=timeout)
        cluster.wait_for_state(backup, vhid, "BACKUP", timeout=5)


def _vips_of(cluster: HafwCluster, node: str) -> list[str]:
    return [vip for vip, ifname in ALL_VIPS if node in cluster.vip_holders(vip, ifname)]


def test_hactl_demote_moves_group_to_peer_and_undemote_brings_it_back(lab, hafw_paths):
    """Demoting group "edge" on the master makes it advertise its demotion at
    once; fw2 takes both vhids (cause master-demoted, no master-down wait).
    Undemote withdraws it and preempt gives both back to fw1."""
    cluster = HafwCluster(lab, hafw_paths)
    cluster.start_all()
    _wait_masters(cluster, "fw1", "fw2")

    out = cluster.hactl("fw1", "demote", "--group", "edge", "--reason", "test")
    assert "edge" in out and "test" in out, out
    _wait_masters(cluster, "fw2", "fw1", timeout=3)
    for vhid in (1, 2):
        assert cluster.vhost("fw2", vhid)["last_transition"]["cause"] == "master-demoted"
        v = cluster.vhost("fw1", vhid)
        assert v["demote"] == 1, v
        assert {"group": "edge", "reason": "test", "count": 1} in [
            {k: r[k] for k in ("group", "reason", "count")} for r in v["demotion_reasons"]]
    assert _vips_of(cluster, "fw1") == [] and len(_vips_of(cluster, "fw2")) == 4
    assert "test +1" in cluster.hactl("fw1", "status")
    cluster.wait_until("client -> server through fw2",
                       lambda: lab.ping("client", SERVER4, timeout=1), timeout=5)

    cluster.hactl("fw1", "undemote", "--group", "edge", "--reason", "test")
    _wait_masters(cluster, "fw1", "fw2", timeout=5)
    for vhid in (1, 2):
        v = cluster.vhost("fw1", vhid)
        assert v["last_transition"]["cause"] == "preempted" and v["demote"] == 0, v
    assert _vips_of(cluster, "fw2") == [] and len(_vips_of(cluster, "fw1")) == 4


def test_maintenance_moves_everything_away_and_survives_restart(lab, hafw_paths):
    """`maintenance on` demotes every vhid of fw1 so fw2 takes all of them;
    it is kept in the state directory, so a restarted fw1 stays BACKUP (it
    would otherwise preempt at the first advert it hears); `maintenance off`
    brings everything back."""
    cluster = HafwCluster(lab, hafw_paths)
    cluster.start_all()
    _wait_masters(cluster, "fw1", "fw2")

    cluster.hactl("fw1", "maintenance", "on", "--reason", "kernel upgrade")
    _wait_masters(cluster, "fw2", "fw1", timeout=3)

    assert cluster.stop("fw1") == 0
    cluster.start("fw1")
    # Long enough that preemption would have happened: fw1 has run past its
    # own master-down interval and accepted fw2's advertisements twice.
    mdi = cluster.vhost("fw1", 1)["master_down_interval_seconds"]
    cluster.wait_until(
        "restarted fw1 to run one master-down interval and hear fw2 twice",
        lambda: (lambda st: st["uptime_seconds"] > mdi + 0.2 and all(
            int(v["adverts_received"]) >= 2 for v in st["vhosts"]))(cluster.status("fw1")),
        timeout=15)
    for vhid in (1, 2):
        assert cluster.state("fw1", vhid) == "BACKUP"
        assert cluster.masters(vhid) == ["fw2"]
    groups = {g["name"]: g for g in cluster.status("fw1")["groups"]}
    assert any(r["reason"] == "maintenance" for r in groups["all"]["reasons"]), groups
    assert "maintenance mode is on (kernel upgrade)" in cluster.log("fw1")
    assert _vips_of(cluster, "fw1") == []

    cluster.hactl("fw1", "maintenance", "off")
    _wait_masters(cluster, "fw1", "fw2", timeout=5)
    assert len(_vips_of(cluster, "fw1")) == 4 and _vips_of(cluster, "fw2") == []


HOOK_SCRIPT = """#!/bin/sh
# Test hook: one file per call with its arguments, a separator, then the
# environment exactly as the agent passed it (/proc/$$/environ, before the
# shell adds anything).
f="{dir}/call-$(date +%s%N)-$$"
{{ for a in "$@"; do printf '%s\\n' "$a"; done; printf -- '--\\n'
   tr '\\0' '\\n' < /proc/$$/environ; }} > "$f.tmp" && mv "$f.tmp" "$f"
"""


def _hook_calls(directory: Path) -> list[tuple[list[str], dict[str, str]]]:
    calls = []
    for path in sorted(directory.glob("call-*")):
        if path.name.endswith(".tmp"):
            continue
        lines = path.read_text().splitlines()
        sep = lines.index("--")
        env = dict(line.split("=", 1) for line in lines[sep + 1:] if "=" in line)
        calls.append((lines[:sep], env))
    return calls


def test_notify_hooks_get_documented_arguments_and_environment(lab, hafw_paths):
    """master/backup/init hooks run as `HOOK STATE VHID INTERFACE` with
    exactly PATH and the eight documented HAFW_* variables."""
    cluster = HafwCluster(lab, hafw_paths)
    # The cluster's private directory (mode 0700, root's) satisfies the
    # agent's rule that hooks are not writable by group or others.
    hook = cluster.dir / "notify.sh"
    out_dir = cluster.dir / "hook-calls"
    out_dir.mkdir()
    hook.write_text(HOOK_SCRIPT.format(dir=out_dir))
    os.chmod(hook, 0o700)
    cluster.hooks = {"master": str(hook), "backup": str(hook), "init": str(hook)}
    cluster.start_all()
    _wait_masters(cluster, "fw1", "fw2")

    def calls_for(node, state, vhid):
        return [(a, e) for a, e in _hook_calls(out_dir)
                if e.get("HAFW_NODE") == node and a[:2] == [state, str(vhid)]]

    cluster.wait_until("fw1's MASTER hooks for both vhids",
                       lambda: all(calls_for("fw1", "MASTER", v) for v in (1, 2)),
                       timeout=5)
    args, env = calls_for("fw1", "MASTER", 1)[0]
    assert args == ["MASTER", "1", "lan0"], args
    assert env == {
        "PATH": env.get("PATH", "<missing>"),
        "HAFW_NODE": "fw1",
        "HAFW_VHID": "1",
        "HAFW_INTERFACE": "lan0",
        "HAFW_STATE": "MASTER",
        "HAFW_PREVIOUS_STATE": "BACKUP",
        "HAFW_CAUSE": "master-down",
        "HAFW_VIPS": f"{plan.LAN_VIP4}/24 {plan.LAN_VIP6}/64",
        "HAFW_GROUPS": "edge",
    }, env
    assert "/usr/bin" in env["PATH"].split(":")
    args, env = calls_for("fw1", "MASTER", 2)[0]
    assert args == ["MASTER", "2", "wan0"]
    assert env["HAFW_VIPS"] == f"{plan.WAN_VIP4}/24 {plan.WAN_VIP6}/64"
    cluster.wait_until("fw2's BACKUP hooks",
                       lambda: all(calls_for("fw2", "BACKUP", v) for v in (1, 2)),
                       timeout=5)
    args, env = calls_for("fw2", "BACKUP", 1)[0]
    assert args == ["BACKUP", "1", "lan0"]
    assert (env["HAFW_PREVIOUS_STATE"], env["HAFW_CAUSE"]) == ("INIT", "started"), env

    # Stopping fw1: its INIT hooks run before the agent exits, and fw2's
    # MASTER hooks follow the takeover.
    assert cluster.stop("fw1") == 0
    init = calls_for("fw1", "INIT", 1)
    assert init, "fw1's INIT hook did not run before the agent exited"
    assert (init[0][1]["HAFW_PREVIOUS_STATE"], init[0][1]["HAFW_CAUSE"]) == (
        "MASTER", "stopped"), init[0][1]
    cluster.wait_until("fw2's MASTER hooks",
                       lambda: all(calls_for("fw2", "MASTER", v) for v in (1, 2)),
                       timeout=5)
    env = calls_for("fw2", "MASTER", 1)[0][1]
    assert env["HAFW_PREVIOUS_STATE"] == "BACKUP"
    assert env["HAFW_CAUSE"] in ("preempted", "master-too-slow"), env


def test_restart_after_kill9_removes_leftover_vips(lab, hafw_paths):
    """kill -9 leaves the master's VIPs on its interfaces (nothing removes
    them; the links stay up, like a crashed daemon). The restarted agent
    must delete them before its first election, else two nodes answer for
    the VIPs. preempt is off so fw1 stays BACKUP and must hold none."""
    vhids = default_vhids(lab.firewalls)
    for v in vhids:
        v.preempt = False
    cluster = HafwCluster(lab, hafw_paths, vhids=vhids)
    cluster.start_all()
    _wait_masters(cluster, "fw1", "fw2")

    cluster.stop("fw1", signal.SIGKILL)
    assert len(_vips_of(cluster, "fw1")) == 4, "kill -9 unexpectedly removed the VIPs"
    for vhid in (1, 2):
        cluster.wait_for_master(vhid, "fw2", timeout=8)

    cluster.start("fw1")
    for vhid in (1, 2):
        cluster.wait_for_state("fw1", vhid, "BACKUP", timeout=5)
    assert _vips_of(cluster, "fw1") == [], "leftover VIPs still on the restarted fw1"
    assert len(_vips_of(cluster, "fw2")) == 4
    assert cluster.masters(1) == ["fw2"] and cluster.masters(2) == ["fw2"]
    cluster.wait_until("client -> server through fw2",
                       lambda: lab.ping("client", SERVER4, timeout=1), timeout=5)


def test_status_json_has_documented_fields(lab, hafw_paths):
    """`hactl status --json` carries every StatusReply field of
    proto/hafw/control/v1/control.proto (snake_case names), with values
    consistent with the cluster file."""
    cluster = HafwCluster(lab, hafw_paths)
    cluster.start_all()
    _wait_masters(cluster, "fw1", "fw2")
    cluster.wait_until("fw2 to hear fw1",
                       lambda: cluster.vhost("fw2", 1)["adverts_received"] >= 1, timeout=5)
    # hactl's own JSON (not the kit's parsed copy, which fills in defaults).
    st = json.loads(cluster.hactl("fw2", "status", "--json"))
    assert {"node", "version", "uptime_seconds", "vhosts", "groups", "interfaces"} <= set(st)
    assert st["node"] == "fw2" and st["version"] and st["uptime_seconds"] > 0
    v = next(x for x in st["vhosts"] if x["vhid"] == 1)
    assert set(v) >= {
        "interface", "vhid", "vips", "state", "advbase", "advskew", "advertised_advskew",
        "preempt", "link_up", "demote", "demotion_reasons", "last_transition", "transitions",
        "adverts_sent", "adverts_received", "drops", "last_peer",
        "advertisement_interval_seconds", "master_down_interval_seconds"}, sorted(v)
    assert v["interface"] == "lan0" and v["state"] == "BACKUP"
    assert v["vips"] == [f"{plan.LAN_VIP4}/24", f"{plan.LAN_VIP6}/64"]
    assert (v["advbase"], v["advskew"], v["advertised_advskew"]) == (1, 100, 100)
    assert v["preempt"] is True and v["link_up"] is True and v["demote"] == 0
    # proto3's JSON mapping writes uint64 counters as strings (numbers soon: both pass).
    assert int(v["adverts_sent"]) == 0 and int(v["adverts_received"]) >= 1
    assert isinstance(v["drops"], dict) and isinstance(v["demotion_reasons"], list)
    assert set(v["last_transition"]) >= {"from", "to", "cause", "seconds_ago"}
    assert (v["last_transition"]["from"], v["last_transition"]["to"]) == ("INIT", "BACKUP")
    assert set(v["last_peer"]) >= {"address", "advbase", "advskew", "demote"}
    assert (v["last_peer"]["advbase"], v["last_peer"]["advskew"]) == (1, 0)
    assert abs(v["advertisement_interval_seconds"] - (1 + 100 / 256)) < 1e-6
    assert abs(v["master_down_interval_seconds"] - (3 + 100 / 256)) < 1e-6
    edge = next(g for g in st["groups"] if g["name"] == "edge")
    assert set(edge) >= {"name", "interfaces", "total", "reasons"}
    assert sorted(edge["interfaces"]) == ["lan0", "wan0"] and edge["total"] == 0
    ifs = {i["interface"]: i for i in st["interfaces"]}
    assert set(ifs) == {"lan0", "wan0"}
    assert all(set(i) >= {"interface", "link_up", "drops"} and i["link_up"] for i in ifs.values())
    master = cluster.vhost("fw1", 1)
    assert master["state"] == "MASTER" and int(master["adverts_sent"]) > 0


def test_agent_exits_nonzero_with_clear_message_for_missing_interface(lab, hafw_paths):
    """A vhid on an interface the node does not have (dmz0): the agent
    refuses to start, exits non-zero promptly, names the interface, and
    leaves no VIP behind on the interfaces that do exist."""
    vhids = default_vhids(lab.firewalls) + [
        Vhid(4, "dmz0", ["192.0.2.200/24"], {"fw1": 0, "fw2": 100})]
    cluster = HafwCluster(lab, hafw_paths, vhids=vhids)
    cluster.check("fw1")  # the file itself is valid: the node lacks the interface
    r = lab.run("fw1", [str(hafw_paths.require(hafw_paths.ha_agent)),
                        "--config", str(cluster.config_path("fw1")), "--node", "fw1",
                        "--control-socket", str(cluster.dir / "missing-if.sock"),
                        "--state-dir", str(cluster.dir / "missing-if-state")],
                check=False, timeout=15)
    output = r.stdout + r.stderr
    assert r.returncode != 0, f"ha-agent started without dmz0:\n{output}"
    assert "dmz0" in output, f"the error does not name the interface:\n{output}"
    assert any(w in output.lower() for w in ("no interface", "does not exist", "no such")), output
    assert _vips_of(cluster, "fw1") == []
