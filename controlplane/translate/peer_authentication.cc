#include "controlplane/translate/peer_authentication.h"

#include "controlplane/translate/service_catalog.h"

namespace weft::controlplane {
namespace {

using MeshMode = weft::mesh::v1alpha1::PeerAuthenticationSpec::Mode;
using weft::v1::DownstreamTls;

DownstreamTls::Mode chainMode(MeshMode mode) {
  switch (mode) {
    case weft::mesh::v1alpha1::PeerAuthenticationSpec::STRICT:
      return DownstreamTls::STRICT;
    case weft::mesh::v1alpha1::PeerAuthenticationSpec::DISABLE:
      return DownstreamTls::DISABLE;
    default:
      return DownstreamTls::PERMISSIVE;
  }
}

int strictness(DownstreamTls::Mode mode) {
  switch (mode) {
    case DownstreamTls::STRICT:
      return 2;
    case DownstreamTls::PERMISSIVE:
      return 1;
    default:
      return 0;
  }
}

bool isSet(MeshMode mode) {
  return mode != weft::mesh::v1alpha1::PeerAuthenticationSpec::UNSET;
}

std::string keyOf(const PeerAuthentication& policy) {
  return objectKey(policy.meta.namespace_, policy.meta.name);
}

}  // namespace

std::string modeName(DownstreamTls::Mode mode) {
  return DownstreamTls::Mode_Name(mode);
}

DownstreamTls::Mode PeerAuthenticationScopes::modeFor(uint32_t port) const {
  if (selector != nullptr) {
    auto entry = selector->spec.port_modes().find(port);
    if (entry != selector->spec.port_modes().end() && isSet(static_cast<MeshMode>(entry->second))) {
      return chainMode(static_cast<MeshMode>(entry->second));
    }
  }
  for (const PeerAuthentication* policy : {selector, namespace_wide, mesh_wide}) {
    if (policy != nullptr && isSet(policy->spec.mode())) {
      return chainMode(policy->spec.mode());
    }
  }
  return DownstreamTls::PERMISSIVE;
}

DownstreamTls::Mode PeerAuthenticationScopes::strictestMode() const {
  // Port 0 is never a port_modes key: it stands for every port without an entry.
  DownstreamTls::Mode strictest = modeFor(0);
  if (selector != nullptr) {
    for (const auto& [port, mode] : selector->spec.port_modes()) {
      const DownstreamTls::Mode resolved = modeFor(port);
      if (strictness(resolved) > strictness(strictest)) {
        strictest = resolved;
      }
    }
  }
  return strictest;
}

bool PeerAuthenticationScopes::modesDifferByPort() const {
  if (selector == nullptr) {
    return false;
  }
  const DownstreamTls::Mode others = modeFor(0);
  for (const auto& [port, mode] : selector->spec.port_modes()) {
    if (modeFor(port) != others) {
      return true;
    }
  }
  return false;
}

PeerAuthentications::PeerAuthentications(const MeshModel& model, ProblemLog& problems) {
  for (const auto& [key, object] : model.peer_authentications) {
    const PeerAuthentication& policy = *object;
    const std::string what = "PeerAuthentication " + key;
    NamespacePolicies& scope = by_namespace_[policy.meta.namespace_];
    if (selectsByLabels(policy)) {
      scope.selectors.push_back(&policy);
      continue;
    }
    if (policy.spec.port_modes_size() > 0) {
      problems.add(what +
                   ": portModes needs a selector with labels (per-port modes apply to selected "
                   "workloads only); they are ignored and mode applies to every port");
    }
    if (scope.namespace_wide != nullptr) {
      problems.add(what + ": namespace " + policy.meta.namespace_ +
                   " already has the namespace-wide PeerAuthentication " +
                   keyOf(*scope.namespace_wide) +
                   " (the first by name applies); this one is ignored");
      continue;
    }
    scope.namespace_wide = &policy;
    if (policy.meta.namespace_ == kRootNamespace) {
      mesh_wide_ = &policy;
    }
  }
  reportSelectorConflicts(model, problems);
}

void PeerAuthentications::reportSelectorConflicts(const MeshModel& model,
                                                  ProblemLog& problems) const {
  // One message per pair of policies, naming how many workloads both select.
  struct Overlap {
    size_t count = 0;
    std::string first_workload;
  };
  std::map<std::pair<const PeerAuthentication*, const PeerAuthentication*>, Overlap> overlaps;
  for (const auto& [namespace_, scope] : by_namespace_) {
    if (scope.selectors.size() < 2) {
      continue;
    }
    for (auto it = model.workloads.lower_bound(namespace_ + "/");
         it != model.workloads.end() && it->second->meta.namespace_ == namespace_; ++it) {
      const PeerAuthentication* winner = nullptr;
      for (const PeerAuthentication* policy : scope.selectors) {
        if (!labelsMatch(it->second->meta.labels, policy->spec.selector().match_labels())) {
          continue;
        }
        if (winner == nullptr) {
          winner = policy;
          continue;
        }
        Overlap& overlap = overlaps[{policy, winner}];
        if (overlap.count++ == 0) {
          overlap.first_workload = it->first;
        }
      }
    }
  }
  for (const auto& [pair, overlap] : overlaps) {
    const auto& [ignored, applied] = pair;
    problems.add("PeerAuthentication " + keyOf(*ignored) + ": selects " +
                 std::to_string(overlap.count) + " workload(s) (first: " + overlap.first_workload +
                 ") that PeerAuthentication " + keyOf(*applied) +
                 " also selects; the first by name, " + keyOf(*applied) +
                 ", applies to them and this one is ignored there");
  }
}

PeerAuthenticationScopes PeerAuthentications::forWorkload(const Workload& workload) const {
  PeerAuthenticationScopes scopes;
  scopes.mesh_wide = mesh_wide_;
  auto found = by_namespace_.find(workload.meta.namespace_);
  if (found == by_namespace_.end()) {
    return scopes;
  }
  scopes.namespace_wide = found->second.namespace_wide;
  for (const PeerAuthentication* policy : found->second.selectors) {
    if (labelsMatch(workload.meta.labels, policy->spec.selector().match_labels())) {
      scopes.selector = policy;
      break;
    }
  }
  return scopes;
}

}  // namespace weft::controlplane
