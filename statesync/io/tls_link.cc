#include "statesync/io/tls_link.h"

#include <algorithm>
#include <utility>

#include <boost/asio/error.hpp>
#include <boost/asio/ip/v6_only.hpp>

namespace hafw::statesync::io {
namespace {

using boost::asio::ip::tcp;

constexpr int kListenBacklog = 16;
constexpr Duration kAcceptRetry = Millis(100);

boost::asio::ip::address ToAsio(const IpAddress& address) {
  const auto bytes = address.Bytes();
  if (address.IsV4()) {
    boost::asio::ip::address_v4::bytes_type v4{};
    std::copy(bytes.begin(), bytes.end(), v4.begin());
    return boost::asio::ip::address_v4(v4);
  }
  boost::asio::ip::address_v6::bytes_type v6{};
  std::copy(bytes.begin(), bytes.end(), v6.begin());
  return boost::asio::ip::address_v6(v6);
}

IpAddress FromAsio(const boost::asio::ip::address& address) {
  if (address.is_v4()) return IpAddress::V4(address.to_v4().to_bytes());
  const auto v6 = address.to_v6();
  if (v6.is_v4_mapped()) {
    return IpAddress::V4(
        boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6).to_bytes());
  }
  return IpAddress::V6(v6.to_bytes());
}

}  // namespace

std::string_view RefusalName(Refusal refusal) {
  switch (refusal) {
    case Refusal::kUnknownAddress:
      return "unknown-address";
    case Refusal::kNotDialer:
      return "not-dialer";
    case Refusal::kTooManyPending:
      return "too-many-pending";
  }
  return "unknown";
}

Result<std::unique_ptr<TlsLink>> TlsLink::Create(boost::asio::io_context& io, TlsLinkConfig config,
                                                 TlsLinkCallbacks callbacks) {
  if (config.node.empty()) return MakeError(ErrorCode::kInvalidArgument, "sync link: no node name");
  if (config.backoff_min <= Duration::zero() || config.backoff_max < config.backoff_min ||
      config.handshake_timeout <= Duration::zero() || config.read_buffer_bytes == 0) {
    return MakeError(ErrorCode::kInvalidArgument, "sync link: bad timing or buffer settings");
  }
  for (const LinkEndpoint& peer : config.peers) {
    if (peer.address.Family() != config.local_address.Family()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "sync link: peer '" + peer.name + "' is not in the local address family");
    }
  }
  auto policy = PskPolicy::Create(config.node, config.peers, config.keys);
  if (!policy) return tl::unexpected(policy.error());
  std::unique_ptr<TlsLink> link(
      new TlsLink(io, std::move(config), std::move(callbacks), std::move(*policy)));
  auto client = MakeTlsContext(TlsRole::kClient);
  if (!client) return tl::unexpected(client.error());
  auto server = MakeTlsContext(TlsRole::kServer);
  if (!server) return tl::unexpected(server.error());
  link->client_context_ = std::move(*client);
  link->server_context_ = std::move(*server);
  return link;
}

TlsLink::TlsLink(boost::asio::io_context& io, TlsLinkConfig config, TlsLinkCallbacks callbacks,
                 std::shared_ptr<const PskPolicy> policy)
    : io_(io),
      config_(std::move(config)),
      callbacks_(std::move(callbacks)),
      policy_(std::move(policy)),
      acceptor_(io),
      accept_retry_(io) {
  peers_.resize(config_.peers.size());
  for (size_t i = 0; i < peers_.size(); ++i) {
    PeerSlot& slot = peers_[i];
    slot.endpoint = config_.peers[i];
    slot.dial = config_.node < slot.endpoint.name;  // the lower name dials
    slot.retry = std::make_unique<boost::asio::steady_timer>(io);
    slot.backoff = config_.backoff_min;
  }
}

TlsLink::~TlsLink() {
  try {
    Stop();
  } catch (...) {  // NOLINT(bugprone-empty-catch): nothing sane to do while destroying
  }
}

Result<void> TlsLink::Start() {
  if (started_) return MakeError(ErrorCode::kInternal, "sync link: started twice");
  started_ = true;
  const tcp::endpoint local(ToAsio(config_.local_address), config_.port);
  boost::system::error_code error;
  auto fail = [&](const char* what) {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    return MakeError(ErrorCode::kIo, std::string("sync link: ") + what + " " +
                                         config_.local_address.ToString() + " port " +
                                         std::to_string(config_.port) + ": " + error.message());
  };
  if (acceptor_.open(local.protocol(), error)) return fail("open");
  if (acceptor_.set_option(tcp::acceptor::reuse_address(true), error)) return fail("SO_REUSEADDR");
  if (local.protocol() == tcp::v6() &&
      acceptor_.set_option(boost::asio::ip::v6_only(true), error)) {
    return fail("IPV6_V6ONLY");
  }
  // Accepted sockets inherit the buffer sizes, which shape the window scale.
  if (auto tuned = ApplySocketTuning(acceptor_.native_handle(), config_.socket); !tuned) {
    return MakeError(ErrorCode::kIo, "sync link listener: " + tuned.error().context);
  }
  if (acceptor_.bind(local, error)) return fail("bind");
  if (acceptor_.listen(kListenBacklog, error)) return fail("listen");
  Accept();
  for (size_t i = 0; i < peers_.size(); ++i) {
    if (peers_[i].dial) Dial(i);
  }
  return {};
}

void TlsLink::Stop() {
  if (stopped_) return;
  stopped_ = true;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  accept_retry_.cancel();
  auto drop = [](std::shared_ptr<TlsConnection>& connection) {
    if (!connection) return;
    connection->Detach();
    connection->Close(CloseReason::kStopped);
    connection.reset();
  };
  for (auto& connection : pending_) drop(connection);
  pending_.clear();
  for (PeerSlot& slot : peers_) {
    slot.retry->cancel();
    drop(slot.active);
    drop(slot.retiring);
    drop(slot.next);
    drop(slot.dialing);
    slot.tls.reset();
  }
}

void TlsLink::Notice(std::string_view message) {
  if (callbacks_.notice) callbacks_.notice(message);
}

bool TlsLink::Tune(tcp::socket& socket) {
  auto tuned = ApplySocketTuning(socket.native_handle(), config_.socket);
  if (!tuned) {
    ++counters_.socket_option_errors;
    Notice("sync link: " + tuned.error().context);
    return false;
  }
  if (!tuned->rto_min_applied && config_.socket.rto_min.count() > 0) {
    ++counters_.rto_min_unsupported;
    if (!rto_notice_given_) {
      rto_notice_given_ = true;
      Notice(
          "sync link: the kernel refused TCP_RTO_MIN_US (older than Linux 6.16?); "
          "one lost segment now stalls the link for the kernel's 200 ms minimum RTO");
    }
  }
  return true;
}

void TlsLink::Accept() {
  acceptor_.async_accept([this, alive = std::weak_ptr<char>(alive_)](
                             const boost::system::error_code& error, tcp::socket socket) {
    if (alive.expired() || stopped_) return;
    if (error) {
      if (error == boost::asio::error::operation_aborted) return;
      ++counters_.accept_errors;
      Notice("sync link: accept: " + error.message());
      accept_retry_.expires_after(kAcceptRetry);  // e.g. EMFILE: do not spin
      accept_retry_.async_wait([this, alive](const boost::system::error_code& wait_error) {
        if (!wait_error && !alive.expired() && !stopped_) Accept();
      });
      return;
    }
    OnAccepted(std::move(socket));
    Accept();
  });
}

void TlsLink::OnAccepted(tcp::socket socket) {
  boost::system::error_code error;
  const tcp::endpoint remote_endpoint = socket.remote_endpoint(error);
  if (error) return;  // already gone
  const IpAddress remote = FromAsio(remote_endpoint.address());
  std::optional<Refusal> refusal = Refusal::kUnknownAddress;
  for (const PeerSlot& slot : peers_) {
    if (slot.endpoint.address != remote) continue;
    refusal = slot.dial ? std::optional<Refusal>(Refusal::kNotDialer) : std::nullopt;
    if (!refusal) break;
  }
  if (!refusal) {
    const auto same_source = std::count_if(pending_.begin(), pending_.end(), [&](const auto& c) {
      return c->State().remote == remote;
    });
    if (pending_.size() >= config_.max_pending_handshakes ||
        static_cast<size_t>(same_source) >= config_.max_pending_per_address) {
      refusal = Refusal::kTooManyPending;
    }
  }
  if (refusal) {
    ++counters_.refused[static_cast<size_t>(*refusal)];
    socket.close(error);
    return;
  }
  ++counters_.accepted;
  if (!Tune(socket)) return;
  auto connection = std::make_shared<TlsConnection>(io_, *server_context_, TlsRole::kServer,
                                                    config_.read_buffer_bytes, std::move(socket));
  connection->State().policy = policy_;
  connection->State().remote = remote;
  connection->SetOwner(this);
  connection->SetWriteCounter(writes_in_flight_);
  pending_.push_back(connection);
  connection->Handshake(config_.handshake_timeout);
}

void TlsLink::Dial(size_t peer) {
  PeerSlot& slot = peers_[peer];
  if (stopped_ || slot.dialing || slot.active || slot.retiring) return;
  auto connection = std::make_shared<TlsConnection>(io_, *client_context_, TlsRole::kClient,
                                                    config_.read_buffer_bytes, tcp::socket(io_));
  connection->peer = peer;
  connection->SetOwner(this);
  connection->SetWriteCounter(writes_in_flight_);
  ++counters_.dials;
  ++slot.counters.dials;
  const tcp::endpoint local(ToAsio(config_.local_address), 0);
  boost::system::error_code error;
  tcp::socket& socket = connection->Socket();
  if (socket.open(local.protocol(), error) || socket.bind(local, error)) {
    ++counters_.connect_failures;
    ++slot.counters.connect_failures;
    slot.last_error = "bind " + config_.local_address.ToString() + ": " + error.message();
    Notice("sync link: " + slot.last_error);
    ScheduleDial(peer);
    return;
  }
  if (!Tune(socket)) {
    ScheduleDial(peer);
    return;
  }
  HandshakeState& state = connection->State();
  state.identity = PskIdentity(config_.node, config_.keys.At(slot.key).Id());
  state.psk = policy_->ClientPsk(peer, slot.key);
  slot.dialing = connection;
  connection->Connect(tcp::endpoint(ToAsio(slot.endpoint.address), config_.port),
                      config_.handshake_timeout);
}

void TlsLink::ScheduleDial(size_t peer) {
  PeerSlot& slot = peers_[peer];
  if (stopped_ || !slot.dial) return;
  slot.retry->expires_after(slot.backoff);
  slot.backoff = std::min(slot.backoff * 2, config_.backoff_max);
  slot.retry->async_wait(
      [this, peer, alive = std::weak_ptr<char>(alive_)](const boost::system::error_code& error) {
        if (error || alive.expired() || stopped_) return;
        Dial(peer);
      });
}

void TlsLink::OnConnectFailed(TlsConnection& connection) {
  const size_t peer = *connection.peer;
  PeerSlot& slot = peers_[peer];
  if (slot.dialing.get() != &connection) return;
  const auto keep = std::move(slot.dialing);
  ++counters_.connect_failures;
  ++slot.counters.connect_failures;
  slot.last_error = "connect: " + connection.Detail();
  ScheduleDial(peer);
}

void TlsLink::CountFailure(std::optional<size_t> peer, HandshakeFailure failure,
                           const IpAddress& remote, const std::string& detail) {
  ++counters_.handshake_failed[static_cast<size_t>(failure)];
  if (peer) {
    PeerSlot& slot = peers_[*peer];
    ++slot.counters.handshake_failed[static_cast<size_t>(failure)];
    slot.last_failure = failure;
    slot.last_error = std::string(HandshakeFailureName(failure)) + ": " + detail;
  }
  if (callbacks_.handshake_failed) callbacks_.handshake_failed(peer, failure, remote);
}

void TlsLink::OnHandshakeDone(TlsConnection& connection,
                              const tl::expected<TlsInfo, HandshakeFailure>& result) {
  std::shared_ptr<TlsConnection> held;
  const bool client = connection.Role() == TlsRole::kClient;
  if (client) {
    PeerSlot& slot = peers_[*connection.peer];
    if (slot.dialing.get() == &connection) held = std::move(slot.dialing);
  } else {
    auto it = std::find_if(pending_.begin(), pending_.end(),
                           [&](const auto& c) { return c.get() == &connection; });
    if (it != pending_.end()) {
      held = std::move(*it);
      pending_.erase(it);
    }
  }
  if (!held) return;
  if (!result) {
    const std::optional<size_t> peer = client ? connection.peer : connection.State().peer;
    const IpAddress remote = client ? peers_[*peer].endpoint.address : connection.State().remote;
    CountFailure(peer, result.error(), remote, connection.Detail());
    if (client && !stopped_) {
      PeerSlot& slot = peers_[*peer];
      // A peer that refused us may know only the other key (rotation).
      if (result.error() == HandshakeFailure::kPeerRejected && config_.keys.Count() > 1) {
        slot.key ^= 1U;
      }
      ScheduleDial(*peer);
    }
    return;
  }
  const size_t peer = client ? *connection.peer : *connection.State().peer;
  connection.peer = peer;
  PeerSlot& slot = peers_[peer];
  ++counters_.established;
  ++slot.counters.established;
  slot.backoff = config_.backoff_min;
  if (slot.active) Retire(peer, CloseReason::kReplaced);
  if (slot.retiring) {
    // Report the new link only after the old one's closed().
    if (slot.next) slot.next->Close(CloseReason::kReplaced);
    slot.next = std::move(held);
    slot.next_tls = *result;
    return;
  }
  Promote(peer, held, *result);
}

void TlsLink::Promote(size_t peer, const std::shared_ptr<TlsConnection>& connection, TlsInfo tls) {
  PeerSlot& slot = peers_[peer];
  slot.active = connection;
  slot.tls = std::move(tls);
  if (slot.paused) connection->PauseReading();
  if (callbacks_.established) callbacks_.established(peer, *slot.tls);
  if (!stopped_ && slot.active == connection) connection->StartReading();
}

void TlsLink::Retire(size_t peer, CloseReason reason) {
  PeerSlot& slot = peers_[peer];
  if (!slot.active || slot.retiring) return;
  slot.retiring = std::move(slot.active);
  slot.tls.reset();
  slot.retiring->Close(reason);  // a close the connection made itself keeps its reason
}

size_t TlsLink::OnBytes(TlsConnection& connection, std::span<const uint8_t> bytes) {
  PeerSlot& slot = peers_[*connection.peer];
  if (slot.active.get() != &connection) return 0;
  counters_.traffic.bytes_in += bytes.size();
  slot.counters.traffic.bytes_in += bytes.size();
  const size_t messages = callbacks_.received ? callbacks_.received(*connection.peer, bytes) : 0;
  counters_.traffic.messages_in += messages;
  slot.counters.traffic.messages_in += messages;
  return messages;
}

void TlsLink::OnWriteDone(TlsConnection& connection, size_t bytes, size_t messages) {
  PeerSlot& slot = peers_[*connection.peer];
  counters_.traffic.bytes_out += bytes;
  slot.counters.traffic.bytes_out += bytes;
  counters_.traffic.messages_out += messages;
  slot.counters.traffic.messages_out += messages;
  if (slot.active.get() == &connection && callbacks_.writable) {
    callbacks_.writable(*connection.peer);
  }
}

void TlsLink::OnClosed(TlsConnection& connection) {
  const size_t peer = *connection.peer;
  PeerSlot& slot = peers_[peer];
  const CloseReason reason = connection.Reason();
  ++counters_.closed[static_cast<size_t>(reason)];
  ++slot.counters.closed[static_cast<size_t>(reason)];
  std::shared_ptr<TlsConnection> keep;
  if (slot.active.get() == &connection) {
    keep = std::move(slot.active);
    slot.tls.reset();
  } else if (slot.retiring.get() == &connection) {
    keep = std::move(slot.retiring);
  } else {
    if (slot.next.get() == &connection) slot.next.reset();  // replaced before it was reported
    return;
  }
  if (callbacks_.closed) callbacks_.closed(peer, reason);
  if (stopped_) return;
  if (slot.next) {
    const auto next = std::move(slot.next);
    Promote(peer, next, *std::exchange(slot.next_tls, std::nullopt));
    return;
  }
  if (slot.dial) ScheduleDial(peer);
}

WriteStatus TlsLink::Write(size_t peer, std::span<const uint8_t> first,
                           std::span<const uint8_t> second, size_t messages) {
  PeerSlot& slot = peers_[peer];
  if (!slot.active) return WriteStatus::kNotConnected;
  return slot.active->Write(first, second, messages);
}

void TlsLink::PauseReading(size_t peer) {
  PeerSlot& slot = peers_[peer];
  slot.paused = true;
  if (slot.active) slot.active->PauseReading();
}

void TlsLink::ResumeReading(size_t peer) {
  PeerSlot& slot = peers_[peer];
  slot.paused = false;
  if (slot.active) slot.active->ResumeReading();
}

void TlsLink::Close(size_t peer) {
  PeerSlot& slot = peers_[peer];
  if (slot.active && !slot.active->Closed()) Retire(peer, CloseReason::kLocal);
}

bool TlsLink::Connected(size_t peer) const {
  const PeerSlot& slot = peers_[peer];
  return slot.active && !slot.active->Closed();
}

PeerLinkStatus TlsLink::Status(size_t peer) const {
  const PeerSlot& slot = peers_[peer];
  PeerLinkStatus status;
  status.connected = Connected(peer);
  status.dialer = slot.dial;
  if (status.connected) status.tls = slot.tls;
  status.write_in_flight = slot.active && slot.active->WriteInFlight();
  status.reading_paused = slot.paused;
  status.key_offered = slot.key;
  status.backoff = slot.backoff;
  status.last_failure = slot.last_failure;
  status.last_error = slot.last_error;
  status.counters = slot.counters;
  return status;
}

}  // namespace hafw::statesync::io
