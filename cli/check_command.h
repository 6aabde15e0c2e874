#pragma once

#include <chrono>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "cli/kube_connection.h"
#include "common/kube/api_client.h"

namespace weft::cli {

// `weftctl check`: whether a cluster runs Weft as `weftctl install` set it up, one line per
// check with OK, WARN or FAIL and, when not OK, what to do. Exit code 0 when nothing FAILs, 1
// otherwise. Read-only: it only GETs. docs/operations.md ("Installing on Kubernetes").

enum class CheckStatus { kOk, kWarn, kFail };

struct CheckResult {
  CheckStatus status = CheckStatus::kOk;
  std::string name;    // "CRDs", "CA Secret"
  std::string detail;  // what was found
  std::string action;  // what to do; empty when OK
};

// What the checks look for; the defaults are what `weftctl install` creates.
struct ClusterExpectations {
  std::vector<std::string> crds;  // CRD names (trafficroutes.weft.dev, ...)
  std::string namespace_ = "weft-system";
  std::string pod_selector = "app.kubernetes.io/name=weft-controlplane";
  std::string lease = "weft-controlplane";
  std::string ca_secret = "weft-ca";
  std::string webhook = "weft-sidecar-injector";   // MutatingWebhookConfiguration
  std::string webhook_entry = "sidecar.weft.dev";  // its webhook
  std::string injector_deployment = "weft-injector";
  std::string injector_selector = "app.kubernetes.io/name=weft-injector";
  std::string injector_secret = "weft-injector-tls";   // its serving certificate
  std::string mesh_root_configmap = "weft-mesh-root";  // the control plane publishes it
  // WARN when a CA certificate, the injector's CA or its certificate expires sooner.
  std::chrono::hours ca_warning_window{24 * 30};
};

// One GET of the API (path and query); the real one is kube::ApiClient::call.
using ApiGet = std::function<kube::ApiResponse(const std::string& target)>;

// Runs the checks in order: API, CRDs, control plane pods, leader Lease, CA Secret, mesh root
// (ConfigMap weft-mesh-root holds the CA's root), sidecar injection (the webhook: its caBundle
// valid, its Service there, the injector's certificate verifying with it), sidecar injector
// (its Deployment Ready). Without the webhook, a missing injector or mesh root is a WARN; with
// it (failurePolicy Fail) a FAIL, since pods of injected namespaces are then refused. When the
// API does not answer (or refuses the credentials), only that result.
// `where` names the API server in the first line (its URL and how it was chosen).
std::vector<CheckResult> checkCluster(const ApiGet& get, const ClusterExpectations& expected,
                                      std::chrono::system_clock::time_point now,
                                      const std::string& where);

// "OK    CRDs: ...", one line per result, then a summary line.
std::string renderCheckReport(const std::vector<CheckResult>& results);

// The CRD names of the embedded install manifests.
std::vector<std::string> installedCrdNames();

int runCheck(const KubeConnectionOptions& options, std::ostream& out, std::ostream& err);

}  // namespace weft::cli
