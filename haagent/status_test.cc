#include "haagent/status.h"

#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include "haagent/status_format.h"

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

class StatusTest : public ::testing::Test {
 protected:
  StatusTest() : set_(MakeGroups()) {
    EXPECT_TRUE(set_.Add("lan0", Vhid(1, "192.0.2.1"), 1).has_value());
    EXPECT_TRUE(set_.Add("wan0", Vhid(2, "198.51.100.1"), 2).has_value());
    ctx_.node = "fw1";
    ctx_.version = "0.1.0";
    ctx_.started = t0_;
    ctx_.vips[{"lan0", 1}] = {*IpPrefix::Parse("192.0.2.1/24")};
  }
  static carp::DemotionGroups MakeGroups() {
    carp::DemotionGroups g;
    g.AddGroup("edge", {"lan0", "wan0"});
    return g;
  }

  TimePoint t0_ = TimePoint{} + Seconds(1000);
  carp::VhostSet set_;
  StatusContext ctx_;
};

TEST_F(StatusTest, ReportsStatesTransitionsAndDemotion) {
  set_.Start(t0_);
  // Nobody else advertises: both vhids become MASTER after master-down.
  set_.OnTimer(t0_ + Seconds(4));
  set_.OnLinkChange(t0_ + Seconds(5), "wan0", false);
  ctx_.now = t0_ + Seconds(7);
  auto st = BuildStatus(set_, ctx_);

  EXPECT_EQ(st.node(), "fw1");
  EXPECT_DOUBLE_EQ(st.uptime_seconds(), 7.0);
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
  EXPECT_NE(text.find("node fw1 (hafw 0.1.0), up 7.0s"), std::string::npos) << text;
  EXPECT_NE(text.find("INIT*"), std::string::npos) << text;
  EXPECT_NE(text.find("link wan0 +1 since 2.0s ago"), std::string::npos) << text;
}

TEST_F(StatusTest, CountsDropsPerVhidAndInterface) {
  set_.Start(t0_);
  carp::PacketInfo info;
  info.source = *IpAddress::Parse("192.0.2.3");
  info.destination = *IpAddress::Parse("224.0.0.18");
  info.ttl = 255;
  const uint8_t short_packet[10] = {};
  set_.OnPacket(t0_, "lan0", info, short_packet);
  ctx_.now = t0_;
  ctx_.socket_drops["lan0"]["short_ip"] = 3;
  auto st = BuildStatus(set_, ctx_);
  ASSERT_EQ(st.interfaces_size(), 2);
  EXPECT_EQ(st.interfaces(0).interface(), "lan0");
  EXPECT_EQ(st.interfaces(0).drops().at("short"), 1u);
  EXPECT_EQ(st.interfaces(0).drops().at("short_ip"), 3u);
  EXPECT_NE(FormatStatusText(st).find("lan0 (no vhid): dropped: short 1, short_ip 3"),
            std::string::npos);
}

TEST_F(StatusTest, JsonUsesProtoNamesAndParsesBack) {
  set_.Start(t0_);
  ctx_.now = t0_;
  auto st = BuildStatus(set_, ctx_);
  std::string json = FormatStatusJson(st);
  EXPECT_NE(json.find("\"adverts_sent\""), std::string::npos);
  control::v1::StatusReply back;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &back).ok());
  EXPECT_EQ(back.vhosts_size(), 2);
  EXPECT_EQ(back.vhosts(0).state(), "BACKUP");
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
