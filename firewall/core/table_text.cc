#include "firewall/core/table_text.h"

#include <algorithm>
#include <string>
#include <vector>

namespace hafw::firewall {

bool IsAgentTableComment(std::string_view comment) {
  return comment.substr(0, kTableCommentPrefix.size()) == kTableCommentPrefix;
}

namespace {

constexpr int kRawPriority = -300;  // NF_IP_PRI_RAW, "raw" in nftables

std::string Quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

// "{ a, b }" for several items, "a" for one.
std::string OneOrSet(const std::vector<std::string>& items) {
  if (items.size() == 1) return items.front();
  std::string out = "{ ";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ", ";
    out += items[i];
  }
  return out + " }";
}

std::string PriorityText() {
  const int offset = kHookPriority - kRawPriority;
  if (offset == 0) return "raw";
  return offset < 0 ? "raw - " + std::to_string(-offset) : "raw + " + std::to_string(offset);
}

// A host prefix is written as the bare address, as nftables lists it.
std::string ElementText(const IpPrefix& p) {
  return p.length == IpPrefix::MaxLength(p.address.Family()) ? p.address.ToString() : p.ToString();
}

struct FamilyNames {
  IpFamily family;
  std::string_view carp_set;
  std::string_view sync_set;
  std::string_view key_type;
  std::string_view saddr;  // the source-address selector of this family
};

constexpr FamilyNames kFamilies[] = {
    {IpFamily::kV4, "carp-sources-v4", "sync-peers-v4", "ipv4_addr", "ip saddr"},
    {IpFamily::kV6, "carp-sources-v6", "sync-peers-v6", "ipv6_addr", "ip6 saddr"},
};

std::vector<CarpParent> SortedParents(const FirewallPlan& plan) {
  std::vector<CarpParent> parents = plan.carp_parents;
  std::sort(parents.begin(), parents.end(),
            [](const CarpParent& a, const CarpParent& b) { return a.interface < b.interface; });
  for (CarpParent& p : parents) p.allowed_sources = NormalizeSources(std::move(p.allowed_sources));
  return parents;
}

// `"lan0" . 192.0.2.2` for every allowed source of `family`.
std::vector<std::string> CarpElements(const std::vector<CarpParent>& parents, IpFamily family) {
  std::vector<std::string> out;
  for (const CarpParent& parent : parents) {
    for (const IpPrefix& p : parent.allowed_sources) {
      if (p.address.Family() != family) continue;
      out.push_back(Quoted(parent.interface) + " . " + ElementText(p));
    }
  }
  return out;
}

std::vector<std::string> SyncElements(const SyncLink& sync, IpFamily family) {
  std::vector<IpAddress> peers;
  for (const IpAddress& a : sync.peer_addresses) {
    if (a.Family() == family) peers.push_back(a);
  }
  std::sort(peers.begin(), peers.end());
  peers.erase(std::unique(peers.begin(), peers.end()), peers.end());
  std::vector<std::string> out;
  out.reserve(peers.size());
  for (const IpAddress& a : peers) out.push_back(a.ToString());
  return out;
}

std::string CounterRule(DropReason reason) {
  return "counter name " + Quoted(DropReasonName(reason)) + " drop";
}

struct SetText {
  std::string name;
  std::string type;
  bool interval = false;
  std::vector<std::string> elements;
};

struct ChainText {
  std::string name;
  std::string header;  // "type filter hook ..." for the base chain, else ""
  std::vector<std::string> rules;
};

// What a plan renders, in rendering order; RenderReload deletes the old one's
// chains and sets by these names.
struct Layout {
  std::vector<SetText> sets;
  std::vector<ChainText> chains;  // the base chain (which jumps) first
};

Layout BuildLayout(const FirewallPlan& plan) {
  const std::vector<CarpParent> parents = SortedParents(plan);
  Layout layout;
  std::vector<std::string> carp_rules;
  if (!parents.empty()) {
    carp_rules.emplace_back("fib daddr type != { local, multicast } return");
    carp_rules.emplace_back("ip ttl != 255 " + CounterRule(DropReason::kCarpTtl));
    carp_rules.emplace_back("ip6 hoplimit != 255 " + CounterRule(DropReason::kCarpTtl));
    for (const FamilyNames& f : kFamilies) {
      auto elements = CarpElements(parents, f.family);
      if (elements.empty()) continue;
      layout.sets.push_back({std::string(f.carp_set), "ifname . " + std::string(f.key_type),
                             /*interval=*/true, std::move(elements)});
      carp_rules.push_back("iifname . " + std::string(f.saddr) + " @" + std::string(f.carp_set) +
                           " return");
    }
    carp_rules.push_back(CounterRule(DropReason::kCarpSource));
  }

  std::vector<std::string> sync_rules;
  if (plan.sync) {
    for (const FamilyNames& f : kFamilies) {
      auto elements = SyncElements(*plan.sync, f.family);
      if (elements.empty()) continue;
      layout.sets.push_back({std::string(f.sync_set), std::string(f.key_type), /*interval=*/false,
                             std::move(elements)});
      sync_rules.push_back(std::string(f.saddr) + " @" + std::string(f.sync_set) + " return");
    }
    sync_rules.emplace_back("fib daddr type != local return");
    sync_rules.push_back(CounterRule(DropReason::kSyncSource));
  }

  std::vector<std::string> base_rules;
  if (!parents.empty()) {
    std::vector<std::string> names;
    names.reserve(parents.size());
    for (const CarpParent& p : parents) names.push_back(Quoted(p.interface));
    base_rules.push_back("iifname " + OneOrSet(names) + " meta l4proto " +
                         std::to_string(kCarpProtocol) + " jump " + std::string(kCarpChain));
  }
  if (plan.sync) {
    base_rules.push_back("iifname " + Quoted(plan.sync->interface) + " tcp dport " +
                         std::to_string(plan.sync->port) + " jump " + std::string(kSyncChain));
  }
  if (!base_rules.empty()) {
    layout.chains.push_back(
        {std::string(kBaseChain),
         "type filter hook prerouting priority " + PriorityText() + "; policy accept;",
         std::move(base_rules)});
  }
  if (!carp_rules.empty()) layout.chains.push_back({std::string(kCarpChain), "", carp_rules});
  if (!sync_rules.empty()) layout.chains.push_back({std::string(kSyncChain), "", sync_rules});
  if (plan.conntrack_labels) {
    layout.chains.push_back(
        {std::string(kLabelsChain), "", {"ct label set " + std::to_string(kLabelsRuleBit)}});
  }
  return layout;
}

void AddSet(std::string& out, const SetText& set) {
  out += "\n\tset " + set.name + " {\n";
  out += "\t\ttype " + set.type + "\n";
  if (set.interval) out += "\t\tflags interval\n";
  out += "\t\telements = { ";
  for (size_t i = 0; i < set.elements.size(); ++i) {
    if (i > 0) out += ", ";
    out += set.elements[i];
  }
  out += " }\n\t}\n";
}

void AddChain(std::string& out, const ChainText& chain) {
  out += "\n\tchain " + chain.name + " {\n";
  if (!chain.header.empty()) out += "\t\t" + chain.header + "\n";
  for (const std::string& rule : chain.rules) out += "\t\t" + rule + "\n";
  out += "\t}\n";
}

}  // namespace

std::string RenderTable(const FirewallPlan& plan, const TableOptions& options) {
  std::string out = "table inet " + plan.table_name + " {\n";
  if (options.owner) out += "\tflags owner\n";
  out += "\tcomment " + Quoted(kTableComment) + "\n";
  // Every reason's counter exists whatever the plan, so status and metrics
  // always show the same set. On a table that has them already, these
  // declarations change nothing (the kernel keeps the counts).
  for (DropReason reason : kDropReasons) {
    const PacketCount& c = options.initial_counters[reason];
    out += "\n\tcounter " + std::string(DropReasonName(reason)) + " {\n";
    out += "\t\tpackets " + std::to_string(c.packets) + " bytes " + std::to_string(c.bytes) + "\n";
    out += "\t}\n";
  }
  const Layout layout = BuildLayout(plan);
  for (const SetText& set : layout.sets) AddSet(out, set);
  for (const ChainText& chain : layout.chains) AddChain(out, chain);
  out += "}\n";
  return out;
}

std::string RenderApply(const FirewallPlan& plan, const TableOptions& options, bool table_exists) {
  std::string out = table_exists ? RenderDelete(plan.table_name) : std::string();
  return out + RenderTable(plan, options);
}

std::string RenderReload(const FirewallPlan& old_plan, const FirewallPlan& new_plan,
                         const TableOptions& options) {
  const std::string table = "inet " + new_plan.table_name;
  // Flushing first drops every rule, so no jump or set reference is left
  // when the chains and sets go.
  std::string out = "flush table " + table + "\n";
  const Layout old_layout = BuildLayout(old_plan);
  for (const ChainText& chain : old_layout.chains) {
    out += "delete chain " + table + " " + chain.name + "\n";
  }
  for (const SetText& set : old_layout.sets) out += "delete set " + table + " " + set.name + "\n";
  return out + RenderTable(new_plan, options);
}

std::string RenderDelete(std::string_view table_name) {
  return "delete table inet " + std::string(table_name) + "\n";
}

}  // namespace hafw::firewall
