#include "controlplane/translate/service_catalog.h"

#include <algorithm>

#include "controlplane/translate/names.h"

namespace weft::controlplane {
namespace {

const std::vector<ServiceId> kNoServices;

std::string selectorKey(const std::string& namespace_, const std::string& label,
                        const std::string& value) {
  std::string key = namespace_;
  key.append(1, '\0').append(label).append(1, '\0').append(value);
  return key;
}

// True when `host` ends with "." + `suffix`.
bool hasDomainSuffix(std::string_view text, std::string_view suffix) {
  return text.size() > suffix.size() && text.substr(text.size() - suffix.size()) == suffix &&
         text[text.size() - suffix.size() - 1] == '.';
}

}  // namespace

ServiceCatalog::ServiceCatalog(const MeshModel& model, const MeshSettings& settings,
                               ProblemLog& problems)
    : model_(model), dns_suffix_(settings.dns_suffix) {
  services_.reserve(model.services.size());
  for (const auto& [key, service_object] : model.services) {
    const Service& service = *service_object;
    const auto id = static_cast<ServiceId>(services_.size());
    CatalogService entry;
    entry.service = &service;
    entry.fqdn = serviceFqdn(service.meta.name, service.meta.namespace_, dns_suffix_);
    by_key_.emplace(key, id);
    by_namespace_[service.meta.namespace_].push_back(id);
    services_.push_back(std::move(entry));
  }
  // Index each service under one of its selector entries, so a workload meets only the
  // services that entry can match instead of every service of its namespace.
  std::map<std::string, std::vector<ServiceId>, std::less<>> by_selector_entry;
  for (ServiceId id = 0; id < services_.size(); ++id) {
    const Service& service = *services_[id].service;
    // An empty selector selects nothing, as in Kubernetes (its endpoints would be managed by
    // hand, which the mesh does not do).
    if (!service.selector.empty()) {
      const auto& [label, value] = *service.selector.begin();
      by_selector_entry[selectorKey(service.meta.namespace_, label, value)].push_back(id);
    }
  }
  for (const auto& [workload_key, workload_object] : model.workloads) {
    const Workload& workload = *workload_object;
    std::vector<ServiceId> selecting;
    for (const auto& [label, value] : workload.meta.labels) {
      auto it = by_selector_entry.find(selectorKey(workload.meta.namespace_, label, value));
      if (it == by_selector_entry.end()) {
        continue;
      }
      for (ServiceId id : it->second) {
        if (labelsMatch(workload.meta.labels, services_[id].service->selector)) {
          selecting.push_back(id);
        }
      }
    }
    if (selecting.empty()) {
      continue;
    }
    std::sort(selecting.begin(), selecting.end());
    // An unready workload (a pod starting or terminating) is no endpoint, but it still serves
    // its services inbound: its readiness probe comes through its sidecar.
    if (workload.ready) {
      for (ServiceId id : selecting) {
        services_[id].workloads.push_back(&workload);
      }
    }
    by_workload_.emplace(workload_key, std::move(selecting));
  }
  attachPolicies(model, problems);
}

void ServiceCatalog::attachPolicies(const MeshModel& model, ProblemLog& problems) {
  for (const auto& [key, policy_object] : model.destination_policies) {
    const DestinationPolicy& policy = *policy_object;
    const std::string what = "DestinationPolicy " + key;
    const auto id = resolveHost(policy.spec.host(), policy.meta.namespace_);
    if (!id) {
      problems.add(what + ": host \"" + policy.spec.host() +
                   "\" is not a known service; the policy is ignored");
      continue;
    }
    CatalogService& service = services_[*id];
    if (service.policy != nullptr) {
      problems.add(what + ": " + service.fqdn + " already has DestinationPolicy " +
                   objectKey(service.policy->meta.namespace_, service.policy->meta.name) +
                   " (the first by namespace/name applies); this one is ignored");
      continue;
    }
    service.policy = &policy;
    for (const auto& subset : policy.spec.subsets()) {
      if (findSubset(service, subset.name()) != nullptr) {
        problems.add(what + ": subset \"" + subset.name() +
                     "\" is defined twice; the first definition applies");
        continue;
      }
      service.subsets.push_back(&subset);
    }
  }
}

std::optional<ServiceId> ServiceCatalog::resolveHost(std::string_view host,
                                                     std::string_view namespace_) const {
  // "<name>", "<name>.<ns>", "<name>.<ns>.svc" or "<name>.<ns>.<dns suffix>": service names
  // and namespaces are DNS labels, so the labels say which form it is.
  std::string_view qualified = host;
  if (hasDomainSuffix(qualified, dns_suffix_)) {
    qualified.remove_suffix(dns_suffix_.size() + 1);
  } else if (std::count(host.begin(), host.end(), '.') == 2 && hasDomainSuffix(qualified, "svc")) {
    qualified.remove_suffix(4);
  }
  std::string key;
  const size_t dot = qualified.find('.');
  if (dot == std::string_view::npos) {
    if (qualified.size() != host.size()) {
      return std::nullopt;  // "<name>.svc" or "<name>.<dns suffix>" lacks the namespace
    }
    key = objectKey(std::string(namespace_), std::string(host));
  } else if (qualified.find('.', dot + 1) == std::string_view::npos) {
    key = objectKey(std::string(qualified.substr(dot + 1)), std::string(qualified.substr(0, dot)));
  } else {
    return std::nullopt;
  }
  auto it = by_key_.find(key);
  if (it == by_key_.end()) {
    return std::nullopt;
  }
  return it->second;
}

const std::vector<ServiceId>& ServiceCatalog::servicesIn(const std::string& namespace_) const {
  auto it = by_namespace_.find(namespace_);
  return it == by_namespace_.end() ? kNoServices : it->second;
}

const std::vector<ServiceId>& ServiceCatalog::servicesSelecting(const Workload& workload) const {
  auto it = by_workload_.find(objectKey(workload.meta.namespace_, workload.meta.name));
  return it == by_workload_.end() ? kNoServices : it->second;
}

const Workload* ServiceCatalog::findWorkload(const std::string& namespace_,
                                             const std::string& name) const {
  auto it = model_.workloads.find(objectKey(namespace_, name));
  return it == model_.workloads.end() ? nullptr : it->second.get();
}

const weft::mesh::v1alpha1::Subset* ServiceCatalog::findSubset(const CatalogService& service,
                                                               std::string_view name) {
  for (const auto* subset : service.subsets) {
    if (subset->name() == name) {
      return subset;
    }
  }
  return nullptr;
}

const ServicePort* ServiceCatalog::findPort(const Service& service, uint32_t port) {
  for (const ServicePort& candidate : service.ports) {
    if (candidate.port == port) {
      return &candidate;
    }
  }
  return nullptr;
}

std::optional<uint32_t> ServiceCatalog::targetPort(const ServicePort& port,
                                                   const Workload& workload) {
  if (port.target_port != 0) {
    return port.target_port;
  }
  if (port.target_port_name.empty()) {
    return port.port;
  }
  for (const auto& candidate : workload.spec.ports()) {
    if (candidate.name() == port.target_port_name) {
      return candidate.port();
    }
  }
  return std::nullopt;
}

}  // namespace weft::controlplane
