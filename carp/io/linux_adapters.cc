// LinuxAdapters: CarpIo's adapters on the real kernel and one io_context.

#include <chrono>
#include <memory>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>

#include "carp/io/adapters.h"
#include "carp/io/address_manager.h"
#include "carp/io/announcer.h"
#include "carp/io/carp_socket.h"
#include "carp/io/link_monitor.h"
#include "carp/io/vmac.h"

namespace hafw::carp::io {
namespace {

// A steady_timer armed for the distance from the Clock's now to the deadline.
class AsioDeadlineTimer final : public DeadlineTimer {
 public:
  AsioDeadlineTimer(boost::asio::io_context& io, const Clock& clock) : timer_(io), clock_(clock) {}

  void SetCallback(std::function<void()> on_expiry) override { on_expiry_ = std::move(on_expiry); }

  void Arm(TimePoint deadline) override {
    const Duration delay = std::max(Duration::zero(), deadline - clock_.Now());
    timer_.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(delay));
    std::weak_ptr<int> alive = alive_;
    timer_.async_wait([this, alive](const boost::system::error_code& error) {
      if (alive.expired() || error) return;
      if (on_expiry_) on_expiry_();
    });
  }

  void Cancel() override { timer_.cancel(); }

 private:
  boost::asio::steady_timer timer_;
  const Clock& clock_;
  std::function<void()> on_expiry_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

template <typename T>
Result<std::unique_ptr<T>> Boxed(Result<T> opened) {
  if (!opened) return tl::unexpected(opened.error());
  return std::make_unique<T>(std::move(*opened));
}

class Linux final : public CarpIoAdapters {
 public:
  explicit Linux(boost::asio::io_context& io) : io_(io) {}

  Result<std::unique_ptr<NetworkMonitor>> OpenMonitor(
      NetworkMonitor::LinkFn on_link, NetworkMonitor::AddressFn on_address) override {
    auto monitor = LinkMonitor::Create(io_, std::move(on_link), std::move(on_address));
    if (!monitor) return tl::unexpected(monitor.error());
    return std::unique_ptr<NetworkMonitor>(std::move(*monitor));
  }

  Result<std::unique_ptr<AddressControl>> OpenAddresses() override {
    auto opened = Boxed(AddressManager::Open());
    if (!opened) return tl::unexpected(opened.error());
    return std::unique_ptr<AddressControl>(std::move(*opened));
  }

  Result<std::unique_ptr<VipAnnouncer>> OpenAnnouncer() override {
    auto opened = Boxed(Announcer::Open());
    if (!opened) return tl::unexpected(opened.error());
    return std::unique_ptr<VipAnnouncer>(std::move(*opened));
  }

  Result<std::unique_ptr<VmacControl>> OpenVmacs() override {
    auto opened = Boxed(VmacLinks::Open());
    if (!opened) return tl::unexpected(opened.error());
    return std::unique_ptr<VmacControl>(std::move(*opened));
  }

  Result<std::unique_ptr<CarpTransport>> OpenSocket(
      IpFamily family, const std::string& ifname, int ifindex, CarpTransport::ReceiveFn on_receive,
      CarpTransport::LocalAddressFn is_local) override {
    auto sock =
        CarpSocket::Open(io_, family, ifname, ifindex, std::move(on_receive), std::move(is_local));
    if (!sock) return tl::unexpected(sock.error());
    return std::unique_ptr<CarpTransport>(std::move(*sock));
  }

  Result<std::unique_ptr<CarpTransport>> OpenSendSocket(IpFamily family, const std::string& ifname,
                                                        int ifindex) override {
    auto sock = CarpSocket::OpenSendOnly(io_, family, ifname, ifindex);
    if (!sock) return tl::unexpected(sock.error());
    return std::unique_ptr<CarpTransport>(std::move(*sock));
  }

  std::unique_ptr<DeadlineTimer> MakeTimer(const Clock& clock) override {
    return std::make_unique<AsioDeadlineTimer>(io_, clock);
  }

 private:
  boost::asio::io_context& io_;
};

}  // namespace

std::unique_ptr<CarpIoAdapters> LinuxAdapters(boost::asio::io_context& io) {
  return std::make_unique<Linux>(io);
}

}  // namespace hafw::carp::io
