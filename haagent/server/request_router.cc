#include "haagent/server/request_router.h"

#include <utility>

#include "haagent/control/replies.h"

namespace hafw::agent {

using control::v1::Request;
using control::v1::Response;

RequestRouter::RequestRouter(std::string node, std::string version, const Clock& clock,
                             TimePoint started, std::vector<Service*> services)
    : node_(std::move(node)),
      version_(std::move(version)),
      clock_(clock),
      started_(started),
      services_(std::move(services)) {}

control::v1::StatusReply RequestRouter::Status() const {
  const TimePoint now = clock_.Now();
  control::v1::StatusReply reply;
  reply.set_node(node_);
  reply.set_version(version_);
  reply.set_uptime_seconds(ToSeconds(now - started_));
  for (const Service* s : services_) s->ContributeStatus(reply, now);
  return reply;
}

Response RequestRouter::Handle(const Request& request) {
  if (request.has_status()) {
    Response r;
    *r.mutable_status() = Status();
    return r;
  }
  if (request.command_case() != Request::COMMAND_NOT_SET) {
    for (Service* s : services_) {
      if (auto r = s->Handle(request)) return std::move(*r);
    }
  }
  if (request.has_failover()) {
    return ErrorResponse(ErrorCode::kUnavailable,
                         "hactl failover needs state sync to check that the peer has the "
                         "connection states; until then use 'hactl maintenance on'");
  }
  return ErrorResponse(ErrorCode::kInvalidArgument, "empty or unknown request");
}

}  // namespace hafw::agent
