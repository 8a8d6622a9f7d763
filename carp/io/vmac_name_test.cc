#include <gtest/gtest.h>

#include "carp/io/vmac.h"

namespace hafw::carp::io {
namespace {

TEST(VmacNameTest, ShortParentKeepsItsNameLongOneUsesTheIfindex) {
  EXPECT_EQ(VmacInterfaceName("eth0", 2, 10), "vh10.eth0");
  EXPECT_EQ(VmacInterfaceName("enp0s31f6", 3, 255), "vh255.enp0s31f6");  // exactly 15
  EXPECT_EQ(VmacInterfaceName("enp0s31f6x", 26, 255), "vh255x1a");
  EXPECT_EQ(VmacInterfaceName("enx001122334455", 2147483647, 255), "vh255x7fffffff");
  for (int vhid = 1; vhid <= 255; ++vhid) {
    EXPECT_LE(VmacInterfaceName("abcdefghijklmno", 2147483647, static_cast<uint8_t>(vhid)).size(),
              15u);
  }
}

TEST(VmacNameTest, ParentSettingsOnlyTightened) {
  EXPECT_EQ(ParentArpSettings({0, 0, 0}), (ArpSettings{1, 2, 0}));
  EXPECT_EQ(ParentArpSettings({2, 2, 1}), (ArpSettings{2, 2, 1}));
}

}  // namespace
}  // namespace hafw::carp::io
