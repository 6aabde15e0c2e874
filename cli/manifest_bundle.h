#pragma once

#include <yaml-cpp/yaml.h>

#include <span>
#include <string>
#include <vector>

#include "cli/install_manifest_files.h"

namespace weft::cli {

// One Kubernetes object of the install manifests and the file it came from.
struct ManifestDocument {
  YAML::Node object;
  std::string source;  // "rbac.yaml", "crds/meshconfigs.weft.dev.yaml", "configMapGenerator"
};

struct ManifestBundle {
  std::vector<ManifestDocument> documents;
  std::string error;  // empty when the bundle was read
};

// The objects the kustomization.yaml at the root of `files` names, as `kubectl kustomize`
// builds them, in the kustomization's order: each entry of `resources` (a file of documents, or
// a directory read through its own kustomization.yaml), then the ConfigMaps of
// `configMapGenerator`. Only what deploy/k8s uses is understood: `resources`,
// `configMapGenerator` entries with `name`, `namespace`, `files` ("path" or "key=path") and
// `options.labels`, and `generatorOptions.disableNameSuffixHash: true` (the name hash kustomize
// would add otherwise is not computed here). Anything else is an error naming the field, so the
// install cannot quietly differ from `kubectl apply -k deploy/k8s`.
ManifestBundle readManifestBundle(std::span<const EmbeddedFile> files);

}  // namespace weft::cli
