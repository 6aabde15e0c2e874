#pragma once

#include <grpcpp/grpcpp.h>

#include <deque>
#include <memory>
#include <mutex>
#include <string>

namespace weft::controlplane {

class DiscoveryServer;

// One discovery stream's transport, for either variant: reads requests and hands them to the
// server (which posts them to its loop), writes the responses the loop queues, one at a time.
// gRPC owns the reactor until OnDone. The loop reaches it only through its Link, whose
// `stream` is cleared under the mutex when the reactor finishes, so a late response from the
// loop is dropped instead of touching freed memory.
template <class Request, class Response>
class DiscoveryStream final : public grpc::ServerBidiReactor<Request, Response> {
 public:
  struct Link {
    std::mutex mutex;
    DiscoveryStream* stream = nullptr;  // guarded by mutex

    void send(Response&& response) {
      std::lock_guard lock(mutex);
      if (stream != nullptr) {
        stream->queueLocked(std::move(response));
      }
    }
    void finish(grpc::Status status) {
      std::lock_guard lock(mutex);
      if (stream != nullptr) {
        stream->finishLocked(std::move(status));
      }
    }
  };

  DiscoveryStream(DiscoveryServer& server, uint64_t id) : server_(server), id_(id) {
    link_ = std::make_shared<Link>();
    link_->stream = this;
  }

  // Registers with the server and starts reading; call once gRPC has the reactor.
  template <class Server>
  void start(Server& server, const std::string& peer) {
    auto link = link_;
    server.streamStarted(
        id_, peer, [link](grpc::Status status) { link->finish(std::move(status)); },
        [link](Response&& response) { link->send(std::move(response)); });
    this->StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      // The proxy closed its side or the stream broke: end ours.
      std::lock_guard lock(link_->mutex);
      finishLocked(grpc::Status::OK);
      return;
    }
    server_.requestReceived(id_, std::move(request_));
    request_.Clear();
    this->StartRead(&request_);
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard lock(link_->mutex);
    writes_.pop_front();
    if (!ok) {
      finishLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE, "write failed"));
      return;
    }
    if (!writes_.empty()) {
      this->StartWrite(&writes_.front());
    }
  }

  void OnDone() override {
    {
      std::lock_guard lock(link_->mutex);
      link_->stream = nullptr;
    }
    server_.streamEnded(id_);
    delete this;
  }

 private:
  void queueLocked(Response&& response) {
    if (finished_) {
      return;
    }
    writes_.push_back(std::move(response));
    if (writes_.size() == 1) {
      this->StartWrite(&writes_.front());
    }
  }

  void finishLocked(grpc::Status status) {
    if (finished_) {
      return;
    }
    finished_ = true;
    this->Finish(std::move(status));
  }

  DiscoveryServer& server_;
  uint64_t id_;
  std::shared_ptr<Link> link_;
  Request request_;
  // At most one response per type is unacknowledged, so this stays short.
  std::deque<Response> writes_;
  bool finished_ = false;
};

}  // namespace weft::controlplane
