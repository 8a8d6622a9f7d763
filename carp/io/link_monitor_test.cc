#include "carp/io/link_monitor.h"

#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>

#include "carp/io/netns_lab.h"

namespace hafw::carp::io {
namespace {

using testing::RunUntil;
using testing::ScopedNetns;

using LinkMonitorTest = testing::NetnsLabTest;

TEST_F(LinkMonitorTest, InitialStateAndDownUpEvents) {
  ScopedNetns in(lab_.ns_a);
  ASSERT_TRUE(in.Ok());
  boost::asio::io_context io;
  std::vector<std::pair<std::string, bool>> events;
  auto monitor = LinkMonitor::Create(
      io, [&](const LinkInfo& link, bool up) { events.emplace_back(link.name, up); });
  ASSERT_TRUE(monitor.has_value()) << monitor.error().ToString();
  auto link = (*monitor)->Find(lab_.if_a);
  ASSERT_TRUE(link);
  EXPECT_TRUE(link->Up());
  EXPECT_NE(link->mac, MacAddress{});
  ASSERT_TRUE((*monitor)->Find(link->ifindex));
  EXPECT_EQ((*monitor)->Find(link->ifindex)->name, lab_.if_a);
  auto queried = QueryLink(lab_.if_a);
  ASSERT_TRUE(queried.has_value());
  EXPECT_EQ(queried->ifindex, link->ifindex);
  EXPECT_EQ(queried->mac, link->mac);

  auto saw = [&](bool up) {
    for (const auto& [name, state] : events) {
      if (name == lab_.if_a && state == up) return true;
    }
    return false;
  };
  ASSERT_EQ(lab_.Ip(lab_.ns_a, {"link", "set", lab_.if_a, "down"}), 0);
  ASSERT_TRUE(RunUntil(io, [&] { return saw(false); }));
  EXPECT_FALSE((*monitor)->Find(lab_.if_a)->Up());
  events.clear();
  ASSERT_EQ(lab_.Ip(lab_.ns_a, {"link", "set", lab_.if_a, "up"}), 0);
  ASSERT_TRUE(RunUntil(io, [&] { return saw(true); }));
  EXPECT_TRUE((*monitor)->Find(lab_.if_a)->Up());

  // Carrier loss: the peer end going down makes this end not RUNNING.
  events.clear();
  ASSERT_EQ(lab_.Ip(lab_.ns_b, {"link", "set", lab_.if_b, "down"}), 0);
  ASSERT_TRUE(RunUntil(io, [&] { return saw(false); }));
  EXPECT_GT((*monitor)->Events(), 0u);
}

}  // namespace
}  // namespace hafw::carp::io
