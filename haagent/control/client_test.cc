#include "haagent/control/client.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include "haagent/control/framing.h"
#include "haagent/control/replies.h"

namespace hafw::agent {
namespace {

using control::v1::Request;
using control::v1::Response;

TEST(FramingTest, RoundTrip) {
  std::string f = EncodeFrame("abc");
  ASSERT_EQ(f.size(), 7u);
  EXPECT_EQ(f.substr(0, 4), std::string("\0\0\0\3", 4));
  uint8_t prefix[kFramePrefixBytes];
  std::memcpy(prefix, f.data(), 4);
  EXPECT_EQ(*DecodeFrameLength(prefix), 3u);
}

TEST(FramingTest, OversizedFrameIsRefused) {
  const uint8_t at_limit[4] = {0x00, 0x40, 0x00, 0x00};  // 4 MiB
  EXPECT_EQ(*DecodeFrameLength(at_limit), kMaxControlFrame);
  const uint8_t over[4] = {0x00, 0x40, 0x00, 0x01};
  auto len = DecodeFrameLength(over);
  ASSERT_FALSE(len);
  EXPECT_EQ(len.error().code, ErrorCode::kProtocol);
  EXPECT_EQ(len.error().context, "control frame of 4194305 bytes exceeds the limit of 4194304");
}

TEST(RepliesTest, ErrorAndAction) {
  Response e = ErrorResponse(ErrorCode::kNotFound, "no interface group 'x'");
  EXPECT_EQ(e.error().code(), "not-found");
  EXPECT_EQ(e.error().context(), "no interface group 'x'");
  EXPECT_FALSE(e.has_action());
  Response a = ActionResponse("maintenance off");
  EXPECT_FALSE(a.has_error());
  EXPECT_EQ(a.action().message(), "maintenance off");
}

TEST(ClientTest, ConnectErrorNamesThePath) {
  auto fd = ConnectControlSocket("/nonexistent/hafw.sock");
  ASSERT_FALSE(fd.has_value());
  EXPECT_EQ(fd.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(fd.error().context,
            "cannot reach ha-agent at /nonexistent/hafw.sock: No such file or directory");
  auto connection = ControlConnection::Connect("/nonexistent/hafw.sock");
  ASSERT_FALSE(connection.has_value());
  EXPECT_EQ(connection.error().context, fd.error().context);
}

// A connected pair: the test plays the agent on peer_.
class CallTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    client_ = fds[0];
    peer_ = fds[1];
  }
  void TearDown() override {
    if (client_ >= 0) ::close(client_);
    if (peer_ >= 0) ::close(peer_);
  }
  void PeerSends(std::string_view bytes) {
    ASSERT_EQ(::send(peer_, bytes.data(), bytes.size(), 0), static_cast<ssize_t>(bytes.size()));
  }
  // The request the client wrote, decoded.
  Request PeerReceives() {
    char buf[4096];
    ssize_t n = ::recv(peer_, buf, sizeof(buf), MSG_DONTWAIT);
    Request r;
    EXPECT_GT(n, 4);
    if (n > 4) {
      EXPECT_TRUE(r.ParseFromArray(buf + 4, static_cast<int>(n - 4)));
    }
    return r;
  }

  int client_ = -1;
  int peer_ = -1;
};

TEST_F(CallTest, SendsTheRequestAndReadsTheResponse) {
  Response answer;
  answer.mutable_status()->set_node("fw1");
  PeerSends(EncodeFrame(answer.SerializeAsString()));  // buffered before the call
  Request request;
  request.mutable_demote()->set_group("edge");
  auto got = Call(client_, request, std::chrono::seconds(2));
  ASSERT_TRUE(got) << got.error().context;
  EXPECT_EQ(got->status().node(), "fw1");
  EXPECT_EQ(PeerReceives().demote().group(), "edge");
}

TEST_F(CallTest, SilentAgentTimesOut) {
  auto got = Call(client_, Request(), std::chrono::milliseconds(50));
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(got.error().context, "ha-agent did not answer in time");
}

TEST_F(CallTest, ClosedConnection) {
  ::close(peer_);
  peer_ = -1;
  auto closed = Call(client_, Request(), std::chrono::seconds(2));
  ASSERT_FALSE(closed);
  EXPECT_NE(closed.error().context.find("ha-agent"), std::string::npos);
}

TEST_F(CallTest, UnparsableResponse) {
  PeerSends(EncodeFrame("\xff\xff\xff"));
  auto got = Call(client_, Request(), std::chrono::seconds(2));
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, ErrorCode::kProtocol);
  EXPECT_EQ(got.error().context, "ha-agent sent a response that does not parse");
}

TEST_F(CallTest, OversizedResponseIsRefused) {
  PeerSends(std::string("\x7f\x00\x00\x00", 4));
  auto got = Call(client_, Request(), std::chrono::seconds(2));
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, ErrorCode::kProtocol);
}

}  // namespace
}  // namespace hafw::agent
