#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/config/yaml_to_proto.h"
#include "common/kube/async_api_client.h"
#include "common/kube/reflector.h"
#include "controlplane/model/mesh_model.h"
#include "controlplane/source/kubernetes_objects.h"
#include "controlplane/source/mesh_model_builder.h"
#include "controlplane/source/mesh_source.h"

namespace weft::controlplane {

struct KubernetesSourceOptions {
  kube::ApiServer server;
  kube::ReflectorOptions reflector;
  // Bounds on each object, as for a manifest file.
  config::YamlLimits limits;
  // Quiet time after an event before the model is built: a rollout changes a pod, then its
  // EndpointSlices, within milliseconds, and one model for the lot saves a translation. Short,
  // because the control plane's push debounce follows.
  std::chrono::milliseconds settle_time{10};
  // Discovery selector (as Istio's discoverySelectors): when not empty, only namespaces whose
  // labels include all of these are part of the mesh; objects elsewhere are not read into the
  // model. The root namespace (weft-system) always is. Empty: every namespace.
  std::map<std::string, std::string> namespace_selector;
};

// The Accepted condition as a weft.dev resource's status carries it.
struct AcceptedCondition {
  std::string status;  // "True" or "False"
  std::string reason;
  std::string message;
  int64_t observed_generation = 0;
  std::string last_transition_time;

  bool operator==(const AcceptedCondition&) const = default;
};

// Where a weft.dev resource stands, for its status: in effect, or refused and why; and what
// its status says now.
struct ResourceOutcome {
  ObjectId id;
  std::string plural;  // "trafficroutes": the resource's path
  // The resource's metadata.generation as read; its status names it (observedGeneration).
  int64_t generation = 0;
  bool accepted = false;
  // For a refusal: every error of the document, "spec.rules[0].weight: ..." (field: reason).
  std::vector<std::string> errors;
  // status.observedGeneration and the Accepted condition, as read (absent: never written).
  int64_t status_observed_generation = 0;
  std::optional<AcceptedCondition> current;

  bool operator==(const ResourceOutcome&) const = default;
};

// Counters of a KubernetesSource; a plain snapshot.
struct KubernetesSourceStats {
  // By resource kind ("Pod", "TrafficRoute", ...).
  std::map<std::string, kube::ReflectorStats> resources;
  // Objects read from events and lists, by countedKind() and result.
  std::map<std::string, DocumentCounts> documents;
  // Models built that differed from the one before.
  uint64_t models = 0;
  // Errors in the objects as they are now (rejected documents).
  uint64_t current_errors = 0;
  // Whether every resource has been listed once, so the model is the cluster's.
  bool synced = false;
};

// The mesh as the Kubernetes API describes it: Services, EndpointSlices, Pods, Namespaces and
// the weft.dev resources, each kept current by a Reflector (list, then watch; common/kube).
// Each object is read into the model the way the directory source reads a manifest
// (kubernetes_objects.h), through the same MeshModelBuilder: the last good version of a
// resource that became invalid is kept, and the errors name the resource and field. Pods
// become Workloads, ready when an EndpointSlice says so.
//
// No model is published until every resource has been listed once: a proxy served a half-read
// cluster would drop routes it still needs. Then each burst of events (settle_time) gives one
// new model when the content changed.
//
// Runs on the io_context's thread: start() there or before it runs; current(), stats() and
// outcomes() may be called from any thread.
class KubernetesSource final : public MeshSource {
 public:
  using ModelCallback = std::function<void(MeshModelPtr)>;
  // Called on the io_context's thread after a build whose outcomes changed.
  using OutcomesCallback = std::function<void()>;

  KubernetesSource(boost::asio::io_context& io_context, KubernetesSourceOptions options,
                   ModelCallback on_model);
  ~KubernetesSource() override;
  KubernetesSource(const KubernetesSource&) = delete;
  KubernetesSource& operator=(const KubernetesSource&) = delete;

  void setOutcomesCallback(OutcomesCallback callback) { on_outcomes_ = std::move(callback); }

  // Starts every watch. Whether the API can be reached shows later, in the log and metrics:
  // the API server may well come up after the control plane.
  [[nodiscard]] std::string start() override;
  // Lists every resource again (SIGHUP).
  void reload() override;
  void stop() override;

  MeshModelPtr current() const override;
  std::chrono::steady_clock::time_point changeNoticedAt() const override {
    return change_noticed_at_;
  }
  std::string describe() const override { return "the Kubernetes API at " + options_.server.url(); }
  // Until every resource has been listed once: "waiting for the first list of Service, Pod".
  std::string notReadyReason() const override;
  KubernetesSourceStats stats() const;
  // Every weft.dev resource's outcome, by id.
  std::map<ObjectId, ResourceOutcome> outcomes() const;

  const kube::ApiServer& server() const { return options_.server; }

 private:
  struct Watched;
  void onEvent(const std::string& kind, kube::WatchEventType type,
               const boost::json::object& object);
  void onSynced();
  void podChanged(const std::string& key);
  // Whether objects of `namespace_` belong in the model (namespace_selector).
  bool selected(const std::string& namespace_) const;
  // Queues `file` (or its removal, when null) for the builder, if its namespace is selected.
  void stage(const std::string& namespace_, const std::string& source, const ManifestFile* file);
  void namespaceChanged(const std::string& name, bool was_selected);
  void scheduleBuild();
  void build();
  void refreshStats();
  void copyReflectorStats();

  boost::asio::io_context& io_context_;
  const KubernetesSourceOptions options_;
  ModelCallback on_model_;
  OutcomesCallback on_outcomes_;
  kube::AsyncApiClient client_;
  std::vector<std::unique_ptr<Watched>> watched_;
  boost::asio::steady_timer settle_timer_;
  boost::asio::steady_timer stats_timer_;
  bool build_pending_ = false;
  bool synced_ = false;
  bool stopped_ = false;
  std::chrono::steady_clock::time_point change_noticed_at_{};

  // Every Service and weft.dev resource as last read, selected or not, by builder source,
  // with its namespace: a namespace that becomes selected brings them in.
  struct Held {
    std::string namespace_;
    ManifestFile file;
  };
  std::map<std::string, Held> held_;
  // Namespace labels, for namespace_selector.
  std::map<std::string, std::map<std::string, std::string>> namespaces_;
  // Changes since the last build, by builder source.
  std::map<std::string, ManifestFile> changed_;
  std::set<std::string> removed_;
  // Pods whose Workload must be made again (pod or EndpointSlice changed).
  std::set<std::string> dirty_pods_;
  std::map<std::string, PodInfo> pods_;
  // EndpointSlice key -> the pods it lists; and the reverse, pod -> slice -> its state there.
  std::map<std::string, std::map<std::string, PodEndpoint>> slices_;
  std::map<std::string, std::map<std::string, PodEndpoint>> pod_endpoints_;
  // weft.dev resources as last read: builder source -> outcome.
  std::map<std::string, ResourceOutcome> resource_outcomes_;
  MeshModelBuilder builder_;

  mutable std::mutex mutex_;  // guards current_, stats_ and outcomes_
  MeshModelPtr current_ = std::make_shared<const MeshModel>();
  KubernetesSourceStats stats_;
  std::map<ObjectId, ResourceOutcome> outcomes_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// The resources the source watches, in the order they are started.
std::vector<kube::ResourceType> meshResourceTypes();

}  // namespace weft::controlplane
