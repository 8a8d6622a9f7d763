#include "haagent/server/control_server.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sys/un.h>

#include <cstring>
#include <filesystem>
#include <future>
#include <optional>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "haagent/control/client.h"
#include "haagent/control/framing.h"

namespace hafw::agent {
namespace {

namespace fs = std::filesystem;
using control::v1::Request;
using control::v1::Response;

class ControlServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("hafw-ctl-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    path_ = (dir_ / "sub" / "control.sock").string();
  }
  void TearDown() override {
    StopLoop();
    fs::remove_all(dir_);
  }

  void StartLoop() {
    thread_ = std::thread([this] { io_.run(); });
  }
  void StopLoop() {
    work_.reset();
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }

  static Response Echo(const Request& req) {
    Response r;
    if (req.has_demote()) {
      r.mutable_action()->set_message("demoted " + req.demote().group());
    } else {
      r.mutable_status()->set_node("fw1");
    }
    return r;
  }

  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_{
      boost::asio::make_work_guard(io_)};
  std::thread thread_;
  fs::path dir_;
  std::string path_;
};

TEST_F(ControlServerTest, AnswersRequestsOverTheSocket) {
  auto server = ControlServer::Create(io_, path_, Echo);
  ASSERT_TRUE(server.has_value()) << server.error().ToString();
  StartLoop();

  Request status;
  status.mutable_status();
  auto r1 = CallAgent(path_, status, std::chrono::seconds(2));
  ASSERT_TRUE(r1.has_value()) << r1.error().ToString();
  EXPECT_EQ(r1->status().node(), "fw1");

  Request demote;
  demote.mutable_demote()->set_group("edge");
  auto r2 = CallAgent(path_, demote, std::chrono::seconds(2));
  ASSERT_TRUE(r2.has_value());
  EXPECT_EQ(r2->action().message(), "demoted edge");
  StopLoop();
  EXPECT_EQ((*server)->Requests(), 2u);
}

TEST_F(ControlServerTest, SocketIsOwnerOnly) {
  auto server = ControlServer::Create(io_, path_, Echo);
  ASSERT_TRUE(server.has_value());
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(ControlServerTest, SeveralRequestsOnOneConnection) {
  auto server = ControlServer::Create(io_, path_, Echo);
  ASSERT_TRUE(server.has_value());
  StartLoop();
  auto fd = ConnectControlSocket(path_);
  ASSERT_TRUE(fd.has_value());
  Request status;
  status.mutable_status();
  for (int i = 0; i < 3; ++i) {
    auto r = Call(*fd, status, std::chrono::seconds(2));
    ASSERT_TRUE(r.has_value()) << r.error().ToString();
  }
  ::close(*fd);
}

TEST_F(ControlServerTest, OversizedFrameIsRefusedWithAnError) {
  auto server = ControlServer::Create(io_, path_, Echo);
  ASSERT_TRUE(server.has_value());
  StartLoop();
  auto fd = ConnectControlSocket(path_);
  ASSERT_TRUE(fd.has_value());
  const uint8_t huge[4] = {0x7f, 0xff, 0xff, 0xff};
  ASSERT_EQ(::send(*fd, huge, 4, MSG_NOSIGNAL), 4);
  uint8_t prefix[4];
  // The server answers with an error frame, then closes.
  for (int tries = 0; tries < 100 && ::recv(*fd, prefix, 4, MSG_PEEK) != 4; ++tries) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(::recv(*fd, prefix, 4, 0), 4);
  auto len = DecodeFrameLength(prefix);
  ASSERT_TRUE(len.has_value());
  std::string body(*len, '\0');
  ASSERT_EQ(::recv(*fd, body.data(), body.size(), MSG_WAITALL), static_cast<ssize_t>(*len));
  Response r;
  ASSERT_TRUE(r.ParseFromString(body));
  EXPECT_EQ(r.error().code(), "protocol");
  ::close(*fd);
  StopLoop();
  EXPECT_EQ((*server)->Refused(), 1u);
}

TEST_F(ControlServerTest, RefusesSecondAgentButReplacesStaleSocket) {
  auto first = ControlServer::Create(io_, path_, Echo);
  ASSERT_TRUE(first.has_value());
  auto second = ControlServer::Create(io_, path_, Echo);
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().context, "another ha-agent is already listening on " + path_);
  first->reset();
  // Leave a stale socket file behind, as a crashed agent would.
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path_.c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ::close(fd);
  auto third = ControlServer::Create(io_, path_, Echo);
  EXPECT_TRUE(third.has_value()) << third.error().ToString();
}

TEST_F(ControlServerTest, SessionOpenAcrossServerDestructionIsRefusedSafely) {
  // The agent destroys its server at shutdown while the loop still runs (hooks
  // finish); a client that connected before must not reach freed state.
  auto server = ControlServer::Create(io_, path_, Echo);
  ASSERT_TRUE(server.has_value());
  StartLoop();
  auto fd = ConnectControlSocket(path_);
  ASSERT_TRUE(fd.has_value());
  Request status;
  status.mutable_status();
  ASSERT_TRUE(Call(*fd, status, std::chrono::seconds(2)).has_value());  // session is up
  std::promise<void> destroyed;
  boost::asio::post(io_, [&] {
    server->reset();
    destroyed.set_value();
  });
  destroyed.get_future().wait();
  auto r = Call(*fd, status, std::chrono::seconds(2));
  EXPECT_FALSE(r.has_value());  // closed, not answered by a dead handler
  ::close(*fd);
}

}  // namespace
}  // namespace hafw::agent
