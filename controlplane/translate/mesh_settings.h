#pragma once

#include <optional>
#include <string>
#include <vector>

#include "controlplane/model/mesh_model.h"

namespace weft::controlplane {

// The MeshConfig values translation uses, with the documented defaults filled in, read once
// per model.
struct MeshSettings {
  std::string trust_domain = "cluster.local";
  std::string dns_suffix = "svc.cluster.local";
  // visibility.mode MESH: every proxy learns every service.
  bool mesh_wide_visibility = false;
  // visibility.also_namespaces, sorted and unique.
  std::vector<std::string> also_namespaces;
  // Retries of rules that set none. Unset: no retries are configured by default.
  std::optional<weft::mesh::v1alpha1::Retries> default_retries;
  // retry_budget_percent when the MeshConfig sets it.
  std::optional<double> retry_budget_percent;
};

MeshSettings meshSettings(const MeshModel& model);

}  // namespace weft::controlplane
