#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace weft::controlplane::ca {

// Who a workload is, as Kubernetes knows it: the service account it runs as.
struct WorkloadIdentity {
  std::string namespace_name;
  std::string service_account;

  bool operator==(const WorkloadIdentity&) const = default;
};

// The identity in a Kubernetes username of the form "system:serviceaccount:<ns>:<sa>", the
// username a TokenReview returns for a service-account token (and that the static token file
// gives in local mode). Nullopt for any other user, or when the names are not valid Kubernetes
// names (a namespace is an RFC 1123 label, a service account an RFC 1123 subdomain), which also
// keeps "/" and other path syntax out of the SPIFFE id built from them.
std::optional<WorkloadIdentity> serviceAccountFromUsername(std::string_view username);

// "spiffe://<trust_domain>/ns/<namespace>/sa/<service_account>".
std::string spiffeId(std::string_view trust_domain, const WorkloadIdentity& identity);

}  // namespace weft::controlplane::ca
