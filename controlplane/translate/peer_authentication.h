#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "controlplane/model/mesh_model.h"
#include "controlplane/translate/problem_log.h"
#include "weft/v1/listener.pb.h"

namespace weft::controlplane {

// The PeerAuthentications that decide a workload's modes, one per scope (null where the scope
// has none). Two workloads with the same three policies have the same modes.
struct PeerAuthenticationScopes {
  const PeerAuthentication* selector = nullptr;        // selects the workload by labels
  const PeerAuthentication* namespace_wide = nullptr;  // no selector, workload's namespace
  const PeerAuthentication* mesh_wide = nullptr;       // no selector, root namespace

  bool operator==(const PeerAuthenticationScopes&) const = default;

  // The mode of connections to the application port `port`: the selector policy's
  // port_modes entry, else the first mode that is not UNSET from the selector policy, the
  // namespace-wide one and the mesh-wide one, else PERMISSIVE.
  weft::v1::DownstreamTls::Mode modeFor(uint32_t port) const;

  // The strictest mode any port of the workload resolves to (STRICT over PERMISSIVE over
  // DISABLE): the mode of a local-mode sidecar, whose one inbound port serves every
  // application port.
  weft::v1::DownstreamTls::Mode strictestMode() const;

  // True when the modes differ between ports (only port_modes can make them differ).
  bool modesDifferByPort() const;
};

// Resolves PeerAuthentication for workloads: the most specific policy wins (workload
// selector, then the namespace-wide one, then the mesh-wide one in the root namespace), and
// UNSET inherits from the next scope. A selector with no labels selects the whole namespace,
// as an empty label selector does in Kubernetes, so such a policy is namespace-wide.
//
// Conflicts are settled by name, as for DestinationPolicies: of two namespace-wide policies
// in one namespace, and of two selector policies selecting one workload, the first by
// namespace/name applies; the others are reported. port_modes without a selector is reported
// and ignored (the mode still applies).
class PeerAuthentications {
 public:
  PeerAuthentications(const MeshModel& model, ProblemLog& problems);

  PeerAuthenticationScopes forWorkload(const Workload& workload) const;

 private:
  struct NamespacePolicies {
    const PeerAuthentication* namespace_wide = nullptr;
    std::vector<const PeerAuthentication*> selectors;  // in name order
  };

  void reportSelectorConflicts(const MeshModel& model, ProblemLog& problems) const;

  std::map<std::string, NamespacePolicies, std::less<>> by_namespace_;
  const PeerAuthentication* mesh_wide_ = nullptr;
};

// True when the policy selects workloads by labels rather than a whole namespace.
template <class Policy>
bool selectsByLabels(const Policy& policy) {
  return policy.spec.has_selector() && !policy.spec.selector().match_labels().empty();
}

// "STRICT", "PERMISSIVE" or "DISABLE", for messages.
std::string modeName(weft::v1::DownstreamTls::Mode mode);

}  // namespace weft::controlplane
