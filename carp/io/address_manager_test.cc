#include "carp/io/address_manager.h"

#include <linux/if_addr.h>

#include <algorithm>

#include <gtest/gtest.h>

#include "carp/io/link_monitor.h"
#include "testing/netns_lab.h"

namespace hafw::carp::io {
namespace {

using testkit::ScopedNetns;

IpPrefix P(const char* text) { return *IpPrefix::Parse(text); }

std::optional<InterfaceAddress> FindAddress(AddressManager& am, int ifindex, const IpAddress& a) {
  auto list = am.List(ifindex);
  EXPECT_TRUE(list.has_value()) << list.error().ToString();
  if (!list) return std::nullopt;
  for (const auto& entry : *list) {
    if (entry.prefix.address == a) return entry;
  }
  return std::nullopt;
}

using AddressManagerTest = testkit::NetnsLabTest;

TEST_F(AddressManagerTest, AddRemoveIdempotentV4AndV6) {
  ScopedNetns in(lab_.ns_a);
  ASSERT_TRUE(in.Ok());
  auto link = QueryLink(lab_.if_a);
  ASSERT_TRUE(link.has_value()) << link.error().ToString();
  auto am = AddressManager::Open();
  ASSERT_TRUE(am.has_value()) << am.error().ToString();

  for (const char* text : {"192.0.2.100/24", "2001:db8:1::100/64"}) {
    SCOPED_TRACE(text);
    const IpPrefix vip = P(text);
    ASSERT_FALSE(FindAddress(*am, link->ifindex, vip.address));
    ASSERT_TRUE(am->Add(link->ifindex, vip).has_value());
    auto found = FindAddress(*am, link->ifindex, vip.address);
    ASSERT_TRUE(found);
    EXPECT_EQ(found->prefix, vip);
    EXPECT_FALSE(found->Tentative());
    if (vip.address.IsV6()) {
      EXPECT_NE(found->flags & IFA_F_NODAD, 0u);
    }
    auto again = am->Add(link->ifindex, vip);  // EEXIST is success
    EXPECT_TRUE(again.has_value()) << again.error().ToString();
    ASSERT_TRUE(am->Remove(link->ifindex, vip).has_value());
    EXPECT_FALSE(FindAddress(*am, link->ifindex, vip.address));
    auto gone = am->Remove(link->ifindex, vip);  // EADDRNOTAVAIL is success
    EXPECT_TRUE(gone.has_value()) << gone.error().ToString();
  }
  // The real address is untouched.
  EXPECT_TRUE(FindAddress(*am, link->ifindex, *IpAddress::Parse("192.0.2.1")));
}

TEST_F(AddressManagerTest, RemoveIfPresentMatchesAnyPrefixLength) {
  ScopedNetns in(lab_.ns_a);
  ASSERT_TRUE(in.Ok());
  auto link = QueryLink(lab_.if_a);
  ASSERT_TRUE(link.has_value());
  auto am = AddressManager::Open();
  ASSERT_TRUE(am.has_value());
  // Leftovers of a "crashed run" with a different prefix length than configured.
  ASSERT_TRUE(am->Add(link->ifindex, P("192.0.2.101/32")).has_value());
  ASSERT_TRUE(am->Add(link->ifindex, P("2001:db8:1::101/128")).has_value());
  const std::vector<IpPrefix> configured = {P("192.0.2.101/24"), P("2001:db8:1::101/64"),
                                            P("203.0.113.9/24")};
  auto removed = am->RemoveIfPresent(link->ifindex, configured);
  ASSERT_TRUE(removed.has_value()) << removed.error().ToString();
  EXPECT_EQ(*removed, 2);
  EXPECT_FALSE(FindAddress(*am, link->ifindex, configured[0].address));
  EXPECT_FALSE(FindAddress(*am, link->ifindex, configured[1].address));
  auto none = am->RemoveIfPresent(link->ifindex, configured);
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ(*none, 0);
  EXPECT_TRUE(FindAddress(*am, link->ifindex, *IpAddress::Parse("192.0.2.1")));
}

TEST_F(AddressManagerTest, ErrorsCarryTheNetlinkText) {
  ScopedNetns in(lab_.ns_a);
  ASSERT_TRUE(in.Ok());
  auto am = AddressManager::Open();
  ASSERT_TRUE(am.has_value());
  auto result = am->Add(999999, P("192.0.2.102/24"));
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, ErrorCode::kIo);
  EXPECT_NE(result.error().context.find("192.0.2.102/24"), std::string::npos)
      << result.error().context;
  EXPECT_NE(result.error().context.find("No such device"), std::string::npos)
      << result.error().context;
  auto missing = QueryLink("hafwnosuchif0");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace hafw::carp::io
