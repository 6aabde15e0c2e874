#include "cli/install_command.h"

#include <algorithm>

#include "cli/injector_webhook.h"
#include "cli/manifest_bundle.h"
#include "cli/yaml_output.h"
#include "common/version/version.h"
#include "controlplane/source/kubernetes_names.h"

namespace weft::cli {
namespace {

constexpr std::string_view kNamespace = "weft-system";
constexpr std::string_view kControlPlane = "weft-controlplane";

bool isObject(const YAML::Node& object, std::string_view kind, std::string_view name) {
  const YAML::Node metadata = object["metadata"];
  return object["kind"] && object["kind"].as<std::string>() == kind && metadata &&
         metadata["name"] && metadata["name"].as<std::string>() == name &&
         (!metadata["namespace"] || metadata["namespace"].as<std::string>() == kNamespace);
}

// The document of that kind and name, or nullptr.
ManifestDocument* find(std::vector<ManifestDocument>& documents, std::string_view kind,
                       std::string_view name) {
  for (ManifestDocument& document : documents) {
    if (isObject(document.object, kind, name)) {
      return &document;
    }
  }
  return nullptr;
}

// [a-z0-9]([-a-z0-9.]*[a-z0-9])?, at most 253: MeshConfigSpec.trust_domain's rule
// (proto/weft/mesh/v1alpha1/mesh_config.proto), which the CRD enforces too.
std::string checkTrustDomain(std::string_view text) {
  auto lower_alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (text.empty() || text.size() > 253 || !lower_alnum(text.front()) ||
      !lower_alnum(text.back()) || !std::all_of(text.begin(), text.end(), [&](char c) {
        return lower_alnum(c) || c == '-' || c == '.';
      })) {
    return "must be 1 to 253 lowercase letters, digits, '-' and '.', starting and ending with a "
           "letter or digit (a DNS name such as example.org)";
  }
  return {};
}

// An image reference ([registry/]repository[:tag][@digest]): only its characters are checked;
// the container runtime judges the rest, and says so in the pod's events.
std::string checkImage(std::string_view text) {
  const bool ok = !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_' || c == '/' || c == ':' || c == '@';
  });
  return ok ? std::string() : "is not an image reference ([registry/]repository[:tag][@digest])";
}

// key=value[,key=value], each as weft-controlplane's --namespace-selector checks it.
std::string checkNamespaceSelector(const std::string& selector) {
  for (size_t start = 0; start <= selector.size();) {
    const size_t comma = std::min(selector.find(',', start), selector.size());
    const std::string entry = selector.substr(start, comma - start);
    const size_t equals = entry.find('=');
    std::string problem = equals == std::string::npos
                              ? "expected key=value"
                              : controlplane::checkQualifiedName(entry.substr(0, equals));
    if (problem.empty()) {
      problem = controlplane::checkLabelValue(entry.substr(equals + 1));
    }
    if (!problem.empty()) {
      return "'" + entry + "': " + problem;
    }
    start = comma + 1;
  }
  return {};
}

std::string checkOptions(const InstallOptions& options) {
  if (options.injector_webhook_only) {
    // Those options change objects that this output leaves out.
    for (const auto& [flag, set] :
         {std::pair{"--trust-domain", !options.trust_domain.empty()},
          std::pair{"--replicas", options.replicas.has_value()},
          std::pair{"--controlplane-image", !options.controlplane_image.empty()},
          std::pair{"--proxy-image", !options.proxy_image.empty()},
          std::pair{"--ca-mode", options.ca_mode != "secret"},
          std::pair{"--namespace-selector", !options.namespace_selector.empty()}}) {
      if (set) {
        return std::string(flag) +
               " changes objects that --injector-webhook-only leaves out; give it to the "
               "install of deploy/k8s instead";
      }
    }
  }
  if (!options.trust_domain.empty()) {
    if (std::string problem = checkTrustDomain(options.trust_domain); !problem.empty()) {
      return "--trust-domain " + problem;
    }
  }
  if (options.replicas && *options.replicas < 1) {
    return "--replicas must be at least 1";
  }
  for (const auto& [flag, image] : {std::pair{"--controlplane-image", &options.controlplane_image},
                                    std::pair{"--proxy-image", &options.proxy_image}}) {
    if (!image->empty()) {
      if (std::string problem = checkImage(*image); !problem.empty()) {
        return std::string(flag) + " '" + *image + "' " + problem;
      }
    }
  }
  if (options.ca_mode != "secret" && options.ca_mode != "provided") {
    return "--ca-mode must be secret or provided, not '" + options.ca_mode + "'";
  }
  if (!options.namespace_selector.empty()) {
    if (std::string problem = checkNamespaceSelector(options.namespace_selector);
        !problem.empty()) {
      return "--namespace-selector " + problem;
    }
  }
  return {};
}

YAML::Node controlPlaneContainer(ManifestDocument& deployment) {
  for (YAML::Node container : deployment.object["spec"]["template"]["spec"]["containers"]) {
    if (container["name"] && container["name"].as<std::string>() == "controlplane") {
      return container;
    }
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

// Whether `list` (a YAML sequence of names) is exactly {value}.
bool isOnly(const YAML::Node& list, std::string_view value) {
  return list && list.IsSequence() && list.size() == 1 && list[0].as<std::string>() == value;
}

// Applies the options to the documents; an error when a document they change is missing.
std::string applyOptions(const InstallOptions& options, std::vector<ManifestDocument>& documents) {
  const std::string missing = " is not in the embedded manifests (deploy/k8s)";
  ManifestDocument* deployment = find(documents, "Deployment", kControlPlane);
  if (deployment == nullptr) {
    return "Deployment weft-system/weft-controlplane" + missing;
  }
  YAML::Node container = controlPlaneContainer(*deployment);
  if (!container.IsMap() || !container["args"].IsSequence()) {
    return "the Deployment weft-system/weft-controlplane has no container 'controlplane' with "
           "args";
  }
  if (options.replicas) {
    deployment->object["spec"]["replicas"] = *options.replicas;
    if (*options.replicas == 1) {
      // minAvailable 1 over one pod would refuse every voluntary eviction (kubectl drain).
      // Copied into a new list rather than erased: assigning a YAML::Node (as erasing from a
      // vector does) overwrites the node it refers to instead of rebinding the handle.
      std::vector<ManifestDocument> kept;
      for (const ManifestDocument& document : documents) {
        if (!isObject(document.object, "PodDisruptionBudget", kControlPlane)) {
          kept.push_back(document);
        }
      }
      documents.swap(kept);
    }
  }
  if (!options.controlplane_image.empty()) {
    setText(container["image"], options.controlplane_image);  // `container` is a handle
  }
  if (!options.namespace_selector.empty()) {
    YAML::Node args = container["args"];
    args.push_back("--namespace-selector");
    args.push_back(textNode(options.namespace_selector));
  }
  if (!options.proxy_image.empty()) {
    ManifestDocument* injector = find(documents, "ConfigMap", "weft-sidecar-injector");
    if (injector == nullptr) {
      return "ConfigMap weft-system/weft-sidecar-injector" + missing;
    }
    setText(injector->object["data"]["proxyImage"], options.proxy_image);
  }
  if (options.ca_mode == "provided") {
    // The operator creates the CA Secret; the control plane only reads it, so its Role loses
    // the one rule that lets it create Secrets.
    ManifestDocument* role = find(documents, "Role", kControlPlane);
    if (role == nullptr) {
      return "Role weft-system/weft-controlplane" + missing;
    }
    YAML::Node rules = role->object["rules"];
    YAML::Node kept(YAML::NodeType::Sequence);
    bool removed = false;
    for (const YAML::Node& rule : rules) {
      if (isOnly(rule["apiGroups"], "") && isOnly(rule["resources"], "secrets") &&
          isOnly(rule["verbs"], "create") && !rule["resourceNames"]) {
        removed = true;
      } else {
        kept.push_back(rule);
      }
    }
    if (!removed) {
      return "the Role weft-system/weft-controlplane has no rule creating Secrets to remove for "
             "--ca-mode provided";
    }
    role->object["rules"] = kept;
  }
  if (!options.trust_domain.empty()) {
    YAML::Node mesh_config;
    mesh_config["apiVersion"] = "weft.dev/v1alpha1";
    mesh_config["kind"] = "MeshConfig";
    mesh_config["metadata"]["name"] = "default";
    mesh_config["metadata"]["namespace"] = std::string(kNamespace);
    mesh_config["metadata"]["labels"]["app.kubernetes.io/part-of"] = "weft";
    mesh_config["spec"]["trustDomain"] = textNode(options.trust_domain);
    documents.push_back({mesh_config, "--trust-domain"});
  }
  return {};
}

// The options as a command line, for the comment at the top of the output.
std::string describe(const InstallOptions& options) {
  std::string line = "weftctl install";
  auto add = [&line](std::string_view flag, const std::string& value) {
    if (!value.empty()) {
      line.append(" ").append(flag).append(" ").append(value);
    }
  };
  add("--trust-domain", options.trust_domain);
  add("--replicas", options.replicas ? std::to_string(*options.replicas) : "");
  add("--controlplane-image", options.controlplane_image);
  add("--proxy-image", options.proxy_image);
  add("--ca-mode", options.ca_mode == "secret" ? "" : options.ca_mode);
  add("--namespace-selector", options.namespace_selector);
  add("--injector-tls-dir", options.injector_tls_dir);
  if (options.injector_webhook_only) {
    line += " --injector-webhook-only";
  }
  return line;
}

}  // namespace

RenderedInstall renderInstall(const InstallOptions& options, std::span<const EmbeddedFile> files,
                              const InjectorTls& injector_tls) {
  RenderedInstall rendered;
  if (rendered.error = checkOptions(options); !rendered.error.empty()) {
    return rendered;
  }
  ManifestBundle bundle = readManifestBundle(files);
  if (!bundle.error.empty()) {
    rendered.error = "the embedded manifests: " + bundle.error;
    return rendered;
  }
  try {
    if (rendered.error = applyOptions(options, bundle.documents); !rendered.error.empty()) {
      return rendered;
    }
  } catch (const YAML::Exception& error) {
    rendered.error =
        std::string("the embedded manifests are not shaped as expected: ") + error.what();
    return rendered;
  }
  if (options.injector_webhook_only) {
    bundle.documents.clear();
  }
  // Last, after the injector's Deployment and Service: the API server calls the webhook from
  // the moment it exists.
  bundle.documents.push_back({injectorTlsSecret(injector_tls), "the injector's certificate"});
  bundle.documents.push_back(
      {injectorWebhookConfiguration(injector_tls.ca_pem), "the injector's webhook"});
  rendered.yaml =
      "# Weft " + std::string(version()) + " install manifests: " + describe(options) + "\n";
  for (const ManifestDocument& document : bundle.documents) {
    rendered.yaml += "---\n" + emitYaml(document.object);
  }
  return rendered;
}

int runInstall(const InstallOptions& options, std::ostream& out, std::ostream& err) {
  const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  tls::Result<InjectorTls> injector_tls = options.injector_tls_dir.empty()
                                              ? generateInjectorTls(now)
                                              : readInjectorTls(options.injector_tls_dir, now);
  if (!injector_tls) {
    err << "weftctl install: " << (options.injector_tls_dir.empty() ? "" : "--injector-tls-dir ")
        << injector_tls.error() << "\n";
    return options.injector_tls_dir.empty() ? 1 : 2;
  }
  const RenderedInstall rendered = renderInstall(options, installManifestFiles(), *injector_tls);
  if (!rendered.error.empty()) {
    err << "weftctl install: " << rendered.error << "\n";
    return 2;
  }
  out << rendered.yaml;
  out.flush();
  if (!options.trust_domain.empty()) {
    // kubectl maps every object of a stream before it applies any, so the MeshConfig of a
    // first install is refused while its CRD does not exist yet.
    err << "weftctl install: on a cluster without the Weft CRDs, kubectl refuses the MeshConfig "
           "('ensure CRDs are installed first') and applies everything else; run the same "
           "command again once `kubectl wait --for condition=Established "
           "crd/meshconfigs.weft.dev` returns\n";
  }
  return out ? 0 : 1;
}

}  // namespace weft::cli
