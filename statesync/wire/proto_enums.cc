// The enum mappings between the core's values and sync.proto, both directions
// side by side so that a new value is added to both at once.

#include "statesync/wire/proto_convert.h"

namespace hafw::statesync::wire_internal {

pb::FlowEvent ToProto(FlowEvent value) {
  switch (value) {
    case FlowEvent::kNew:
      return pb::FLOW_EVENT_NEW;
    case FlowEvent::kUpdate:
      return pb::FLOW_EVENT_UPDATE;
    case FlowEvent::kDestroy:
      return pb::FLOW_EVENT_DESTROY;
    case FlowEvent::kRefresh:
      return pb::FLOW_EVENT_REFRESH;
  }
  return pb::FLOW_EVENT_UNSPECIFIED;
}

std::optional<FlowEvent> FromProto(pb::FlowEvent value) {
  switch (value) {
    case pb::FLOW_EVENT_NEW:
      return FlowEvent::kNew;
    case pb::FLOW_EVENT_UPDATE:
      return FlowEvent::kUpdate;
    case pb::FLOW_EVENT_DESTROY:
      return FlowEvent::kDestroy;
    case pb::FLOW_EVENT_REFRESH:
      return FlowEvent::kRefresh;
    default:
      return std::nullopt;
  }
}

pb::IpFamily ToProto(IpFamily value) {
  switch (value) {
    case IpFamily::kV4:
      return pb::IP_FAMILY_IPV4;
    case IpFamily::kV6:
      return pb::IP_FAMILY_IPV6;
  }
  return pb::IP_FAMILY_UNSPECIFIED;
}

std::optional<IpFamily> FromProto(pb::IpFamily value) {
  switch (value) {
    case pb::IP_FAMILY_IPV4:
      return IpFamily::kV4;
    case pb::IP_FAMILY_IPV6:
      return IpFamily::kV6;
    default:
      return std::nullopt;
  }
}

pb::TcpState ToProto(TcpState value) {
  switch (value) {
    case TcpState::kNone:
      return pb::TCP_STATE_NONE;
    case TcpState::kSynSent:
      return pb::TCP_STATE_SYN_SENT;
    case TcpState::kSynRecv:
      return pb::TCP_STATE_SYN_RECV;
    case TcpState::kEstablished:
      return pb::TCP_STATE_ESTABLISHED;
    case TcpState::kFinWait:
      return pb::TCP_STATE_FIN_WAIT;
    case TcpState::kCloseWait:
      return pb::TCP_STATE_CLOSE_WAIT;
    case TcpState::kLastAck:
      return pb::TCP_STATE_LAST_ACK;
    case TcpState::kTimeWait:
      return pb::TCP_STATE_TIME_WAIT;
    case TcpState::kClose:
      return pb::TCP_STATE_CLOSE;
    case TcpState::kSynSent2:
      return pb::TCP_STATE_SYN_SENT2;
  }
  return pb::TCP_STATE_UNSPECIFIED;
}

std::optional<TcpState> FromProto(pb::TcpState value) {
  switch (value) {
    case pb::TCP_STATE_NONE:
      return TcpState::kNone;
    case pb::TCP_STATE_SYN_SENT:
      return TcpState::kSynSent;
    case pb::TCP_STATE_SYN_RECV:
      return TcpState::kSynRecv;
    case pb::TCP_STATE_ESTABLISHED:
      return TcpState::kEstablished;
    case pb::TCP_STATE_FIN_WAIT:
      return TcpState::kFinWait;
    case pb::TCP_STATE_CLOSE_WAIT:
      return TcpState::kCloseWait;
    case pb::TCP_STATE_LAST_ACK:
      return TcpState::kLastAck;
    case pb::TCP_STATE_TIME_WAIT:
      return TcpState::kTimeWait;
    case pb::TCP_STATE_CLOSE:
      return TcpState::kClose;
    case pb::TCP_STATE_SYN_SENT2:
      return TcpState::kSynSent2;
    default:
      return std::nullopt;
  }
}

pb::BatchKind ToProto(BatchKind value) {
  switch (value) {
    case BatchKind::kLive:
      return pb::BATCH_KIND_LIVE;
    case BatchKind::kBulk:
      return pb::BATCH_KIND_BULK;
    case BatchKind::kRefresh:
      return pb::BATCH_KIND_REFRESH;
  }
  return pb::BATCH_KIND_UNSPECIFIED;
}

std::optional<BatchKind> FromProto(pb::BatchKind value) {
  switch (value) {
    case pb::BATCH_KIND_LIVE:
      return BatchKind::kLive;
    case pb::BATCH_KIND_BULK:
      return BatchKind::kBulk;
    case pb::BATCH_KIND_REFRESH:
      return BatchKind::kRefresh;
    default:
      return std::nullopt;
  }
}

pb::BulkState ToProto(BulkState value) {
  switch (value) {
    case BulkState::kNone:
      return pb::BULK_STATE_NONE;
    case BulkState::kReceiving:
      return pb::BULK_STATE_RECEIVING;
    case BulkState::kDone:
      return pb::BULK_STATE_DONE;
    case BulkState::kGivenUp:
      return pb::BULK_STATE_GIVEN_UP;
  }
  return pb::BULK_STATE_UNSPECIFIED;
}

std::optional<BulkState> FromProto(pb::BulkState value) {
  switch (value) {
    case pb::BULK_STATE_NONE:
      return BulkState::kNone;
    case pb::BULK_STATE_RECEIVING:
      return BulkState::kReceiving;
    case pb::BULK_STATE_DONE:
      return BulkState::kDone;
    case pb::BULK_STATE_GIVEN_UP:
      return BulkState::kGivenUp;
    default:
      return std::nullopt;
  }
}

bool IsValid(FlowEvent value) { return ToProto(value) != pb::FLOW_EVENT_UNSPECIFIED; }
bool IsValid(IpFamily value) { return ToProto(value) != pb::IP_FAMILY_UNSPECIFIED; }
bool IsValid(TcpState value) { return ToProto(value) != pb::TCP_STATE_UNSPECIFIED; }
bool IsValid(BatchKind value) { return ToProto(value) != pb::BATCH_KIND_UNSPECIFIED; }
bool IsValid(BulkState value) { return ToProto(value) != pb::BULK_STATE_UNSPECIFIED; }

}  // namespace hafw::statesync::wire_internal
