#pragma once

#include <grpcpp/grpcpp.h>

#include <boost/asio/post.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>

#include "bench/xds_sim/discovery_client.h"

namespace weft::xds_sim {

// Where a DiscoveryCall delivers, on the loop thread. `call_id` tells a stream that was
// already replaced from the current one.
template <typename Response>
class CallOwner {
 public:
  virtual void onResponse(uint64_t call_id, Response response, Clock::time_point received) = 0;
  virtual void onClosed(uint64_t call_id, grpc::Status status) = 0;

 protected:
  ~CallOwner() = default;
};

// One discovery stream of either variant (StreamResources, DeltaResources: they differ in
// message types and in the stub method that starts them). gRPC runs the callbacks on its own
// threads; they only stamp the arrival time and post to the loop, where the owner keeps all
// protocol state. The owner reaches the call through a shared_ptr and the mutex; the call
// reaches the owner only by posting while `owner_` is set.
//
// The hold taken in start() keeps OnDone away while the loop may still start writes: it is
// released once the read side has ended, after which no write is started.
template <typename Request, typename Response>
class DiscoveryCall final : public grpc::ClientBidiReactor<Request, Response>,
                            public std::enable_shared_from_this<DiscoveryCall<Request, Response>> {
 public:
  using Reactor = grpc::ClientBidiReactor<Request, Response>;
  // Starts the RPC with this reactor, e.g. stub.async()->StreamResources(context, reactor).
  using Begin = std::function<void(grpc::ClientContext* context, Reactor* reactor)>;

  DiscoveryCall(StreamContext context, CallOwner<Response>* owner, uint64_t id)
      : context_(context), owner_(owner), id_(id) {
    context_.calls.enter();
  }

  void start(const Begin& begin) {
    self_ = this->shared_from_this();  // released in OnDone
    begin(&grpc_context_, this);
    this->AddHold();
    this->StartRead(&response_);
    this->StartCall();
  }

  void send(Request request) {
    std::lock_guard lock(mutex_);
    if (reads_done_) {
      return;
    }
    writes_.push_back(std::move(request));
    if (writes_.size() == 1) {
      this->StartWrite(&writes_.front());
    }
  }

  // Detaches from the owner and ends the call; OnDone follows on a gRPC thread.
  void cancel() {
    {
      std::lock_guard lock(mutex_);
      owner_ = nullptr;
    }
    grpc_context_.TryCancel();
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      {
        std::lock_guard lock(mutex_);
        reads_done_ = true;
      }
      this->RemoveHold();  // outside the lock: it may run OnDone right here
      return;
    }
    const Clock::time_point received = Clock::now();
    {
      std::lock_guard lock(mutex_);
      if (owner_ != nullptr) {
        boost::asio::post(context_.loop, [owner = owner_, id = id_, received,
                                          response = std::move(response_)]() mutable {
          owner->onResponse(id, std::move(response), received);
        });
      }
    }
    response_.Clear();
    this->StartRead(&response_);
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard lock(mutex_);
    writes_.pop_front();
    if (ok && !reads_done_ && !writes_.empty()) {
      this->StartWrite(&writes_.front());
    }
  }

  void OnDone(const grpc::Status& status) override {
    std::shared_ptr<DiscoveryCall> keep;
    {
      std::lock_guard lock(mutex_);
      writes_.clear();
      if (owner_ != nullptr) {
        boost::asio::post(context_.loop,
                          [owner = owner_, id = id_, status] { owner->onClosed(id, status); });
      }
      keep = std::move(self_);
    }
    CallRegistry& calls = context_.calls;
    keep.reset();  // may destroy this call
    calls.leave();
  }

 private:
  StreamContext context_;
  std::mutex mutex_;
  CallOwner<Response>* owner_;  // guarded by mutex_
  uint64_t id_;
  grpc::ClientContext grpc_context_;
  Response response_;
  std::deque<Request> writes_;  // guarded by mutex_
  bool reads_done_ = false;     // guarded by mutex_
  std::shared_ptr<DiscoveryCall> self_;
};

}  // namespace weft::xds_sim
