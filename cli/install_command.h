#pragma once

#include <optional>
#include <ostream>
#include <span>
#include <string>

#include "cli/install_manifest_files.h"

namespace weft::cli {

// `weftctl install`: the install manifests of deploy/k8s (embedded at build time) as one
// multi-document YAML stream for `kubectl apply -f -`, with the options below applied to the
// parsed objects. docs/operations.md ("Installing on Kubernetes").

struct InstallOptions {
  std::string trust_domain;        // set: adds MeshConfig weft-system/default with it
  std::optional<int> replicas;     // the control plane's replicas; 1 also drops the PDB
  std::string controlplane_image;  // the control plane container's image
  std::string proxy_image;         // the sidecar image, in ConfigMap weft-sidecar-injector
  std::string ca_mode = "secret";  // secret: generated into the Secret; provided: read only
  std::string namespace_selector;  // the control plane's --namespace-selector
};

struct RenderedInstall {
  std::string yaml;   // "---"-separated documents after a comment line
  std::string error;  // a bad option, or manifests this renderer cannot follow
};

// Renders `files` (installManifestFiles(), or others in tests) with `options`.
RenderedInstall renderInstall(const InstallOptions& options, std::span<const EmbeddedFile> files);

int runInstall(const InstallOptions& options, std::ostream& out, std::ostream& err);

}  // namespace weft::cli
