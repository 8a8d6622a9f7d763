#pragma once

// Raw IP protocol-112 socket for one address family on one parent interface.
//
// Send: TTL / hop limit 255 (multicast and unicast), IPv4 TOS 0x10 with DF,
// multicast loopback off, source chosen per packet by the caller (the parent's
// own address, never a VIP: IPv4 through IP_PKTINFO's ipi_spec_dst, IPv6
// through IPV6_PKTINFO), destination 224.0.0.18 / ff02::12 or a unicast peer.
// Receive: bound to the device, member of the CARP group there; the IPv4 header
// is parsed and bounds-checked here (malformed packets are counted and
// dropped), IPv6 hop limit and destination come from ancillary data; the CARP
// bytes and their PacketInfo go to the callback.

#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include "carp/core/vhost_set.h"
#include "carp/io/adapters.h"
#include "carp/io/io_types.h"
#include "common/ip_address.h"
#include "common/result.h"

namespace hafw::carp::io {

// An IPv4 packet as a raw socket delivers it, split and checked.
struct Ipv4View {
  IpAddress source;
  IpAddress destination;
  uint8_t ttl = 0;
  std::span<const uint8_t> payload;  // after the header (and options), up to total length
};
enum class Ipv4Problem : uint8_t { kShort, kTruncated, kBadHeader };
// Pure: never reads outside `packet`. kShort: under 20 bytes; kBadHeader:
// version, IHL < 5, protocol not 112 or total length < IHL; kTruncated: IHL or
// total length beyond the bytes received. Trailing bytes beyond the total
// length (link padding) are ignored.
tl::expected<Ipv4View, Ipv4Problem> ParseIpv4Packet(std::span<const uint8_t> packet);

class CarpSocket final : public CarpTransport {
 public:
  // Opens, configures and starts reading. The socket belongs to the calling
  // thread's network namespace.
  static Result<std::unique_ptr<CarpSocket>> Open(boost::asio::io_context& io, IpFamily family,
                                                  const std::string& ifname, int ifindex,
                                                  ReceiveFn on_receive, LocalAddressFn is_local);
  // A socket that only sends, through `ifname` (a vhid's macvlan, so the
  // frames carry its virtual MAC), with a source address that may belong to
  // another interface (the parent's: IP_FREEBIND / IPV6_FREEBIND). It joins no
  // group and a drop-all filter keeps its receive queue empty: advertisements
  // are received on the parent only.
  static Result<std::unique_ptr<CarpSocket>> OpenSendOnly(boost::asio::io_context& io,
                                                          IpFamily family,
                                                          const std::string& ifname, int ifindex);
  ~CarpSocket() override;
  CarpSocket(const CarpSocket&) = delete;
  CarpSocket& operator=(const CarpSocket&) = delete;

  // Sends one packet carrying `carp_bytes` from `source` (an address of the
  // parent; link-local for IPv6) to the CARP group or `unicast_destination`.
  Result<void> Send(const IpAddress& source, const std::optional<IpAddress>& unicast_destination,
                    std::span<const uint8_t> carp_bytes) override;

  // Stops reading and closes the socket; Send fails afterwards.
  void Close() override;

  IpFamily Family() const { return family_; }
  const std::string& Interface() const { return ifname_; }
  int IfIndex() const { return ifindex_; }
  const CarpSocketCounters& Counters() const override { return counters_; }

 private:
  CarpSocket(boost::asio::io_context& io, int fd, IpFamily family, std::string ifname, int ifindex,
             ReceiveFn on_receive, LocalAddressFn is_local);
  void ArmRead();
  void OnReadable();
  // One datagram; false when the socket has nothing more (EAGAIN) or failed.
  bool ReceiveOne();
  void HandleV4(std::span<const uint8_t> packet, const msghdr& msg);
  void HandleV6(std::span<const uint8_t> payload, const msghdr& msg);

  boost::asio::posix::stream_descriptor descriptor_;
  IpFamily family_;
  std::string ifname_;
  int ifindex_;
  ReceiveFn on_receive_;
  LocalAddressFn is_local_;
  CarpSocketCounters counters_;
  bool closed_ = false;
  bool send_only_ = false;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace hafw::carp::io
