"""hafwkit: the test kit of hafw's namespace-lab tests, the demo and the
benchmarks (docs/testing.md, "The test kit").

Modules by concern (import what you need; nothing here is imported eagerly):

  netns      namespaces: list, delete, sweep dead runs' labs, enter one
  plan       the fixed plan: names, documentation addresses, ports, the ruleset
  lab        Lab: the lab's life cycle, processes in nodes, routes, links (build: building it)
  traffic    TCP line echo, UDP echo, the numbered UDP probe
  flows      long-lived TCP/UDP flows with per-flow loss accounting; bulk connections
             (their processes: flowproc, bulkproc)
  conntrack  conntrack snapshots as normalized records, diffs, expectations, events
  faults     sync-link faults: link down, random loss, one-way block
  spec       the cluster file: ClusterSpec, Vhid, SyncSpec, render()
  agents     HafwCluster: ha-agents per firewall, logs, kill_node, waits
  control    ControlClient: the agent's control socket, protocol spoken directly
  hactl      hactl as a subprocess (for tests of the command line)
  pcap       pcap reader/decoder (CARP, VRRP, ARP, NA, IP/TCP/UDP) and Capture
  peers      ucarp, keepalived, conntrackd in a namespace
  waits      bounded waits: wait_until, wait_for_value, holds_for, Deadline
  load       machine load (load average, CPU busy)
  timing     timing asserts: reported figures, one retry when loaded
  paths      HafwPaths: the build tree's binaries and generated bindings
"""
