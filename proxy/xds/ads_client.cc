#include "proxy/xds/ads_client.h"

#include <boost/asio/post.hpp>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <mutex>

#include "common/log/logger.h"
#include "proxy/xds/persisted_config.h"

namespace weft::proxy::xds {

namespace {

spdlog::logger& xdsLog() {
  static spdlog::logger& logger = weft::log::logger("xds");
  return logger;
}

std::chrono::milliseconds toMillis(const google::protobuf::Duration& duration) {
  return std::chrono::milliseconds(duration.seconds() * 1000 + duration.nanos() / 1'000'000);
}

// A stream that has stayed up this long proved the control plane healthy: the next failure
// starts the backoff from its base again.
constexpr auto kHealthyStream = std::chrono::seconds(30);

}  // namespace

// One stream attempt. gRPC owns the reactor until OnDone; the client reaches it through a
// shared_ptr and a mutex, and the reactor reaches the client only by posting to its
// io_context while `client` is set.
class AdsCall final
    : public grpc::ClientBidiReactor<weft::v1::DiscoveryRequest, weft::v1::DiscoveryResponse>,
      public std::enable_shared_from_this<AdsCall> {
 public:
  AdsCall(boost::asio::io_context& io_context, AdsClient* client, uint64_t id)
      : io_context_(io_context), client_(client), id_(id) {}

  void start(weft::v1::AggregatedDiscoveryService::Stub& stub, const std::string& token) {
    if (!token.empty()) {
      context_.AddMetadata("authorization", "Bearer " + token);
    }
    self_ = shared_from_this();  // released in OnDone
    stub.async()->StreamResources(&context_, this);
    // gRPC destroys its side of the call as soon as nothing is outstanding, before OnDone
    // runs; a write started in between would touch freed memory. The hold keeps the call
    // alive while writes may still come; it is released once the stream is ending, after
    // `closing_` is set under the mutex.
    AddHold();
    StartRead(&response_);
    StartCall();
  }

  void send(weft::v1::DiscoveryRequest request) {
    std::lock_guard lock(mutex_);
    if (closing_) {
      return;
    }
    writes_.push_back(std::move(request));
    if (writes_.size() == 1) {
      StartWrite(&writes_.front());
    }
  }

  // Detaches from the client and ends the call; waits (bounded) for gRPC to finish with it.
  void cancel() {
    {
      std::lock_guard lock(mutex_);
      client_ = nullptr;
    }
    context_.TryCancel();
    release();
    std::unique_lock lock(mutex_);
    done_cv_.wait_for(lock, std::chrono::seconds(2), [this] { return done_; });
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      // The stream is ending; OnDone follows with the status once the hold is gone.
      release();
      return;
    }
    {
      std::lock_guard lock(mutex_);
      if (client_ != nullptr) {
        boost::asio::post(io_context_,
                          [client = client_, id = id_, response = std::move(response_)] {
                            client->onResponse(id, std::move(response));
                          });
      }
    }
    response_.Clear();
    StartRead(&response_);
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard lock(mutex_);
    writes_.pop_front();
    if (ok && !writes_.empty()) {
      StartWrite(&writes_.front());
    }
  }

  void OnDone(const grpc::Status& status) override {
    std::shared_ptr<AdsCall> keep;
    {
      std::lock_guard lock(mutex_);
      done_ = true;
      writes_.clear();
      if (client_ != nullptr) {
        boost::asio::post(io_context_,
                          [client = client_, id = id_, status] { client->onClosed(id, status); });
      }
      keep = std::move(self_);
    }
    done_cv_.notify_all();
  }

 private:
  // No more writes, and gRPC may finish the call. RemoveHold runs outside the lock: it may
  // lead to OnDone, which takes the lock.
  void release() {
    {
      std::lock_guard lock(mutex_);
      if (closing_) {
        return;
      }
      closing_ = true;
    }
    RemoveHold();
  }

  boost::asio::io_context& io_context_;
  std::mutex mutex_;
  std::condition_variable done_cv_;
  AdsClient* client_;  // guarded by mutex_
  uint64_t id_;
  grpc::ClientContext context_;
  weft::v1::DiscoveryResponse response_;
  std::deque<weft::v1::DiscoveryRequest> writes_;
  bool done_ = false;
  bool closing_ = false;  // guarded by mutex_; set when the hold is released
  std::shared_ptr<AdsCall> self_;
};

AdsClient::AdsClient(boost::asio::io_context& io_context, const weft::v1::Bootstrap& bootstrap,
                     AdsState::Build build, Apply apply)
    : io_context_(io_context),
      bootstrap_(bootstrap),
      build_(build),
      apply_(std::move(apply)),
      state_(bootstrap, std::move(build)),
      backoff_([&] {
        BackoffOptions options;
        const auto& ads = bootstrap.dynamic_resources().ads();
        if (ads.reconnect_backoff().has_base_interval()) {
          options.base = toMillis(ads.reconnect_backoff().base_interval());
        }
        if (ads.reconnect_backoff().has_max_interval()) {
          options.max = toMillis(ads.reconnect_backoff().max_interval());
        }
        return options;
      }()),
      reconnect_timer_(io_context),
      warming_timer_(io_context) {
  const auto& ads = bootstrap_.dynamic_resources().ads();
  if (ads.has_initial_fetch_timeout()) {
    initial_fetch_timeout_ = toMillis(ads.initial_fetch_timeout());
  }
}

AdsClient::~AdsClient() {
  stop();
}

std::string AdsClient::target() const {
  const auto& server = bootstrap_.dynamic_resources().ads().server();
  const std::string& host = server.address().address();
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(server.address().port());
}

SnapshotPtr AdsClient::restorePersisted() {
  if (!bootstrap_.has_persisted_config()) {
    return nullptr;
  }
  const auto& persisted = bootstrap_.persisted_config();
  const std::chrono::seconds max_age = persisted.has_max_age()
                                           ? std::chrono::seconds(persisted.max_age().seconds())
                                           : std::chrono::hours(24);
  weft::v1::PersistedResources resources;
  if (std::string error = readPersistedResources(persisted.path(), max_age, resources);
      !error.empty()) {
    xdsLog().info("not using persisted configuration: {}", error);
    return nullptr;
  }
  if (std::string error; !state_.restore(resources, error)) {
    xdsLog().warn("persisted configuration {} refused: {}", persisted.path(), error);
    return nullptr;
  }
  config::ConfigErrors errors;
  SnapshotPtr snapshot = build_(state_.assemble(), errors);
  if (!snapshot) {
    xdsLog().warn("persisted configuration {} refused: {}", persisted.path(),
                  config::formatErrors(errors));
    return nullptr;
  }
  ++applied_;
  applied_versions_ = state_.versionSummary();
  xdsLog().info("serving the persisted configuration of {} ({})", persisted.path(),
                state_.versionSummary());
  return snapshot;
}

void AdsClient::start() {
  grpc::ChannelArguments arguments;
  // The stream is long-lived; keepalive pings notice a control plane that vanished without
  // closing the connection (a killed node), so the proxy reconnects elsewhere.
  arguments.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
  arguments.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  // gRPC's own reconnect backoff would stack on ours; keep its first step short.
  arguments.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  arguments.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  arguments.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  channel_ = grpc::CreateCustomChannel(target(), grpc::InsecureChannelCredentials(), arguments);
  stub_ = weft::v1::AggregatedDiscoveryService::NewStub(channel_);
  connect();
}

void AdsClient::stop() {
  stopped_ = true;
  reconnect_timer_.cancel();
  warming_timer_.cancel();
  if (call_) {
    call_->cancel();
    call_.reset();
  }
}

void AdsClient::connect() {
  if (stopped_) {
    return;
  }
  std::string token;
  const std::string& token_file = bootstrap_.dynamic_resources().ads().server().token_file();
  if (!token_file.empty()) {
    // Read at every connect, so a rotated token is picked up.
    std::ifstream file(token_file);
    std::getline(file, token);
    if (!file && token.empty()) {
      xdsLog().warn("cannot read the token file {}; connecting without a credential", token_file);
    }
  }
  call_ = std::make_shared<AdsCall>(io_context_, this, ++call_id_);
  call_->start(*stub_, token);
  for (weft::v1::DiscoveryRequest& request : state_.streamRequests()) {
    send(std::move(request));
  }
  xdsLog().info("discovery stream to {} opening (attempt {})", target(), backoff_.attempt() + 1);
}

void AdsClient::send(weft::v1::DiscoveryRequest request) {
  if (call_) {
    call_->send(std::move(request));
  }
}

void AdsClient::onResponse(uint64_t call_id, weft::v1::DiscoveryResponse response) {
  if (call_id != call_id_ || stopped_) {
    return;  // a response of a stream already replaced
  }
  if (!connected_) {
    connected_ = true;
    stream_up_since_ = std::chrono::steady_clock::now();
    xdsLog().info("discovery stream to {} established", target());
  }
  AdsState::Outcome outcome = state_.onResponse(response);
  if (!outcome.accepted) {
    const weft::v1::ErrorDetail& detail = outcome.reply.error_detail();
    xdsLog().error("rejected {} version {}: resource '{}' field '{}': {}", response.type_url(),
                   response.version_info(), detail.resource_name(), detail.field(),
                   detail.message());
    send(std::move(outcome.reply));
    return;
  }
  if (!outcome.unchanged && state_.complete()) {
    // Applied before it is acknowledged: a configuration that cannot be put in place (an
    // address already in use) is rejected like an invalid one, and the proxy stays as it was.
    if (std::string error = applyNow(std::move(outcome.snapshot), "update"); !error.empty()) {
      weft::v1::ErrorDetail detail;
      detail.set_code(9);  // FAILED_PRECONDITION
      detail.set_message(error);
      xdsLog().error("rejected {} version {}: {}", response.type_url(), response.version_info(),
                     error);
      send(state_.rejectLastAccepted(response, std::move(detail)));
      return;
    }
  }
  send(std::move(outcome.reply));
  for (auto& change : outcome.subscription_changes) {
    send(std::move(change));
  }
  if (outcome.unchanged || state_.complete()) {
    return;
  }
  // Warming: wait for the referenced resources, but not forever.
  if (!warming_ && initial_fetch_timeout_.count() > 0) {
    warming_ = true;
    warming_timer_.expires_after(initial_fetch_timeout_);
    warming_timer_.async_wait([this](const boost::system::error_code& error) {
      if (error || !warming_) {
        return;
      }
      xdsLog().warn("resources still missing after {} ms; applying what has arrived",
                    initial_fetch_timeout_.count());
      config::ConfigErrors errors;
      SnapshotPtr snapshot = build_(state_.assemble(), errors);
      if (snapshot) {
        applyNow(std::move(snapshot), "fetch timeout");
      }
    });
  }
}

std::string AdsClient::applyNow(SnapshotPtr snapshot, const char* why) {
  warming_ = false;
  warming_timer_.cancel();
  if (!snapshot) {
    return {};
  }
  const std::string versions = state_.versionSummary();
  if (std::string error = apply_(std::move(snapshot), versions); !error.empty()) {
    xdsLog().error("configuration {} not applied: {}", versions, error);
    return error;
  }
  ++applied_;
  applied_versions_ = versions;
  xdsLog().info("configuration applied ({}): {}", why, versions);
  persist();
  return {};
}

void AdsClient::persist() {
  if (!bootstrap_.has_persisted_config()) {
    return;
  }
  if (std::string error =
          writePersistedResources(bootstrap_.persisted_config().path(), state_.persisted());
      !error.empty()) {
    xdsLog().warn("cannot persist the configuration: {}", error);
  }
}

void AdsClient::onClosed(uint64_t call_id, grpc::Status status) {
  if (call_id != call_id_ || stopped_) {
    return;
  }
  const bool was_connected = connected_;
  connected_ = false;
  call_.reset();
  if (was_connected && std::chrono::steady_clock::now() - stream_up_since_ >= kHealthyStream) {
    backoff_.reset();
  }
  xdsLog().warn("discovery stream to {} closed ({}: {}); serving the last good configuration",
                target(), static_cast<int>(status.error_code()), status.error_message());
  scheduleReconnect();
}

void AdsClient::scheduleReconnect() {
  const std::chrono::milliseconds delay = backoff_.next();
  ++reconnects_;
  reconnect_timer_.expires_after(delay);
  reconnect_timer_.async_wait([this](const boost::system::error_code& error) {
    if (!error) {
      connect();
    }
  });
}

}  // namespace weft::proxy::xds
