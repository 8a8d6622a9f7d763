#include "statesync/io/tls_link_test_util.h"

#include <openssl/ssl.h>

#include <array>
#include <random>

#include <boost/asio/buffer.hpp>
#include <boost/asio/write.hpp>

namespace hafw::statesync::io::testing {
namespace {

using boost::asio::ip::tcp;

void CountTickets(int write_p, int /*version*/, int content_type, const void* buf, size_t len,
                  SSL* /*ssl*/, void* arg) {
  const auto* bytes = static_cast<const uint8_t*>(buf);
  if (write_p == 0 && content_type == SSL3_RT_HANDSHAKE && len > 0 &&
      bytes[0] == SSL3_MT_NEWSESSION_TICKET) {
    ++*static_cast<int*>(arg);
  }
}

}  // namespace

IpAddress Addr(std::string_view text) { return *IpAddress::Parse(text); }

tcp::endpoint Endpoint(std::string_view address, uint16_t port) {
  return {boost::asio::ip::make_address(std::string(address)), port};
}

SyncKey KeyOf(std::string_view text) {
  return *SyncKey::FromBytes({reinterpret_cast<const uint8_t*>(text.data()), text.size()});
}

SyncKeys Keys(std::string_view current, std::optional<std::string_view> previous) {
  SyncKeys keys{KeyOf(current), std::nullopt};
  if (previous) keys.previous = KeyOf(*previous);
  return keys;
}

std::vector<LinkEndpoint> Cluster(std::string_view prefix) {
  std::vector<LinkEndpoint> nodes;
  for (int i = 1; i <= 3; ++i) {
    nodes.push_back({"fw" + std::to_string(i), Addr(std::string(prefix) + std::to_string(i))});
  }
  return nodes;
}

std::unique_ptr<TestNode> TestNode::Make(boost::asio::io_context& io, std::string_view name,
                                         const std::vector<LinkEndpoint>& cluster, SyncKeys keys,
                                         const std::function<void(TlsLinkConfig&)>& tweak) {
  auto node = std::make_unique<TestNode>();
  TlsLinkConfig config;
  config.node = std::string(name);
  config.keys = std::move(keys);
  for (const LinkEndpoint& endpoint : cluster) {
    if (endpoint.name == name) {
      config.local_address = endpoint.address;
    } else {
      config.peers.push_back(endpoint);
    }
  }
  config.port = kPort;
  if (tweak) tweak(config);
  TestNode* self = node.get();
  TlsLinkCallbacks callbacks;
  callbacks.established = [self](size_t peer, const TlsInfo& tls) {
    self->events.push_back("established " + self->link_->Peer(peer).name);
    self->tls[peer] = tls;
    ++self->established[peer];
  };
  callbacks.closed = [self](size_t peer, CloseReason reason) {
    self->events.push_back("closed " + self->link_->Peer(peer).name + " " +
                           std::string(CloseReasonName(reason)));
    ++self->closed[peer];
    self->last_close[peer] = reason;
  };
  callbacks.received = [self](size_t peer, std::span<const uint8_t> bytes) -> size_t {
    self->received[peer].append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    if (self->on_bytes) self->on_bytes(peer, bytes);
    return 1;  // the tests count one message per delivery
  };
  callbacks.writable = [self](size_t peer) {
    ++self->writable[peer];
    if (self->on_writable) self->on_writable(peer);
  };
  callbacks.notice = [self](std::string_view message) { self->notices.emplace_back(message); };
  auto link = TlsLink::Create(io, std::move(config), std::move(callbacks));
  if (!link) return nullptr;
  node->link_ = std::move(*link);
  return node;
}

TestDialer::TestDialer(boost::asio::io_context& io, std::string identity, const Psk& psk)
    : io_(io), context_(std::move(*MakeTlsContext(TlsRole::kClient))) {
  SSL_CTX_set_msg_callback(context_->native_handle(), CountTickets);
  SSL_CTX_set_msg_callback_arg(context_->native_handle(), &tickets);
  connection_ =
      std::make_shared<TlsConnection>(io_, *context_, TlsRole::kClient, 4096, tcp::socket(io_));
  connection_->SetOwner(this);
  connection_->State().identity = std::move(identity);
  connection_->State().psk = psk;
  connection_->peer = 0;
}

TestDialer::~TestDialer() {
  connection_->Detach();
  connection_->Close(CloseReason::kStopped);
}

void TestDialer::Connect(std::string_view source, std::string_view destination) {
  tcp::socket& socket = connection_->Socket();
  const tcp::endpoint local = Endpoint(source, 0);
  socket.open(local.protocol());
  socket.bind(local);
  connection_->Connect(Endpoint(destination, kPort), Seconds(1));
}

void TestDialer::OnConnectFailed(TlsConnection& /*connection*/) { connect_failed = true; }

void TestDialer::OnHandshakeDone(TlsConnection& connection,
                                 const tl::expected<TlsInfo, HandshakeFailure>& done) {
  result = done;
  if (done) connection.StartReading();
}

size_t TestDialer::OnBytes(TlsConnection& /*connection*/, std::span<const uint8_t> bytes) {
  received.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  return 1;
}

void TestDialer::OnWriteDone(TlsConnection& /*connection*/, size_t /*bytes*/, size_t /*messages*/) {
}

void TestDialer::OnClosed(TlsConnection& /*connection*/) { closed = true; }

RawClient::RawClient(boost::asio::io_context& io, std::string_view source,
                     std::string_view destination)
    : socket_(io) {
  boost::system::error_code error;
  const tcp::endpoint local = Endpoint(source, 0);
  socket_.open(local.protocol(), error);
  if (!error) socket_.bind(local, error);
  // Completes in the kernel (backlog) without the listener's loop running.
  if (!error) socket_.connect(Endpoint(destination, kPort), error);
  connected_ = !error;
  if (connected_) ReadMore();
}

void RawClient::ReadMore() {
  socket_.async_read_some(boost::asio::buffer(sink_),
                          [this](const boost::system::error_code& error, size_t /*bytes*/) {
                            if (error) {
                              if (error == boost::asio::error::operation_aborted) return;
                              eof_ = true;
                              eof_at_ = std::chrono::steady_clock::now();
                              return;
                            }
                            ReadMore();
                          });
}

void RawClient::Send(const std::vector<uint8_t>& bytes) {
  sent_.push_back(bytes);  // kept alive for the asynchronous write
  boost::asio::async_write(socket_, boost::asio::buffer(sent_.back()),
                           [](const boost::system::error_code& /*error*/, size_t /*n*/) {});
}

struct TcpTrap::Pipe : std::enable_shared_from_this<Pipe> {
  explicit Pipe(boost::asio::io_context& io, tcp::socket accepted)
      : a(std::move(accepted)), b(io) {}
  tcp::socket a;
  tcp::socket b;
  std::array<uint8_t, 16384> a_to_b{};
  std::array<uint8_t, 16384> b_to_a{};

  void Shut() {
    boost::system::error_code ignored;
    a.close(ignored);
    b.close(ignored);
  }
  void Pump(tcp::socket& from, tcp::socket& to, std::array<uint8_t, 16384>& buffer) {
    from.async_read_some(
        boost::asio::buffer(buffer), [self = shared_from_this(), &from, &to, &buffer](
                                         const boost::system::error_code& error, size_t bytes) {
          if (error) {
            self->Shut();
            return;
          }
          boost::asio::async_write(
              to, boost::asio::buffer(buffer.data(), bytes),
              [self, &from, &to, &buffer](const boost::system::error_code& write_error, size_t) {
                if (write_error) {
                  self->Shut();
                  return;
                }
                self->Pump(from, to, buffer);
              });
        });
  }
};

TcpTrap::TcpTrap(boost::asio::io_context& io, std::string_view address, Mode mode,
                 std::string_view relay_source, std::string_view relay_target)
    : io_(io),
      acceptor_(io, Endpoint(address, kPort)),
      mode_(mode),
      relay_source_(relay_source),
      relay_target_(relay_target) {
  Accept();
}

TcpTrap::~TcpTrap() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  for (auto& pipe : pipes_) pipe->Shut();
}

void TcpTrap::Accept() {
  acceptor_.async_accept([this](const boost::system::error_code& error, tcp::socket socket) {
    if (error) return;
    ++accepted;
    auto pipe = std::make_shared<Pipe>(io_, std::move(socket));
    pipes_.push_back(pipe);
    if (mode_ == Mode::kMirror) {
      pipe->Pump(pipe->a, pipe->a, pipe->a_to_b);
    } else if (mode_ == Mode::kRelay) {
      const tcp::endpoint local = Endpoint(relay_source_, 0);
      pipe->b.open(local.protocol());
      pipe->b.bind(local);
      pipe->b.async_connect(Endpoint(relay_target_, kPort),
                            [pipe](const boost::system::error_code& connect_error) {
                              if (connect_error) {
                                pipe->Shut();
                                return;
                              }
                              pipe->Pump(pipe->a, pipe->b, pipe->a_to_b);
                              pipe->Pump(pipe->b, pipe->a, pipe->b_to_a);
                            });
    }
    Accept();
  });
}

std::vector<uint8_t> Garbage(size_t size, uint32_t seed) {
  std::mt19937 random(seed);
  std::vector<uint8_t> bytes(size);
  for (auto& b : bytes) b = static_cast<uint8_t>(random());
  return bytes;
}

}  // namespace hafw::statesync::io::testing
