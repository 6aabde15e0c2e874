#pragma once

#include <boost/json/object.hpp>
#include <functional>
#include <istream>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "cli/check_command.h"
#include "cli/kube_connection.h"
#include "injector/injection_settings.h"
#include "injector/pod_injector.h"

namespace weft::cli {

// `weftctl inject`: the sidecar injector's mutation applied to manifests, for clusters without
// the webhook. Reads a multi-document YAML stream and writes it back with every Pod, and the
// pod template of every Deployment, StatefulSet, DaemonSet, ReplicaSet, Job and CronJob
// (workload_pods.h), injected as the webhook would inject its pods. Everything else (other
// kinds, skipped workloads, comments and markers between documents) is copied byte for byte;
// an injected document is written again from its patched tree (yaml_document_writer.h).
// docs/operations.md ("weftctl inject").

struct InjectOptions {
  std::string file;            // -f: a path; "-" or empty: standard input
  std::string namespace_;      // --namespace: for objects that name none; empty: "default"
  std::string proxy_image;     // --proxy-image
  std::string sidecar_mode;    // --sidecar-mode native|classic
  std::string mesh_root_file;  // --mesh-root-file: PEM; empty: from the cluster
  std::string settings_dir;    // --settings-dir: the injector's ConfigMap as files
};

// The ConfigMap the control plane publishes the mesh root in, and its key.
inline constexpr std::string_view kMeshRootNamespace = "weft-system";
inline constexpr std::string_view kMeshRootConfigMap = "weft-mesh-root";
inline constexpr std::string_view kMeshRootConfigMapKey = "root-cert.pem";

// Decides one pod: injectSidecar with the settings, or a fake in tests.
using PodInjector = std::function<injector::InjectionResult(const boost::json::object& pod,
                                                            std::string_view namespace_name)>;

struct InjectedStream {
  std::string output;              // the whole stream, injected documents rewritten
  std::vector<std::string> notes;  // one line each for stderr
  size_t injected = 0;             // pods and templates injected
  bool refused = false;            // a workload could not be injected: exit 1
  bool syntax_error = false;       // nothing to write; the note says where: exit 2
};

// Injects every workload of `text`. `source` names the input in notes ("deploy.yaml",
// "<stdin>"): "<source>: document 2 (Deployment web): skipped: <why>". An object's
// metadata.namespace, else `default_namespace`, is the namespace the injector judges.
InjectedStream injectYamlStream(std::string_view text, const std::string& source,
                                const std::string& default_namespace, const PodInjector& inject);

// The settings without the mesh root: InjectionSettings' defaults, then --settings-dir, then
// --proxy-image and --sidecar-mode. False with `error` naming the option or key.
bool injectionSettingsFromOptions(const InjectOptions& options,
                                  injector::InjectionSettings& settings, std::string& error);

// The mesh root from ConfigMap weft-system/weft-mesh-root through `get`; nothing, with
// `error`, when it cannot be read or holds no certificate.
std::optional<std::string> meshRootFromCluster(const ApiGet& get, std::string& error);

// Whether `pem` holds at least one certificate; `error` says why not.
bool checkMeshRoot(const std::string& pem, std::string& error);

int runInject(const InjectOptions& options, const KubeConnectionOptions& kube, std::istream& in,
              std::ostream& out, std::ostream& err);

}  // namespace weft::cli
