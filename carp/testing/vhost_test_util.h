#pragma once

// Helpers shared by the carp tests: configs, signed peer advertisements,
// and readable views of action lists. Test-only (hafw_carp_testing).

#include <string>
#include <variant>
#include <vector>

#include "carp/core/carp_auth.h"
#include "carp/core/codec.h"
#include "carp/core/vhost_engine.h"
#include "common/ip_address.h"

namespace hafw::carp::testutil {

inline IpAddress Ip(std::string_view text) { return IpAddress::Parse(text).value(); }

inline std::vector<uint8_t> Pass(std::string_view text) { return {text.begin(), text.end()}; }

inline VhostConfig MakeConfig(uint8_t advskew = 0, std::vector<IpAddress> vips = {},
                              uint8_t vhid = 10) {
  VhostConfig config;
  config.vhid = vhid;
  config.advbase = 1;
  config.advskew = advskew;
  config.vips = vips.empty() ? std::vector<IpAddress>{Ip("192.0.2.100")} : std::move(vips);
  config.passphrase = Pass("secret");
  return config;
}

inline const IpAddress kGroupV4 = Ip("224.0.0.18");
inline const IpAddress kGroupV6 = Ip("ff02::12");
inline const IpAddress kPeerV4 = Ip("192.0.2.2");
inline const IpAddress kPeerV6 = Ip("fe80::2");

struct PeerAd {
  uint8_t advbase = 1;
  uint8_t advskew = 0;
  uint8_t demote = 0;
  uint64_t counter = 0x1122334455667788;
  IpFamily family = IpFamily::kV4;
  uint8_t ttl = 255;
};

// A peer's advertisement, signed like the peer would sign it for `config`
// (optionally with another passphrase or VIP list).
inline ReceivedAdvertisement MakeRx(const VhostConfig& config, const PeerAd& p) {
  CarpAuthenticator auth(config.passphrase, config.vhid, config.vips);
  ReceivedAdvertisement rx;
  rx.family = p.family;
  rx.source = p.family == IpFamily::kV4 ? kPeerV4 : kPeerV6;
  rx.destination = p.family == IpFamily::kV4 ? kGroupV4 : kGroupV6;
  rx.ttl = p.ttl;
  rx.ad.vhid = config.vhid;
  rx.ad.advbase = p.advbase;
  rx.ad.advskew = p.advskew;
  rx.ad.demote = p.demote;
  rx.ad.counter = p.counter;
  rx.ad.hmac = auth.Sign(p.counter);
  return rx;
}

// What another node would receive from one of our SendAdvertisement actions.
inline ReceivedAdvertisement Deliver(const SendAdvertisement& send, IpAddress source) {
  ReceivedAdvertisement rx;
  rx.family = send.family;
  rx.source = source;
  rx.destination =
      send.unicast_destination.value_or(send.family == IpFamily::kV4 ? kGroupV4 : kGroupV6);
  rx.ttl = 255;
  rx.ad = DecodeAdvertisement(send.bytes).value();
  return rx;
}

template <typename T>
std::vector<T> Only(const Actions& actions) {
  std::vector<T> result;
  for (const auto& a : actions) {
    if (const T* t = std::get_if<T>(&a)) result.push_back(*t);
  }
  return result;
}

// "StateChanged BACKUP->MASTER master-down", "InstallVips", "Send ipv4",
// "Send ipv6 bow-out", "AnnounceVips", "RemoveVips".
inline std::string Describe(const Action& action) {
  struct Visitor {
    std::string operator()(const SendAdvertisement& s) const {
      return std::string("Send ") + std::string(IpFamilyName(s.family)) +
             (s.bow_out ? " bow-out" : "");
    }
    std::string operator()(const StateChanged& s) const {
      return "StateChanged " + std::string(VhostStateName(s.from)) + "->" +
             std::string(VhostStateName(s.to)) + " " + std::string(TransitionCauseName(s.cause));
    }
    std::string operator()(const InstallVips&) const { return "InstallVips"; }
    std::string operator()(const RemoveVips&) const { return "RemoveVips"; }
    std::string operator()(const AnnounceVips&) const { return "AnnounceVips"; }
  };
  return std::visit(Visitor{}, action);
}

inline std::vector<std::string> Describe(const Actions& actions) {
  std::vector<std::string> result;
  for (const auto& a : actions) result.push_back(Describe(a));
  return result;
}

}  // namespace hafw::carp::testutil
