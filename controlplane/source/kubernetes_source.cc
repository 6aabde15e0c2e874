#include "controlplane/source/kubernetes_source.h"

#include <boost/json.hpp>

#include "common/kube/json_fields.h"
#include "common/log/logger.h"

namespace weft::controlplane {
namespace {

namespace json = boost::json;

spdlog::logger& sourceLog() {
  static spdlog::logger& log = weft::log::logger("source");
  return log;
}

std::string namespaceOf(const std::string& key) {
  const size_t slash = key.find('/');
  return slash == std::string::npos ? std::string() : key.substr(0, slash);
}

// The weft.dev kinds and their resource names.
struct MeshKind {
  const char* kind;
  const char* plural;
};
constexpr const char* kMeshApiVersion = "weft.dev/v1alpha1";
constexpr MeshKind kMeshKinds[] = {
    {"TrafficRoute", "trafficroutes"},
    {"DestinationPolicy", "destinationpolicies"},
    {"AuthorizationPolicy", "authorizationpolicies"},
    {"PeerAuthentication", "peerauthentications"},
    {"MeshConfig", "meshconfigs"},
    {"Workload", "workloads"},
};

// The weft.dev kind of that name; null for other kinds.
const MeshKind* meshKindNamed(const std::string& kind) {
  for (const MeshKind& mesh : kMeshKinds) {
    if (kind == mesh.kind) {
      return &mesh;
    }
  }
  return nullptr;
}

ObjectKind objectKindNamed(const std::string& kind) {
  for (size_t i = 0; i < kObjectKindCount; ++i) {
    if (kindName(static_cast<ObjectKind>(i)) == kind) {
      return static_cast<ObjectKind>(i);
    }
  }
  return ObjectKind::kService;  // not reached for the kinds watched
}

// What the resource's status says now: observedGeneration and the Accepted condition.
void readStatus(const json::object& object, ResourceOutcome& outcome) {
  const json::object* status = kube::objectField(object, "status");
  if (status == nullptr) {
    return;
  }
  outcome.status_observed_generation = kube::integerField(*status, "observedGeneration");
  const json::value* conditions = status->if_contains("conditions");
  if (conditions == nullptr || !conditions->is_array()) {
    return;
  }
  for (const json::value& entry : conditions->get_array()) {
    if (entry.is_object() &&
        std::string(kube::stringField(entry.get_object(), "type")) == "Accepted") {
      const json::object& condition = entry.get_object();
      outcome.current =
          AcceptedCondition{std::string(kube::stringField(condition, "status")),
                            std::string(kube::stringField(condition, "reason")),
                            std::string(kube::stringField(condition, "message")),
                            kube::integerField(condition, "observedGeneration"),
                            std::string(kube::stringField(condition, "lastTransitionTime"))};
    }
  }
}

// How often the reflectors' counters are copied for stats(), which other threads read.
constexpr std::chrono::seconds kStatsInterval{1};

}  // namespace

std::vector<kube::ResourceType> meshResourceTypes() {
  std::vector<kube::ResourceType> types = {
      {"/api/v1", "namespaces", "Namespace"},
      {"/api/v1", "services", "Service"},
      {"/api/v1", "pods", "Pod"},
      {"/apis/discovery.k8s.io/v1", "endpointslices", "EndpointSlice"},
  };
  for (const MeshKind& mesh : kMeshKinds) {
    types.push_back({"/apis/weft.dev/v1alpha1", mesh.plural, mesh.kind});
  }
  return types;
}

struct KubernetesSource::Watched {
  Watched(kube::AsyncApiClient& client, kube::ResourceType type,
          const kube::ReflectorOptions& options, kube::Reflector::Handler handler)
      : reflector(client, std::move(type), options, std::move(handler)) {}
  kube::Reflector reflector;
  bool synced = false;
};

KubernetesSource::KubernetesSource(boost::asio::io_context& io_context,
                                   KubernetesSourceOptions options, ModelCallback on_model)
    : io_context_(io_context),
      options_(std::move(options)),
      on_model_(std::move(on_model)),
      client_(io_context.get_executor(), options_.server),
      settle_timer_(io_context),
      stats_timer_(io_context) {
  for (kube::ResourceType& type : meshResourceTypes()) {
    const std::string kind = type.kind;
    const size_t index = watched_.size();
    kube::Reflector::Handler handler{
        [this, kind](kube::WatchEventType event, const json::object& object) {
          onEvent(kind, event, object);
        },
        [this, index] {
          watched_[index]->synced = true;
          onSynced();
        }};
    watched_.push_back(std::make_unique<Watched>(client_, std::move(type), options_.reflector,
                                                 std::move(handler)));
  }
}

KubernetesSource::~KubernetesSource() {
  stop();
}

std::string KubernetesSource::start() {
  sourceLog().info("watching the Kubernetes API at {}", options_.server.url());
  for (auto& watched : watched_) {
    watched->reflector.start();
  }
  refreshStats();
  return {};
}

void KubernetesSource::refreshStats() {
  if (stopped_) {
    return;
  }
  copyReflectorStats();
  stats_timer_.expires_after(kStatsInterval);
  stats_timer_.async_wait(
      [this, alive = std::weak_ptr<bool>(alive_)](const boost::system::error_code& error) {
        if (!error && !alive.expired()) {
          refreshStats();
        }
      });
}

void KubernetesSource::copyReflectorStats() {
  std::map<std::string, kube::ReflectorStats> resource_stats;
  for (const auto& watched : watched_) {
    resource_stats.emplace(watched->reflector.type().kind, watched->reflector.stats());
  }
  std::lock_guard lock(mutex_);
  stats_.resources = std::move(resource_stats);
}

void KubernetesSource::reload() {
  boost::asio::post(io_context_, [this, alive = std::weak_ptr<bool>(alive_)] {
    if (alive.expired() || stopped_) {
      return;
    }
    sourceLog().info("listing every resource again");
    for (auto& watched : watched_) {
      watched->reflector.relist();
    }
  });
}

void KubernetesSource::stop() {
  if (stopped_) {
    return;
  }
  stopped_ = true;
  for (auto& watched : watched_) {
    watched->reflector.stop();
  }
  client_.cancelAll();
  settle_timer_.cancel();
  stats_timer_.cancel();
}

std::string KubernetesSource::notReadyReason() const {
  if (synced_) {
    return {};
  }
  std::string waiting;
  for (const auto& watched : watched_) {
    if (!watched->synced) {
      waiting += (waiting.empty() ? "" : ", ") + watched->reflector.type().kind;
    }
  }
  return waiting.empty() ? "building the first model" : "waiting for the first list of " + waiting;
}

MeshModelPtr KubernetesSource::current() const {
  std::lock_guard lock(mutex_);
  return current_;
}

KubernetesSourceStats KubernetesSource::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

std::map<ObjectId, ResourceOutcome> KubernetesSource::outcomes() const {
  std::lock_guard lock(mutex_);
  return outcomes_;
}

bool KubernetesSource::selected(const std::string& namespace_) const {
  if (options_.namespace_selector.empty() || namespace_ == kRootNamespace) {
    return true;
  }
  auto found = namespaces_.find(namespace_);
  if (found == namespaces_.end()) {
    return false;
  }
  for (const auto& [label, value] : options_.namespace_selector) {
    auto it = found->second.find(label);
    if (it == found->second.end() || it->second != value) {
      return false;
    }
  }
  return true;
}

void KubernetesSource::stage(const std::string& namespace_, const std::string& source,
                             const ManifestFile* file) {
  if (file != nullptr && selected(namespace_)) {
    changed_.insert_or_assign(source, *file);
    removed_.erase(source);
  } else {
    changed_.erase(source);
    removed_.insert(source);
  }
}

void KubernetesSource::onEvent(const std::string& kind, kube::WatchEventType type,
                               const json::object& object) {
  if (stopped_) {
    return;
  }
  if (!build_pending_) {
    change_noticed_at_ = std::chrono::steady_clock::now();
  }
  const std::string key = kube::objectKeyOf(object);
  const bool deleted = type == kube::WatchEventType::kDeleted;
  if (kind == "Namespace") {
    const bool was_selected = selected(key);
    if (deleted) {
      namespaces_.erase(key);
    } else {
      const json::object* metadata = kube::objectField(object, "metadata");
      std::map<std::string, std::string> labels;
      if (const json::object* map =
              metadata == nullptr ? nullptr : kube::objectField(*metadata, "labels")) {
        for (const auto& [label, value] : *map) {
          if (value.is_string()) {
            labels.emplace(std::string(label), std::string(value.get_string()));
          }
        }
      }
      namespaces_.insert_or_assign(key, std::move(labels));
    }
    namespaceChanged(key, was_selected);
  } else if (kind == "Pod") {
    std::optional<PodInfo> pod = deleted ? std::nullopt : readPod(object);
    if (pod) {
      pods_.insert_or_assign(key, std::move(*pod));
    } else {
      pods_.erase(key);
    }
    podChanged(key);
  } else if (kind == "EndpointSlice") {
    auto& listed = slices_[key];
    for (const auto& [pod, state] : listed) {
      auto it = pod_endpoints_.find(pod);
      if (it != pod_endpoints_.end()) {
        it->second.erase(key);
        if (it->second.empty()) {
          pod_endpoints_.erase(it);
        }
      }
      podChanged(pod);
    }
    if (deleted) {
      slices_.erase(key);
    } else {
      listed = readEndpointSlicePods(object);
      for (const auto& [pod, state] : listed) {
        pod_endpoints_[pod][key] = state;
        podChanged(pod);
      }
    }
  } else {
    const std::string source = apiObjectSource(kind, key);
    const std::string namespace_ = namespaceOf(key);
    if (!deleted && kind == "Service") {
      const json::object* spec = kube::objectField(object, "spec");
      if (spec != nullptr && std::string(kube::stringField(*spec, "type")) == "ExternalName") {
        // A DNS alias: nothing to route to, and no mistake of the user's either.
        sourceLog().debug("{}: an ExternalName Service; not part of the mesh", source);
        held_.erase(source);
        stage(namespace_, source, nullptr);
        scheduleBuild();
        return;
      }
    }
    if (deleted) {
      held_.erase(source);
      resource_outcomes_.erase(source);
      stage(namespace_, source, nullptr);
    } else {
      ManifestFile file = readApiObject(
          object, meshKindNamed(kind) != nullptr ? kMeshApiVersion : "v1", kind, options_.limits);
      const MeshKind* mesh_kind = meshKindNamed(kind);
      if (mesh_kind != nullptr && !file.documents.empty()) {
        const ManifestDocument& document = file.documents.front();
        ResourceOutcome outcome;
        outcome.id = ObjectId{objectKindNamed(kind), document.namespace_, document.name};
        outcome.plural = mesh_kind->plural;
        const json::object* metadata = kube::objectField(object, "metadata");
        outcome.generation = metadata == nullptr ? 0 : kube::integerField(*metadata, "generation");
        readStatus(object, outcome);
        outcome.accepted = document.result == DocumentResult::kAccepted;
        for (const ManifestError& error : document.errors) {
          outcome.errors.push_back(
              (error.field_path.empty() ? std::string() : error.field_path + ": ") + error.reason);
        }
        resource_outcomes_.insert_or_assign(source, std::move(outcome));
      }
      stage(namespace_, source, &file);
      held_.insert_or_assign(source, Held{namespace_, std::move(file)});
    }
  }
  scheduleBuild();
}

void KubernetesSource::namespaceChanged(const std::string& name, bool was_selected) {
  const bool now_selected = selected(name);
  if (was_selected == now_selected) {
    return;
  }
  sourceLog().info("namespace {} {} the mesh", name, now_selected ? "joins" : "leaves");
  for (const auto& [source, held] : held_) {
    if (held.namespace_ == name) {
      stage(name, source, &held.file);
    }
  }
  for (const auto& [key, pod] : pods_) {
    if (pod.namespace_ == name) {
      dirty_pods_.insert(key);
    }
  }
}

void KubernetesSource::podChanged(const std::string& key) {
  dirty_pods_.insert(key);
}

void KubernetesSource::onSynced() {
  if (stopped_) {
    return;
  }
  scheduleBuild();
}

void KubernetesSource::scheduleBuild() {
  if (build_pending_) {
    return;
  }
  build_pending_ = true;
  settle_timer_.expires_after(options_.settle_time);
  settle_timer_.async_wait(
      [this, alive = std::weak_ptr<bool>(alive_)](const boost::system::error_code& error) {
        if (error || alive.expired() || stopped_) {
          return;
        }
        build_pending_ = false;
        build();
      });
}

void KubernetesSource::build() {
  for (const std::string& key : dirty_pods_) {
    const std::string source = apiObjectSource("Pod", key);
    auto pod = pods_.find(key);
    if (pod == pods_.end()) {
      stage(namespaceOf(key), source, nullptr);
      continue;
    }
    bool ready = false;
    std::string zone;
    if (auto endpoints = pod_endpoints_.find(key); endpoints != pod_endpoints_.end()) {
      for (const auto& [slice, state] : endpoints->second) {
        ready = ready || state.ready;
        if (zone.empty()) {
          zone = state.zone;
        }
      }
    }
    const ManifestFile file = podWorkload(pod->second, ready, zone);
    stage(pod->second.namespace_, source, &file);
  }
  dirty_pods_.clear();

  bool all_synced = true;
  for (const auto& watched : watched_) {
    all_synced = all_synced && watched->synced;
  }
  copyReflectorStats();
  std::vector<ManifestFile> changed;
  changed.reserve(changed_.size());
  for (auto& [source, file] : changed_) {
    changed.push_back(std::move(file));
  }
  const std::vector<std::string> removed(removed_.begin(), removed_.end());
  changed_.clear();
  removed_.clear();
  ModelBuild result = builder_.update(std::move(changed), removed);
  for (const ManifestError& error : result.errors) {
    sourceLog().error("{}", error.toString());
  }
  for (const std::string& kept : result.kept) {
    sourceLog().warn("keeping the last good version of {}, which is invalid now", kept);
  }
  const bool first = all_synced && !synced_;
  if (first) {
    synced_ = true;
    sourceLog().info(
        "every resource listed: {} services, {} workloads (pods included), {} "
        "traffic routes",
        result.model->services.size(), result.model->workloads.size(),
        result.model->traffic_routes.size());
  }
  std::map<ObjectId, ResourceOutcome> outcomes;
  for (const auto& [source, outcome] : resource_outcomes_) {
    auto held = held_.find(source);
    if (held != held_.end() && selected(held->second.namespace_)) {
      outcomes.emplace(outcome.id, outcome);
    }
  }
  bool outcomes_changed = false;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [kind, counts] : result.documents) {
      DocumentCounts& sum = stats_.documents[kind];
      sum.accepted += counts.accepted;
      sum.rejected += counts.rejected;
      sum.ignored += counts.ignored;
    }
    stats_.current_errors = builder_.errorCount();
    stats_.synced = synced_;
    if (synced_ && (result.changed || first)) {
      ++stats_.models;
      current_ = result.model;
    }
    if (synced_ && outcomes != outcomes_) {
      outcomes_ = std::move(outcomes);
      outcomes_changed = true;
    }
  }
  if (synced_ && (result.changed || first) && on_model_) {
    on_model_(result.model);
  }
  if (outcomes_changed && on_outcomes_) {
    on_outcomes_();
  }
}

}  // namespace weft::controlplane
