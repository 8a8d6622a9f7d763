#include "carp/io/link_monitor.h"

#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>

#include "carp/io/address_manager.h"
#include "testing/netns_lab.h"

namespace hafw::carp::io {
namespace {

using testkit::RunUntil;
using testkit::ScopedNetns;

using LinkMonitorTest = testkit::NetnsLabTest;

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

TEST_F(LinkMonitorTest, AddressEventsKeepTheTableAndAnOverrunRedumpsOnce) {
  ScopedNetns in(lab_.ns_a);
  ASSERT_TRUE(in.Ok());
  auto link = QueryLink(lab_.if_a);
  ASSERT_TRUE(link.has_value());
  auto am = AddressManager::Open();
  ASSERT_TRUE(am.has_value());
  boost::asio::io_context io;
  auto doc_addresses = [](const LinkMonitor& m) {
    return std::count_if(m.Addresses().begin(), m.Addresses().end(), [](const auto& a) {
      return IpPrefix::Parse("198.51.100.0/24")->Contains(a.prefix.address);
    });
  };
  std::vector<std::pair<IpAddress, bool>> heard;
  LinkMonitorOptions options;
  options.event_buffer_bytes = 1;  // the kernel's minimum: a burst overruns it
  auto monitor = LinkMonitor::Create(
      io, {},
      [&](const InterfaceAddress& a, bool present) {
        heard.emplace_back(a.prefix.address, present);
      },
      options);
  ASSERT_TRUE(monitor.has_value()) << monitor.error().ToString();
  EXPECT_EQ((*monitor)->AddressDumps(), 1u);

  // One address: an event, no dump.
  ASSERT_TRUE(am->Add(link->ifindex, *IpPrefix::Parse("198.51.100.1/32")).has_value());
  ASSERT_TRUE(RunUntil(io, [&] { return doc_addresses(**monitor) == 1; }));
  EXPECT_EQ((*monitor)->AddressDumps(), 1u);
  ASSERT_FALSE(heard.empty());
  EXPECT_EQ(heard.back(), std::make_pair(*IpAddress::Parse("198.51.100.1"), true));

  // A burst the tiny buffer cannot hold: the lost events come back through
  // one re-dump, and the table is whole again.
  for (int host = 2; host <= 64; ++host) {
    const auto prefix = *IpPrefix::Parse("198.51.100." + std::to_string(host) + "/32");
    ASSERT_TRUE(am->Add(link->ifindex, prefix).has_value());
  }
  ASSERT_TRUE(RunUntil(io, [&] { return doc_addresses(**monitor) == 64; }));
  EXPECT_EQ((*monitor)->Resyncs(), 1u);
  EXPECT_EQ((*monitor)->AddressDumps(), 2u);
  EXPECT_GT((*monitor)->EventSocketCounters().overruns, 0u);

  ASSERT_TRUE(am->Remove(link->ifindex, *IpPrefix::Parse("198.51.100.1/32")).has_value());
  ASSERT_TRUE(RunUntil(io, [&] { return doc_addresses(**monitor) == 63; }));
  EXPECT_EQ(heard.back(), std::make_pair(*IpAddress::Parse("198.51.100.1"), false));
}

}  // namespace
}  // namespace hafw::carp::io
