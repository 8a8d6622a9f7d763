#include "haagent/control/status_format.h"

#include <string>

#include <gtest/gtest.h>

namespace hafw::agent {
namespace {

control::v1::StatusReply Sample() {
  control::v1::StatusReply st;
  st.set_node("fw1");
  st.set_version("0.1.0");
  st.set_uptime_seconds(7);
  auto* lan = st.add_vhosts();
  lan->set_interface("lan0");
  lan->set_vhid(1);
  lan->add_vips("192.0.2.1/24");
  lan->set_state("MASTER");
  lan->set_advbase(1);
  lan->set_advskew(0);
  lan->set_advertised_advskew(240);
  lan->set_link_up(true);
  lan->set_demote(1);
  lan->set_adverts_sent(5);
  lan->set_transitions(2);
  (*lan->mutable_drops())["bad_ttl"] = 2;
  (*lan->mutable_drops())["bad_auth"] = 1;
  auto* t = lan->mutable_last_transition();
  t->set_from("BACKUP");
  t->set_to("MASTER");
  t->set_cause("master-down");
  t->set_seconds_ago(83);
  auto* p = lan->mutable_last_peer();
  p->set_address("192.0.2.3");
  p->set_advbase(1);
  p->set_advskew(100);
  auto* wan = st.add_vhosts();
  wan->set_interface("wan0");
  wan->set_vhid(2);
  wan->set_state("INIT");
  wan->set_link_up(false);
  auto* g = st.add_groups();
  g->set_name("edge");
  g->add_interfaces("lan0");
  g->add_interfaces("wan0");
  g->set_total(1);
  auto* r = g->add_reasons();
  r->set_reason("link wan0");
  r->set_count(1);
  r->set_since_seconds_ago(2);
  auto* i = st.add_interfaces();
  i->set_interface("lan0");
  (*i->mutable_drops())["short"] = 1;
  return st;
}

TEST(StatusFormatTest, Text) {
  std::string text = FormatStatusText(Sample());
  for (const char* want : {
           "node fw1 (hafw 0.1.0), up 7.0s\n",
           "1/0(240)",
           "MASTER",
           "INIT*",
           "(* parent link down)\n",
           "BACKUP->MASTER (master-down) 1m23s ago",
           "vhid 1 on lan0: last advertisement from 192.0.2.3 (advbase 1, advskew 100, demote 0)",
           "  group edge (lan0, wan0): 1\n",
           "    link wan0 +1 since 2.0s ago\n",
           "vhid 1 on lan0: sent 5, received 0, transitions 2; dropped: bad_auth 1, bad_ttl 2\n",
           "  lan0 (no vhid): dropped: short 1\n",
       }) {
    EXPECT_NE(text.find(want), std::string::npos) << want << "\n" << text;
  }
}

TEST(StatusFormatTest, NoPeerHeard) {
  control::v1::StatusReply st;
  st.set_node("fw2");
  EXPECT_NE(FormatStatusText(st).find("Peers:\n  none heard\n"), std::string::npos);
}

TEST(StatusFormatTest, Ages) {
  EXPECT_EQ(FormatAge(4.25), "4.2s");
  EXPECT_EQ(FormatAge(83), "1m23s");
  EXPECT_EQ(FormatAge(7500), "2h05m");
  EXPECT_EQ(FormatAge(90000), "1d01h");
  EXPECT_EQ(FormatAge(-3), "0.0s");
}

}  // namespace
}  // namespace hafw::agent
