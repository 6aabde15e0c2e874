#include "controlplane/ca/mesh_root_publisher.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <exception>

#include "common/kube/json_fields.h"
#include "common/log/logger.h"

namespace weft::controlplane::ca {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

spdlog::logger& caLog() {
  static spdlog::logger& logger = weft::log::logger("ca");
  return logger;
}

const std::string kGet = "GET";
const std::string kPost = "POST";
const std::string kPut = "PUT";
const std::string kNoBody;
const std::string kJson = "application/json";
constexpr std::string_view kPartOf = "app.kubernetes.io/part-of";

// Two replicas writing at once make one of them lose with 409; it reads again at once. A
// ConfigMap that keeps changing under the publisher (another writer with other content) is a
// failure after this many conflicts in a row, and backs off like any other.
constexpr int kMaxConflictsInARow = 3;

}  // namespace

bool meshRootUpToDate(const json::object& config_map, const std::string& bundle_pem) {
  const json::object* data = kube::objectField(config_map, "data");
  const json::object* metadata = kube::objectField(config_map, "metadata");
  const json::object* labels =
      metadata == nullptr ? nullptr : kube::objectField(*metadata, "labels");
  return data != nullptr && data->size() == 1 &&
         kube::stringField(*data, kMeshRootKey) == bundle_pem &&
         !config_map.contains("binaryData") && labels != nullptr &&
         kube::stringField(*labels, kPartOf) == "weft";
}

std::string meshRootConfigMap(const MeshRootPublisherOptions& where, const std::string& bundle_pem,
                              const json::object* current) {
  json::object config_map;
  if (current != nullptr) {
    config_map = *current;
    config_map.erase("binaryData");
  } else {
    config_map["metadata"] = json::object{{"name", where.name}, {"namespace", where.namespace_}};
  }
  config_map["apiVersion"] = "v1";
  config_map["kind"] = "ConfigMap";
  json::value& metadata = config_map["metadata"];
  if (!metadata.is_object()) {
    metadata = json::object{{"name", where.name}, {"namespace", where.namespace_}};
  }
  json::value& labels = metadata.get_object()["labels"];
  if (!labels.is_object()) {
    labels = json::object();
  }
  labels.get_object()[kPartOf] = "weft";
  labels.get_object()["app.kubernetes.io/component"] = "ca";
  config_map["data"] = json::object{{kMeshRootKey, bundle_pem}};
  return json::serialize(config_map);
}

struct MeshRootPublisher::State {
  State(const asio::any_io_executor& executor, BackoffOptions backoff_options)
      : wake(executor), backoff(backoff_options) {}
  bool stopped = false;
  bool pending = false;
  bool published = false;
  uint64_t writes = 0;
  uint64_t failures = 0;
  std::string bundle;
  asio::steady_timer wake;
  ExponentialBackoff backoff;
};

MeshRootPublisher::MeshRootPublisher(kube::AsyncApiClient& client, MeshRootPublisherOptions options,
                                     prometheus::Registry& registry)
    : client_(client), options_(std::move(options)) {
  writes_ = &prometheus::BuildCounter()
                 .Name("weft_cp_ca_mesh_root_writes_total")
                 .Help("Creates and replacements of the mesh root ConfigMap")
                 .Register(registry)
                 .Add({});
  failures_ = &prometheus::BuildCounter()
                   .Name("weft_cp_ca_mesh_root_publish_failures_total")
                   .Help(
                       "Attempts to publish the mesh root ConfigMap that failed (retried with "
                       "backoff)")
                   .Register(registry)
                   .Add({});
  published_ = &prometheus::BuildGauge()
                    .Name("weft_cp_ca_mesh_root_published")
                    .Help("1 when the mesh root ConfigMap holds this replica's trust bundle")
                    .Register(registry)
                    .Add({});
  state_ = std::make_shared<State>(client_.executor(), options_.backoff);
  asio::co_spawn(client_.executor(), run(*state_), [state = state_](std::exception_ptr failure) {
    if (failure) {
      try {
        std::rethrow_exception(failure);
      } catch (const std::exception& error) {
        caLog().error("publishing the mesh root ended unexpectedly: {}", error.what());
      }
    }
  });
}

MeshRootPublisher::~MeshRootPublisher() {
  stop();
}

void MeshRootPublisher::stop() {
  state_->stopped = true;
  state_->wake.cancel();
}

void MeshRootPublisher::publish(std::string bundle_pem) {
  if (bundle_pem != state_->bundle) {
    state_->published = false;
    published_->Set(0);
  }
  state_->bundle = std::move(bundle_pem);
  state_->pending = true;
  state_->wake.cancel();
}

MeshRootPublisherStats MeshRootPublisher::stats() const {
  return {state_->writes, state_->failures, state_->published};
}

std::string MeshRootPublisher::location() const {
  return "ConfigMap " + options_.namespace_ + "/" + options_.name;
}

asio::awaitable<MeshRootPublisher::Outcome> MeshRootPublisher::attempt(const std::string& bundle,
                                                                       std::string& error) {
  const std::string collection = "/api/v1/namespaces/" + options_.namespace_ + "/configmaps";
  const std::string item = collection + "/" + options_.name;
  const kube::ApiResponse found =
      co_await client_.call(kGet, item, kNoBody, options_.request_timeout, kJson);
  if (found.status == 404) {
    const std::string body = meshRootConfigMap(options_, bundle, nullptr);
    const kube::ApiResponse created =
        co_await client_.call(kPost, collection, body, options_.request_timeout, kJson);
    if (created.status == 201 || created.status == 200) {
      co_return Outcome::kPublished;
    }
    if (created.status == 409) {  // created by another replica meanwhile
      co_return Outcome::kConflict;
    }
    error = "creating it: " + created.describe();
    co_return Outcome::kFailed;
  }
  if (found.status != 200) {
    error = "reading it: " + found.describe();
    co_return Outcome::kFailed;
  }
  boost::system::error_code parse_error;
  json::value current = json::parse(found.body, parse_error);
  if (parse_error || !current.is_object()) {
    error = "reading it: the answer is not a JSON object";
    co_return Outcome::kFailed;
  }
  if (meshRootUpToDate(current.get_object(), bundle)) {
    co_return Outcome::kUnchanged;
  }
  const std::string body = meshRootConfigMap(options_, bundle, &current.get_object());
  const kube::ApiResponse replaced =
      co_await client_.call(kPut, item, body, options_.request_timeout, kJson);
  if (replaced.status == 200) {
    co_return Outcome::kPublished;
  }
  if (replaced.status == 409 || replaced.status == 404) {  // changed or deleted meanwhile
    co_return Outcome::kConflict;
  }
  error = "replacing it: " + replaced.describe();
  co_return Outcome::kFailed;
}

asio::awaitable<void> MeshRootPublisher::run(State& state) {
  boost::system::error_code ignored;
  int conflicts = 0;
  while (!state.stopped) {
    if (!state.pending) {
      state.wake.expires_at(asio::steady_timer::time_point::max());
      co_await state.wake.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
      continue;
    }
    state.pending = false;
    const std::string bundle = state.bundle;
    std::string error;
    Outcome outcome = co_await attempt(bundle, error);
    if (state.stopped) {
      break;
    }
    if (outcome == Outcome::kConflict && ++conflicts >= kMaxConflictsInARow) {
      outcome = Outcome::kFailed;
      error = "it changed under every one of " + std::to_string(kMaxConflictsInARow) +
              " attempts in a row (409 Conflict)";
    }
    if (outcome == Outcome::kConflict) {
      state.pending = true;
      continue;
    }
    conflicts = 0;
    if (outcome != Outcome::kFailed) {
      state.backoff.reset();
      if (bundle == state.bundle) {
        state.published = true;
        published_->Set(1);
      }
      if (outcome == Outcome::kPublished) {
        ++state.writes;
        writes_->Increment();
        caLog().info("published the mesh root to {} ({} bytes of PEM)", location(), bundle.size());
      }
      continue;
    }
    ++state.failures;
    failures_->Increment();
    const std::chrono::milliseconds delay = state.backoff.next();
    caLog().warn("publishing the mesh root to {} failed: {}; retrying in {} ms", location(), error,
                 delay.count());
    if (!state.pending) {
      // A new bundle (publish()) cuts the wait short.
      state.wake.expires_after(delay);
      co_await state.wake.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
      state.pending = true;
    }
  }
}

}  // namespace weft::controlplane::ca
