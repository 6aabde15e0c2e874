#include "proxy/xds/ads_client.h"

#include <fstream>

#include "common/log/logger.h"
#include "common/version/version.h"
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

// The method of docs/xds-protocol.md, as gRPC names it on the wire.
constexpr const char* kStreamResourcesPath = "/weft.v1.AggregatedDiscoveryService/StreamResources";

}  // namespace

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
  if (ads.server().has_tls()) {
    // Checked when the bootstrap was loaded (unsupportedDynamicSettings); should it fail here
    // anyway, connect() refuses rather than speak plaintext.
    tls_ = ControlPlaneTls::from(ads.server().tls(), ads.server().address().address(),
                                 "dynamic_resources.ads.server.tls", tls_error_);
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
  state_.markApplied();
  xdsLog().info("serving the persisted configuration of {} ({})", persisted.path(),
                state_.versionSummary());
  return snapshot;
}

void AdsClient::setLocalSecrets(std::vector<weft::v1::Secret> secrets) {
  state_.setLocalSecrets(std::move(secrets));
  if (stopped_) {
    return;
  }
  config::ConfigErrors errors;
  SnapshotPtr snapshot = build_(state_.assembleApplied(), errors);
  if (!snapshot) {
    xdsLog().error("the configuration with the new workload certificate was refused: {}",
                   config::formatErrors(errors));
    return;
  }
  const std::string versions =
      (applied_versions_.empty() ? std::string("static") : applied_versions_) +
      " + workload certificate";
  if (std::string error = apply_(std::move(snapshot), versions); !error.empty()) {
    xdsLog().error("the configuration with the new workload certificate was not applied: {}",
                   error);
  }
}

void AdsClient::start() {
  connect();
}

void AdsClient::stop() {
  stopped_ = true;
  reconnect_timer_.cancel();
  warming_timer_.cancel();
  if (stream_) {
    stream_->cancel();
    stream_.reset();
  }
}

std::string AdsClient::readToken() const {
  const std::string& token_file = bootstrap_.dynamic_resources().ads().server().token_file();
  std::string token;
  if (!token_file.empty()) {
    // Read at every connect, so a rotated token is picked up.
    std::ifstream file(token_file);
    std::getline(file, token);
    if (!file && token.empty()) {
      xdsLog().warn("cannot read the token file {}; connecting without a credential", token_file);
    }
  }
  return token;
}

void AdsClient::connect() {
  if (stopped_) {
    return;
  }
  const auto& server = bootstrap_.dynamic_resources().ads().server();
  if (server.has_tls() && !tls_) {
    xdsLog().error("not connecting to the control plane: {}", tls_error_);
    return;
  }
  GrpcCallOptions options;
  options.host = server.address().address();
  options.port = static_cast<uint16_t>(server.address().port());
  options.path = kStreamResourcesPath;
  options.token = readToken();
  options.tls = tls_;
  options.user_agent = std::string("weft-proxy/").append(weft::version());
  const uint64_t id = ++call_id_;
  GrpcBidiStream::Handlers handlers;
  handlers.on_message = [this, id](std::string bytes) {
    weft::v1::DiscoveryResponse response;
    if (!response.ParseFromString(bytes)) {
      // Not a DiscoveryResponse: the peer is not a Weft control plane, or is broken.
      if (id == call_id_ && stream_) {
        stream_->cancel();
        onClosed(id, {13, "a response that is not a valid DiscoveryResponse"});
      }
      return;
    }
    onResponse(id, std::move(response));
  };
  handlers.on_closed = [this, id](GrpcStatus status) { onClosed(id, status); };
  stream_ = std::make_shared<GrpcBidiStream>(io_context_, std::move(options), std::move(handlers));
  stream_->start();
  for (weft::v1::DiscoveryRequest& request : state_.streamRequests()) {
    send(std::move(request));
  }
  xdsLog().info("discovery stream to {} opening (attempt {})", target(), backoff_.attempt() + 1);
}

void AdsClient::send(weft::v1::DiscoveryRequest request) {
  if (stream_) {
    stream_->send(request.SerializeAsString());
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
      for (weft::v1::DiscoveryRequest& nack : state_.rejectUnapplied(detail)) {
        send(std::move(nack));
      }
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
      if (!snapshot) {
        return;
      }
      if (std::string failed = applyNow(std::move(snapshot), "fetch timeout"); !failed.empty()) {
        weft::v1::ErrorDetail detail;
        detail.set_code(9);  // FAILED_PRECONDITION
        detail.set_message(failed);
        for (weft::v1::DiscoveryRequest& nack : state_.rejectUnapplied(detail)) {
          send(std::move(nack));
        }
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
  state_.markApplied();
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

void AdsClient::onClosed(uint64_t call_id, const GrpcStatus& status) {
  if (call_id != call_id_ || stopped_) {
    return;
  }
  const bool was_connected = connected_;
  connected_ = false;
  stream_.reset();
  if (was_connected && std::chrono::steady_clock::now() - stream_up_since_ >= kHealthyStream) {
    backoff_.reset();
  }
  xdsLog().warn("discovery stream to {} closed ({}: {}); serving the last good configuration",
                target(), status.code, status.message);
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
