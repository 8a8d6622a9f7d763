#include "carp/io/netlink.h"

#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace hafw::carp::io {
namespace {

struct TransactState {
  const NetlinkSocket::MessageFn* on_message = nullptr;
  int error = 0;
  std::string ext_ack;
};

int DataCallback(const nlmsghdr* nlh, void* data) {
  auto* state = static_cast<TransactState*>(data);
  if (*state->on_message) (*state->on_message)(*nlh);
  return MNL_CB_OK;
}

int ExtAckAttr(const nlattr* attr, void* data) {
  if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
      mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0) {
    *static_cast<std::string*>(data) = mnl_attr_get_str(attr);
  }
  return MNL_CB_OK;
}

int ErrorCallback(const nlmsghdr* nlh, void* data) {
  auto* state = static_cast<TransactState*>(data);
  if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(nlmsgerr))) {
    state->error = EBADMSG;
    return MNL_CB_ERROR;
  }
  const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
  if (err->error == 0) return MNL_CB_STOP;  // the ACK
  state->error = -err->error;
  // With NETLINK_CAP_ACK the original request is not echoed, so the extended
  // ack attributes follow the nlmsgerr directly.
  if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) != 0 && (nlh->nlmsg_flags & NLM_F_CAPPED) != 0) {
    mnl_attr_parse(nlh, sizeof(nlmsgerr), ExtAckAttr, &state->ext_ack);
  }
  errno = state->error;
  return MNL_CB_ERROR;
}

int DoneCallback(const nlmsghdr*, void*) { return MNL_CB_STOP; }

int LinkAttrCallback(const nlattr* attr, void* data) {
  auto* attrs = static_cast<LinkAttrs*>(data);
  switch (mnl_attr_get_type(attr)) {
    case IFLA_IFNAME:
      if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0) attrs->name = attr;
      break;
    case IFLA_ADDRESS:
      attrs->address = attr;
      break;
    case IFLA_OPERSTATE:
      if (mnl_attr_validate(attr, MNL_TYPE_U8) >= 0) attrs->operstate = attr;
      break;
    case IFLA_LINK:
      if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0) attrs->link = attr;
      break;
    case IFLA_LINKINFO:
      if (mnl_attr_validate(attr, MNL_TYPE_NESTED) >= 0) attrs->linkinfo = attr;
      break;
    case IFLA_AF_SPEC:
      if (mnl_attr_validate(attr, MNL_TYPE_NESTED) >= 0) attrs->af_spec = attr;
      break;
    default:
      break;
  }
  return MNL_CB_OK;
}

}  // namespace

Result<NetlinkSocket> NetlinkSocket::Open(unsigned groups) {
  mnl_socket* socket = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
  if (socket == nullptr) {
    return MakeError(ErrorCode::kIo, std::string("netlink socket: ") + std::strerror(errno));
  }
  NetlinkSocket result(socket);
  int on = 1;
  // Best effort: older kernels lack these; errors then carry only errno text.
  mnl_socket_setsockopt(socket, NETLINK_CAP_ACK, &on, sizeof(on));
  mnl_socket_setsockopt(socket, NETLINK_EXT_ACK, &on, sizeof(on));
  if (mnl_socket_bind(socket, groups, MNL_SOCKET_AUTOPID) < 0) {
    return MakeError(ErrorCode::kIo, std::string("netlink bind: ") + std::strerror(errno));
  }
  return result;
}

NetlinkSocket::NetlinkSocket(NetlinkSocket&& other) noexcept
    : socket_(std::exchange(other.socket_, nullptr)), seq_(other.seq_) {}

NetlinkSocket& NetlinkSocket::operator=(NetlinkSocket&& other) noexcept {
  if (this != &other) {
    if (socket_ != nullptr) mnl_socket_close(socket_);
    socket_ = std::exchange(other.socket_, nullptr);
    seq_ = other.seq_;
  }
  return *this;
}

NetlinkSocket::~NetlinkSocket() {
  if (socket_ != nullptr) mnl_socket_close(socket_);
}

int NetlinkSocket::Fd() const { return mnl_socket_get_fd(socket_); }
uint32_t NetlinkSocket::PortId() const { return mnl_socket_get_portid(socket_); }

Result<void> NetlinkSocket::Transact(nlmsghdr* request, const MessageFn& on_message,
                                     const char* what) {
  request->nlmsg_seq = ++seq_;
  // A non-dump request ends with its ACK; without one a plain GET reply would
  // leave us waiting for more.
  if ((request->nlmsg_flags & NLM_F_DUMP) != NLM_F_DUMP) request->nlmsg_flags |= NLM_F_ACK;
  last_errno_ = 0;
  if (mnl_socket_sendto(socket_, request, request->nlmsg_len) < 0) {
    last_errno_ = errno;
    return MakeError(ErrorCode::kIo, std::string(what) + ": netlink send: " + std::strerror(errno));
  }
  TransactState state;
  state.on_message = &on_message;
  mnl_cb_t control[NLMSG_MIN_TYPE] = {};
  control[NLMSG_ERROR] = ErrorCallback;
  control[NLMSG_DONE] = DoneCallback;
  std::vector<char> buffer(kNetlinkBufferSize);
  const uint32_t portid = PortId();
  // Bounded: a reply that never ends would be a kernel bug, not a reason to hang.
  for (int rounds = 0; rounds < 100000; ++rounds) {
    ssize_t n = mnl_socket_recvfrom(socket_, buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      last_errno_ = errno;
      return MakeError(ErrorCode::kIo,
                       std::string(what) + ": netlink receive: " + std::strerror(errno));
    }
    int ret = mnl_cb_run2(buffer.data(), static_cast<size_t>(n), seq_, portid, DataCallback, &state,
                          control, NLMSG_MIN_TYPE);
    if (ret == MNL_CB_STOP) return {};
    if (ret < 0) {
      int err = state.error != 0 ? state.error : errno;
      last_errno_ = err;
      std::string text = std::string(what) + ": " + std::strerror(err);
      if (!state.ext_ack.empty()) text += " (" + state.ext_ack + ")";
      Error error{ErrorCode::kIo, std::move(text)};
      return tl::unexpected<Error>(std::move(error));
    }
  }
  last_errno_ = EPROTO;
  return MakeError(ErrorCode::kIo, std::string(what) + ": netlink reply did not end");
}

std::optional<LinkAttrs> ParseLinkAttrs(const nlmsghdr& msg) {
  LinkAttrs attrs;
  if (mnl_attr_parse(&msg, sizeof(ifinfomsg), LinkAttrCallback, &attrs) < 0) return std::nullopt;
  return attrs;
}

}  // namespace hafw::carp::io
