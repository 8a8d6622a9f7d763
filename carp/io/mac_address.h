#pragma once

// Ethernet addresses for the Linux adapters (ARP, NA, virtual MACs).

#include <array>
#include <cstdint>
#include <cstdio>
#include <string>

namespace hafw::carp::io {

using MacAddress = std::array<uint8_t, 6>;

// The CARP/VRRP virtual router MAC 00:00:5e:00:01:<vhid>.
inline MacAddress VirtualMac(uint8_t vhid) { return {0x00, 0x00, 0x5e, 0x00, 0x01, vhid}; }

inline std::string MacToString(const MacAddress& mac) {
  char text[18];
  std::snprintf(text, sizeof(text), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
                mac[4], mac[5]);
  return text;
}

}  // namespace hafw::carp::io
