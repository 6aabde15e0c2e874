#include "controlplane/xds/discovery_server.h"

#include <boost/asio/post.hpp>
#include <deque>

#include "common/log/logger.h"

namespace weft::controlplane {

namespace {

spdlog::logger& xdsLog() {
  static spdlog::logger& logger = weft::log::logger("xds");
  return logger;
}

}  // namespace

// The hand-off between the loop and one stream's reactor: the loop queues responses and asks
// for the end of the stream; the reactor writes them one at a time. Once the reactor is done,
// `stream` is null and whatever the loop still sends is dropped.
struct DiscoveryServer::StreamLink {
  uint64_t id = 0;
  std::string peer;
  std::mutex mutex;
  SotwStream* stream = nullptr;  // guarded by mutex

  void send(weft::v1::DiscoveryResponse&& response);
  void finish(grpc::Status status);
};

class SotwStream final
    : public grpc::ServerBidiReactor<weft::v1::DiscoveryRequest, weft::v1::DiscoveryResponse> {
 public:
  SotwStream(DiscoveryServer* server, std::shared_ptr<DiscoveryServer::StreamLink> link)
      : server_(server), link_(std::move(link)) {
    server_->streamStarted(link_);
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      // The proxy closed its side or the stream broke: end ours.
      std::lock_guard lock(link_->mutex);
      finishLocked(grpc::Status::OK);
      return;
    }
    server_->requestReceived(link_->id, std::move(request_));
    request_.Clear();
    StartRead(&request_);
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard lock(link_->mutex);
    writes_.pop_front();
    if (!ok) {
      finishLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE, "write failed"));
      return;
    }
    if (!writes_.empty()) {
      StartWrite(&writes_.front());
    }
  }

  void OnDone() override {
    {
      std::lock_guard lock(link_->mutex);
      link_->stream = nullptr;
    }
    server_->streamEnded(link_->id);
    delete this;
  }

  // With link_->mutex held.
  void queueLocked(weft::v1::DiscoveryResponse&& response) {
    if (finished_) {
      return;
    }
    writes_.push_back(std::move(response));
    if (writes_.size() == 1) {
      StartWrite(&writes_.front());
    }
  }

  // With link_->mutex held.
  void finishLocked(grpc::Status status) {
    if (finished_) {
      return;
    }
    finished_ = true;
    Finish(std::move(status));
  }

 private:
  DiscoveryServer* server_;
  std::shared_ptr<DiscoveryServer::StreamLink> link_;
  weft::v1::DiscoveryRequest request_;
  // At most one response per type is unacknowledged, so this stays short.
  std::deque<weft::v1::DiscoveryResponse> writes_;
  bool finished_ = false;
};

void DiscoveryServer::StreamLink::send(weft::v1::DiscoveryResponse&& response) {
  std::lock_guard lock(mutex);
  if (stream != nullptr) {
    stream->queueLocked(std::move(response));
  }
}

void DiscoveryServer::StreamLink::finish(grpc::Status status) {
  std::lock_guard lock(mutex);
  if (stream != nullptr) {
    stream->finishLocked(std::move(status));
  }
}

DiscoveryServer::DiscoveryServer(boost::asio::io_context& loop, std::string control_plane_id,
                                 std::shared_ptr<XdsMetrics> metrics)
    : loop_(loop), control_plane_id_(std::move(control_plane_id)), metrics_(std::move(metrics)) {}

DiscoveryServer::~DiscoveryServer() = default;

grpc::ServerBidiReactor<weft::v1::DiscoveryRequest, weft::v1::DiscoveryResponse>*
DiscoveryServer::StreamResources(grpc::CallbackServerContext* context) {
  auto link = std::make_shared<StreamLink>();
  link->id = next_stream_id_.fetch_add(1);
  link->peer = context->peer();
  auto* stream = new SotwStream(this, link);
  {
    std::lock_guard lock(link->mutex);
    link->stream = stream;
  }
  return stream;
}

void DiscoveryServer::streamStarted(std::shared_ptr<StreamLink> link) {
  boost::asio::post(loop_, [this, link = std::move(link)] {
    Connection connection;
    connection.link = link;
    connection.connected_at = std::chrono::system_clock::now();
    SessionEvents events;
    if (metrics_) {
      events.on_push = [this](ResourceType type) { metrics_->pushed(type); };
      events.on_ack = [this](ResourceType type, std::chrono::steady_clock::time_point changed) {
        metrics_->converged(type, changed);
      };
      metrics_->streamOpened();
    }
    const uint64_t id = link->id;
    events.on_nack = [this, id](ResourceType type, const weft::v1::ErrorDetail& error) {
      if (metrics_) {
        metrics_->nacked(type, error);
      }
      auto found = sessions_.find(id);
      const std::string proxy =
          found != sessions_.end() ? found->second.session->node().id() : std::to_string(id);
      xdsLog().warn("proxy {} rejected {} (code {}): resource '{}' field '{}': {}", proxy,
                    shortName(type), error.code(), error.resource_name(), error.field(),
                    error.message());
    };
    connection.session = std::make_unique<SotwSession>(
        control_plane_id_,
        [link](weft::v1::DiscoveryResponse&& response) { link->send(std::move(response)); },
        std::move(events));
    sessions_.emplace(id, std::move(connection));
  });
}

void DiscoveryServer::requestReceived(uint64_t id, weft::v1::DiscoveryRequest request) {
  boost::asio::post(loop_, [this, id, request = std::move(request)] {
    auto found = sessions_.find(id);
    if (found == sessions_.end()) {
      return;
    }
    Connection& connection = found->second;
    const bool had_node = connection.session->hasNode();
    if (std::string error = connection.session->onRequest(request); !error.empty()) {
      xdsLog().warn("stream {} from {} ended: {}", id, connection.link->peer, error);
      connection.link->finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, error));
      return;
    }
    if (!had_node && connection.session->hasNode()) {
      const weft::v1::Node& node = connection.session->node();
      xdsLog().info("proxy {} connected from {} (workload {}/{})", node.id(), connection.link->peer,
                    node.namespace_(), node.workload_name());
      // A proxy that connects after a change converges from its connection, not the change.
      compute(connection, std::chrono::steady_clock::now());
    }
  });
}

void DiscoveryServer::streamEnded(uint64_t id) {
  boost::asio::post(loop_, [this, id] {
    auto found = sessions_.find(id);
    if (found == sessions_.end()) {
      return;
    }
    if (found->second.session->hasNode()) {
      xdsLog().info("proxy {} disconnected", found->second.session->node().id());
    }
    if (metrics_) {
      metrics_->streamClosed();
    }
    sessions_.erase(found);
  });
}

void DiscoveryServer::compute(Connection& connection,
                              std::chrono::steady_clock::time_point changed_at) {
  if (!compute_ || !connection.session->hasNode()) {
    return;
  }
  connection.session->onResources(compute_(connection.session->node()), changed_at);
}

void DiscoveryServer::setConfiguration(ComputeForProxy compute_for_proxy,
                                       std::chrono::steady_clock::time_point changed_at) {
  const auto started = std::chrono::steady_clock::now();
  compute_ = std::move(compute_for_proxy);
  for (auto& [id, connection] : sessions_) {
    compute(connection, changed_at);
  }
  if (metrics_) {
    metrics_->pushRound(std::chrono::steady_clock::now() - started);
  }
}

void DiscoveryServer::closeAll() {
  for (auto& [id, connection] : sessions_) {
    connection.link->finish(
        grpc::Status(grpc::StatusCode::UNAVAILABLE, "control plane shutting down"));
  }
}

std::vector<StreamStatus> DiscoveryServer::status() const {
  std::vector<StreamStatus> out;
  for (const auto& [id, connection] : sessions_) {
    StreamStatus status;
    status.stream_id = id;
    status.peer = connection.link->peer;
    status.node = connection.session->node();
    status.connected_at = connection.connected_at;
    for (ResourceType type : kPushOrder) {
      status.types[static_cast<size_t>(type)] = connection.session->state(type);
    }
    out.push_back(std::move(status));
  }
  return out;
}

}  // namespace weft::controlplane
