#include "haagent/services/carp_status.h"

#include <gtest/gtest.h>

#include "haagent/control/status_format.h"

namespace hafw::agent {
namespace {

carp::VhostConfig Vhid(uint8_t vhid, const char* vip) {
  carp::VhostConfig c;
  c.vhid = vhid;
  c.advbase = 1;
  c.advskew = 0;
  c.vips = {*IpAddress::Parse(vip)};
  c.passphrase = {'p', 'w'};
  return c;
}

class CarpStatusTest : public ::testing::Test {
 protected:
  CarpStatusTest() : set_(MakeGroups()) {
    EXPECT_TRUE(set_.Add("lan0", Vhid(1, "192.0.2.1"), 1).has_value());
    EXPECT_TRUE(set_.Add("wan0", Vhid(2, "198.51.100.1"), 2).has_value());
    extras_.vips[{"lan0", 1}] = {*IpPrefix::Parse("192.0.2.1/24")};
  }
  static carp::DemotionGroups MakeGroups() {
    carp::DemotionGroups g;
    g.AddGroup("edge", {"lan0", "wan0"});
    return g;
  }

  TimePoint t0_ = TimePoint{} + Seconds(1000);
  carp::VhostSet set_;
  CarpStatusExtras extras_;

  control::v1::StatusReply StatusAt(TimePoint now) const {
    control::v1::StatusReply st;
    AddCarpStatus(set_, extras_, now, st);
    return st;
  }
};

TEST_F(CarpStatusTest, ReportsStatesTransitionsAndDemotion) {
  set_.Start(t0_);
  // Nobody else advertises: both vhids become MASTER after master-down.
  set_.OnTimer(t0_ + Seconds(4));
  set_.OnLinkChange(t0_ + Seconds(5), "wan0", false);
  auto st = StatusAt(t0_ + Seconds(7));

  ASSERT_EQ(st.vhosts_size(), 2);
  const auto& lan = st.vhosts(0);
  EXPECT_EQ(lan.interface(), "lan0");
  EXPECT_EQ(lan.vips(0), "192.0.2.1/24");  // the configured prefix
  EXPECT_EQ(lan.demote(), 1);              // wan0's link reason demotes group edge
  ASSERT_EQ(lan.demotion_reasons_size(), 1);
  EXPECT_EQ(lan.demotion_reasons(0).group(), "edge");
  EXPECT_EQ(lan.demotion_reasons(0).reason(), "link wan0");
  EXPECT_DOUBLE_EQ(lan.demotion_reasons(0).since_seconds_ago(), 2.0);
  EXPECT_EQ(lan.state(), "MASTER");
  EXPECT_EQ(lan.last_transition().to(), "MASTER");
  EXPECT_EQ(lan.last_transition().cause(), "master-down");
  const auto& wan = st.vhosts(1);
  EXPECT_EQ(wan.vips(0), "198.51.100.1");  // no prefix known: the bare address
  EXPECT_EQ(wan.state(), "INIT");
  EXPECT_FALSE(wan.link_up());
  EXPECT_EQ(wan.last_transition().cause(), "link-down");

  std::string text = FormatStatusText(st);
  EXPECT_NE(text.find("INIT*"), std::string::npos) << text;
  EXPECT_NE(text.find("link wan0 +1 since 2.0s ago"), std::string::npos) << text;
}

TEST_F(CarpStatusTest, CountsDropsPerVhidAndInterface) {
  set_.Start(t0_);
  carp::PacketInfo info;
  info.source = *IpAddress::Parse("192.0.2.3");
  info.destination = *IpAddress::Parse("224.0.0.18");
  info.ttl = 255;
  const uint8_t short_packet[10] = {};
  set_.OnPacket(t0_, "lan0", info, short_packet);
  extras_.socket_drops["lan0"]["short_ip"] = 3;
  auto st = StatusAt(t0_);
  ASSERT_EQ(st.interfaces_size(), 2);
  EXPECT_EQ(st.interfaces(0).interface(), "lan0");
  EXPECT_EQ(st.interfaces(0).drops().at("short"), 1u);
  EXPECT_EQ(st.interfaces(0).drops().at("short_ip"), 3u);
  EXPECT_NE(FormatStatusText(st).find("lan0 (no vhid): dropped: short 1, short_ip 3"),
            std::string::npos);
}

TEST_F(CarpStatusTest, GroupsListMembersAndReasons) {
  set_.Start(t0_);
  set_.AdjustDemotion(t0_, "edge", "admin", 2);
  auto st = StatusAt(t0_ + Seconds(3));
  ASSERT_EQ(st.groups_size(), 2);  // "all" and "edge"
  const auto& edge = st.groups(1);
  EXPECT_EQ(edge.name(), "edge");
  EXPECT_EQ(edge.interfaces_size(), 2);
  EXPECT_EQ(edge.total(), 2u);
  ASSERT_EQ(edge.reasons_size(), 1);
  EXPECT_EQ(edge.reasons(0).reason(), "admin");
  EXPECT_DOUBLE_EQ(edge.reasons(0).since_seconds_ago(), 3.0);
  EXPECT_EQ(st.vhosts(0).demote(), 2u);
  EXPECT_DOUBLE_EQ(st.vhosts(0).advertisement_interval_seconds(), 1.0);
  EXPECT_DOUBLE_EQ(st.vhosts(0).master_down_interval_seconds(), 3.0);
}

}  // namespace
}  // namespace hafw::agent
