#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <string_view>

#include "cli/injector_tls.h"

namespace weft::cli {

// The two objects that connect the API server to the sidecar injector, which `weftctl install`
// prints after the manifests of deploy/k8s (decision 69) and `weftctl check` looks for.

inline constexpr std::string_view kInjectorNamespace = "weft-system";
inline constexpr std::string_view kInjectorService = "weft-injector";
inline constexpr std::string_view kInjectorDeployment = "weft-injector";
inline constexpr std::string_view kInjectorSecret = "weft-injector-tls";
inline constexpr std::string_view kWebhookConfiguration = "weft-sidecar-injector";
inline constexpr std::string_view kWebhookName = "sidecar.weft.dev";
inline constexpr std::string_view kWebhookPath = "/inject";
inline constexpr int kWebhookServicePort = 443;

// Secret weft-system/weft-injector-tls (type kubernetes.io/tls): tls.crt, tls.key and ca.crt,
// mounted by the injector's Deployment.
YAML::Node injectorTlsSecret(const InjectorTls& tls);

// MutatingWebhookConfiguration weft-sidecar-injector with one webhook, sidecar.weft.dev: CREATE
// of pods, in namespaces labelled weft.dev/inject=enabled except the cluster's own and
// weft-system, sent to Service weft-system/weft-injector:443 /inject, whose certificate must
// chain to `ca_pem` (the caBundle). It fails closed (failurePolicy Fail): a pod of an injected
// namespace is never created without its sidecar, and is refused while no injector answers.
YAML::Node injectorWebhookConfiguration(const std::string& ca_pem);

}  // namespace weft::cli
