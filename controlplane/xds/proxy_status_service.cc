#include "controlplane/xds/proxy_status_service.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <boost/asio/post.hpp>

namespace weft::controlplane {

ProxyStatusService::ProxyStatusService(boost::asio::io_context& loop,
                                       const DiscoveryServer& discovery,
                                       std::string control_plane_id)
    : loop_(loop), discovery_(discovery), control_plane_id_(std::move(control_plane_id)) {}

grpc::ServerUnaryReactor* ProxyStatusService::ListProxies(
    grpc::CallbackServerContext* context, const weft::v1::ListProxiesRequest* /*request*/,
    weft::v1::ListProxiesResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  boost::asio::post(loop_, [this, reactor, response] {
    describe(discovery_.status(), control_plane_id_, *response);
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

void ProxyStatusService::describe(const std::vector<StreamStatus>& streams,
                                  const std::string& control_plane,
                                  weft::v1::ListProxiesResponse& response) {
  using weft::v1::TypeSyncStatus;
  response.set_control_plane(control_plane);
  for (const StreamStatus& stream : streams) {
    if (stream.node.id().empty()) {
      continue;  // connected, but has not said who it is yet
    }
    weft::v1::ProxySyncStatus* proxy = response.add_proxies();
    *proxy->mutable_node() = stream.node;
    proxy->set_peer(stream.peer);
    *proxy->mutable_connected_at() = google::protobuf::util::TimeUtil::TimeTToTimestamp(
        std::chrono::system_clock::to_time_t(stream.connected_at));
    for (ResourceType type : kPushOrder) {
      const TypeState& state = stream.types[static_cast<size_t>(type)];
      if (!state.subscribed) {
        continue;
      }
      TypeSyncStatus* out = proxy->add_types();
      out->set_type_url(std::string(typeUrl(type)));
      if (state.sent_version.empty()) {
        out->set_state(TypeSyncStatus::NOT_SENT);
      } else if (!state.pending_nonce.empty()) {
        out->set_state(TypeSyncStatus::STALE);
      } else if (state.rejected_version == state.sent_version) {
        out->set_state(TypeSyncStatus::REJECTED);
      } else {
        out->set_state(TypeSyncStatus::SYNCED);
      }
      out->set_sent_version(state.sent_version);
      out->set_acked_version(state.acked_version);
      out->set_subscribed_names(static_cast<uint32_t>(state.names.size()));
      out->set_responses(state.responses);
      out->set_acks(state.acks);
      out->set_nacks(state.nacks);
      if (state.nacks > 0) {
        *out->mutable_last_error() = state.last_error;
      }
    }
  }
  std::sort(response.mutable_proxies()->begin(), response.mutable_proxies()->end(),
            [](const auto& a, const auto& b) { return a.node().id() < b.node().id(); });
}

}  // namespace weft::controlplane
