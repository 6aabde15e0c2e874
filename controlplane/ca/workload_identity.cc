#include "controlplane/ca/workload_identity.h"

#include "controlplane/source/kubernetes_names.h"

namespace weft::controlplane::ca {

std::optional<WorkloadIdentity> serviceAccountFromUsername(std::string_view username) {
  constexpr std::string_view kPrefix = "system:serviceaccount:";
  if (!username.starts_with(kPrefix)) {
    return std::nullopt;
  }
  const std::string_view rest = username.substr(kPrefix.size());
  const size_t colon = rest.find(':');
  if (colon == std::string_view::npos) {
    return std::nullopt;
  }
  const std::string_view namespace_name = rest.substr(0, colon);
  const std::string_view service_account = rest.substr(colon + 1);
  // Neither name may hold a ':' (the checks below refuse it), so the split is unambiguous.
  if (!checkDns1123Label(namespace_name).empty() ||
      !checkDns1123Subdomain(service_account).empty()) {
    return std::nullopt;
  }
  return WorkloadIdentity{std::string(namespace_name), std::string(service_account)};
}

std::string spiffeId(std::string_view trust_domain, const WorkloadIdentity& identity) {
  std::string id = "spiffe://";
  id.append(trust_domain);
  id.append("/ns/").append(identity.namespace_name);
  id.append("/sa/").append(identity.service_account);
  return id;
}

}  // namespace weft::controlplane::ca
