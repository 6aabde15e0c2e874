// weftctl install: the embedded manifests rendered, each option changing exactly what it should,
// output that parses back to the same objects, and manifests that keep their promises
// (every RBAC rule commented, a non-root and locked-down control plane).
#include "cli/install_command.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <openssl/x509v3.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "cli/injector_tls.h"
#include "cli/injector_webhook.h"
#include "cli/install_manifest_files.h"
#include "cli/manifest_bundle.h"
#include "cli/yaml_output.h"
#include "common/text/base64.h"
#include "common/tls/certificate.h"
#include "common/tls/certificate_builder.h"
#include "common/tls/key.h"
#include "common/tls/pem.h"

namespace weft::cli {
namespace {

// "Kind ns/name" of an object.
std::string identity(const YAML::Node& object) {
  const YAML::Node metadata = object["metadata"];
  return object["kind"].as<std::string>() + " " +
         (metadata["namespace"] ? metadata["namespace"].as<std::string>() + "/" : "") +
         metadata["name"].as<std::string>();
}

// Whether a scalar reads as a string, as kubectl's parser would take it: quoted (tag "!"), or
// plain and neither a number, a boolean (YAML 1.1's yes/no/on/off too) nor null.
bool isText(const YAML::Node& scalar) {
  if (scalar.Tag() == "!") {
    return true;
  }
  if (scalar.IsNull()) {
    return false;
  }
  bool boolean = false;
  double number = 0;
  return !YAML::convert<bool>::decode(scalar, boolean) &&
         !YAML::convert<double>::decode(scalar, number);
}

// Every scalar of `node` by path ("spec.template.spec.containers[0].image"), with "!" before
// text, so a value that turns from text into a number counts as a change.
void flatten(const YAML::Node& node, const std::string& path,
             std::map<std::string, std::string>& out) {
  if (node.IsMap()) {
    for (const auto& entry : node) {
      flatten(entry.second, path + "." + entry.first.as<std::string>(), out);
    }
  } else if (node.IsSequence()) {
    for (size_t i = 0; i < node.size(); ++i) {
      flatten(node[i], path + "[" + std::to_string(i) + "]", out);
    }
    if (node.size() == 0) {
      out[path] = "[]";
    }
  } else {
    out[path] = (isText(node) ? "!" : "") + (node.IsNull() ? "~" : node.Scalar());
  }
}

std::map<std::string, std::string> flattenStream(const std::string& yaml) {
  std::map<std::string, std::string> out;
  for (const YAML::Node& document : YAML::LoadAll(yaml)) {
    if (!document.IsNull()) {
      flatten(document, identity(document), out);
    }
  }
  return out;
}

// One certificate for every rendering, so that two renderings differ only by their options.
const InjectorTls& testTls() {
  static const InjectorTls tls = [] {
    auto generated = generateInjectorTls(
        std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()));
    EXPECT_TRUE(generated.ok()) << generated.error();
    return generated.ok() ? *generated : InjectorTls{};
  }();
  return tls;
}

std::string render(const InstallOptions& options) {
  const RenderedInstall rendered = renderInstall(options, installManifestFiles(), testTls());
  EXPECT_EQ(rendered.error, "");
  return rendered.yaml;
}

// The paths whose values differ between the default render and one with `options`.
std::set<std::string> changedPaths(const InstallOptions& options) {
  const auto before = flattenStream(render({}));
  const auto after = flattenStream(render(options));
  std::set<std::string> changed;
  for (const auto& [path, value] : before) {
    const auto found = after.find(path);
    if (found == after.end() || found->second != value) {
      changed.insert(path);
    }
  }
  for (const auto& [path, value] : after) {
    if (!before.contains(path)) {
      changed.insert(path);
    }
  }
  return changed;
}

// Changed paths reduced to the objects they are in.
std::set<std::string> changedObjects(const std::set<std::string>& paths) {
  std::set<std::string> objects;
  for (const std::string& path : paths) {
    objects.insert(path.substr(0, path.find('.')));
  }
  return objects;
}

const std::string kDeployment = "Deployment weft-system/weft-controlplane";
const std::string kContainer = kDeployment + ".spec.template.spec.containers[0]";

TEST(InstallRenderTest, EveryDocumentParsesAndNamesItself) {
  const std::string yaml = render({});
  ASSERT_EQ(yaml.rfind("# Weft ", 0), 0u) << yaml.substr(0, 100);
  std::multiset<std::string> kinds;
  std::set<std::string> identities;
  for (const YAML::Node& document : YAML::LoadAll(yaml)) {
    if (document.IsNull()) {
      continue;
    }
    ASSERT_TRUE(document.IsMap());
    EXPECT_TRUE(document["apiVersion"] && !document["apiVersion"].as<std::string>().empty());
    ASSERT_TRUE(document["kind"]);
    ASSERT_TRUE(document["metadata"]["name"]);
    kinds.insert(document["kind"].as<std::string>());
    EXPECT_TRUE(identities.insert(identity(document)).second) << identity(document);
    // Every namespaced object of the install lives in weft-system.
    if (document["metadata"]["namespace"]) {
      EXPECT_EQ(document["metadata"]["namespace"].as<std::string>(), "weft-system");
    }
  }
  EXPECT_EQ(kinds.count("CustomResourceDefinition"), 6u);
  for (const char* kind : {"Namespace", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding",
                           "Secret", "MutatingWebhookConfiguration"}) {
    EXPECT_EQ(kinds.count(kind), 1u) << kind;
  }
  // The control plane's and the injector's.
  for (const char* kind : {"ServiceAccount", "Deployment", "Service", "PodDisruptionBudget"}) {
    EXPECT_EQ(kinds.count(kind), 2u) << kind;
  }
  EXPECT_EQ(kinds.count("ConfigMap"), 2u);  // the dashboards and the injector's settings
  EXPECT_EQ(kinds.count("MeshConfig"), 0u);
  EXPECT_TRUE(identities.contains("MutatingWebhookConfiguration weft-sidecar-injector"));
  EXPECT_TRUE(identities.contains("Secret weft-system/weft-injector-tls"));
}

TEST(InstallRenderTest, OutputIsTheEmbeddedFilesObjectForObject) {
  // Parsing the output gives back exactly what the files hold: values, and text as text.
  const ManifestBundle bundle = readManifestBundle(installManifestFiles());
  ASSERT_EQ(bundle.error, "");
  std::map<std::string, std::string> files;
  for (const ManifestDocument& document : bundle.documents) {
    flatten(document.object, identity(document.object), files);
  }
  // Beside them, only the two objects weftctl makes itself (decision 69), last.
  std::map<std::string, std::string> rendered = flattenStream(render({}));
  std::erase_if(rendered, [](const auto& entry) {
    return entry.first.starts_with("Secret weft-system/weft-injector-tls.") ||
           entry.first.starts_with("MutatingWebhookConfiguration weft-sidecar-injector.");
  });
  EXPECT_EQ(rendered, files);
  const std::string yaml = render({});
  EXPECT_GT(yaml.find("kind: MutatingWebhookConfiguration"), yaml.rfind("kind: Deployment"));
  EXPECT_GT(yaml.find("kind: MutatingWebhookConfiguration"), yaml.find("kind: Secret"));
}

TEST(InstallRenderTest, TextThatLooksLikeOtherTypesStaysText) {
  const auto values = flattenStream(render({}));
  EXPECT_EQ(values.at("ConfigMap weft-system/weft-grafana-dashboards.metadata.labels."
                      "grafana_dashboard"),
            "!1");
  EXPECT_EQ(values.at(kDeployment + ".spec.template.metadata.annotations.prometheus.io/scrape"),
            "!true");
  EXPECT_EQ(values.at(kDeployment + ".spec.template.metadata.annotations.prometheus.io/port"),
            "!15014");
  EXPECT_EQ(values.at(kContainer + ".resources.limits.cpu"), "!2");
  // The dashboards are the files, byte for byte.
  const YAML::Node dashboards = [] {
    for (const YAML::Node& document : YAML::LoadAll(render({}))) {
      if (!document.IsNull() && identity(document) ==
                                    "ConfigMap weft-system/weft-grafana-"
                                    "dashboards") {
        return document;
      }
    }
    return YAML::Node();
  }();
  ASSERT_TRUE(dashboards.IsMap());
  for (const EmbeddedFile& file : installManifestFiles()) {
    if (file.path.starts_with("grafana/")) {
      const std::string key(file.path.substr(std::string_view("grafana/").size()));
      EXPECT_EQ(dashboards["data"][key].as<std::string>(), file.content) << key;
    }
  }
}

TEST(InstallRenderTest, ReplicasChangesOnlyTheDeployment) {
  InstallOptions options;
  options.replicas = 3;
  EXPECT_EQ(changedPaths(options), (std::set<std::string>{kDeployment + ".spec.replicas"}));
  EXPECT_EQ(flattenStream(render(options)).at(kDeployment + ".spec.replicas"), "3");
}

TEST(InstallRenderTest, OneReplicaAlsoDropsTheDisruptionBudget) {
  InstallOptions options;
  options.replicas = 1;
  EXPECT_EQ(
      changedObjects(changedPaths(options)),
      (std::set<std::string>{kDeployment, "PodDisruptionBudget weft-system/weft-controlplane"}));
  const auto after = flattenStream(render(options));
  EXPECT_EQ(after.at(kDeployment + ".spec.replicas"), "1");
  for (const auto& [path, value] : after) {
    EXPECT_EQ(path.rfind("PodDisruptionBudget weft-system/weft-controlplane", 0), std::string::npos)
        << path;
  }
  // The injector's replicas are not the control plane's: its budget stays.
  EXPECT_TRUE(after.contains("PodDisruptionBudget weft-system/weft-injector.spec.minAvailable"));
}

TEST(InstallRenderTest, ControlPlaneImageChangesOnlyTheContainerImage) {
  InstallOptions options;
  options.controlplane_image = "registry.example/weft/controlplane:1.2";
  EXPECT_EQ(changedPaths(options), (std::set<std::string>{kContainer + ".image"}));
  EXPECT_EQ(flattenStream(render(options)).at(kContainer + ".image"),
            "!registry.example/weft/controlplane:1.2");
}

TEST(InstallRenderTest, ProxyImageChangesOnlyTheInjectorSettings) {
  InstallOptions options;
  options.proxy_image = "registry.example/weft/proxy@sha256:0123";
  const std::string path = "ConfigMap weft-system/weft-sidecar-injector.data.proxyImage";
  EXPECT_EQ(changedPaths(options), (std::set<std::string>{path}));
  EXPECT_EQ(flattenStream(render(options)).at(path), "!registry.example/weft/proxy@sha256:0123");
}

TEST(InstallRenderTest, NamespaceSelectorIsPassedToTheControlPlane) {
  InstallOptions options;
  options.namespace_selector = "weft.dev/mesh=enabled,team=shop";
  const auto before = flattenStream(render({}));
  const auto after = flattenStream(render(options));
  size_t args = 0;
  while (before.contains(kContainer + ".args[" + std::to_string(args) + "]")) {
    ++args;
  }
  EXPECT_EQ(changedPaths(options),
            (std::set<std::string>{kContainer + ".args[" + std::to_string(args) + "]",
                                   kContainer + ".args[" + std::to_string(args + 1) + "]"}));
  EXPECT_EQ(after.at(kContainer + ".args[" + std::to_string(args) + "]"), "!--namespace-selector");
  EXPECT_EQ(after.at(kContainer + ".args[" + std::to_string(args + 1) + "]"),
            "!weft.dev/mesh=enabled,team=shop");
}

TEST(InstallRenderTest, ProvidedCaTakesAwayOnlyTheRightToCreateSecrets) {
  InstallOptions options;
  options.ca_mode = "provided";
  EXPECT_EQ(changedObjects(changedPaths(options)),
            (std::set<std::string>{"Role weft-system/weft-controlplane"}));
  auto rules_of = [](const std::string& yaml) {
    for (const YAML::Node& document : YAML::LoadAll(yaml)) {
      if (!document.IsNull() && identity(document) == "Role weft-system/weft-controlplane") {
        return document["rules"];
      }
    }
    return YAML::Node();
  };
  const YAML::Node before = rules_of(render({}));
  const YAML::Node after = rules_of(render(options));
  ASSERT_EQ(after.size() + 1, before.size());
  for (const YAML::Node& rule : after) {
    for (const YAML::Node& resource : rule["resources"]) {
      if (resource.as<std::string>() == "secrets") {
        // Reading weft-ca is all that is left.
        EXPECT_EQ(rule["verbs"].size(), 1u);
        EXPECT_EQ(rule["verbs"][0].as<std::string>(), "get");
        EXPECT_EQ(rule["resourceNames"][0].as<std::string>(), "weft-ca");
      }
    }
  }
}

TEST(InstallRenderTest, TrustDomainAddsTheMeshConfigAndNothingElse) {
  InstallOptions options;
  options.trust_domain = "example.org";
  const std::set<std::string> changed = changedPaths(options);
  EXPECT_EQ(changedObjects(changed), (std::set<std::string>{"MeshConfig weft-system/default"}));
  const auto after = flattenStream(render(options));
  EXPECT_EQ(after.at("MeshConfig weft-system/default.apiVersion"), "!weft.dev/v1alpha1");
  EXPECT_EQ(after.at("MeshConfig weft-system/default.spec.trustDomain"), "!example.org");
  // Last, after the CRD it needs.
  const std::string yaml = render(options);
  EXPECT_GT(yaml.rfind("kind: MeshConfig"), yaml.rfind("kind: CustomResourceDefinition"));
}

TEST(InstallRenderTest, BadOptionsAreRefusedNamingTheFlag) {
  auto with = [](auto set) {
    InstallOptions options;
    set(options);
    return options;
  };
  const std::pair<InstallOptions, std::string> cases[] = {
      {with([](auto& o) { o.trust_domain = "Example.org"; }), "--trust-domain"},
      {with([](auto& o) { o.trust_domain = "example.org."; }), "--trust-domain"},
      {with([](auto& o) { o.replicas = 0; }), "--replicas"},
      {with([](auto& o) { o.controlplane_image = "weft controlplane"; }), "--controlplane-image"},
      {with([](auto& o) { o.proxy_image = "proxy:1\n"; }), "--proxy-image"},
      {with([](auto& o) { o.ca_mode = "generated"; }), "--ca-mode"},
      {with([](auto& o) { o.namespace_selector = "mesh"; }),
       "--namespace-selector 'mesh': expected key=value"},
      {with([](auto& o) { o.namespace_selector = "a=b,"; }), "--namespace-selector"},
      {with([](auto& o) { o.namespace_selector = "mesh=on off"; }), "--namespace-selector"},
  };
  for (const auto& [options, flag] : cases) {
    const RenderedInstall rendered = renderInstall(options, installManifestFiles(), testTls());
    EXPECT_EQ(rendered.yaml, "");
    EXPECT_EQ(rendered.error.rfind(flag, 0), 0u) << rendered.error;
  }
}

// --- the renderer's reading of the kustomization ------------------------------------------

TEST(ManifestBundleTest, FollowsResourcesAndGeneratesConfigMaps) {
  const EmbeddedFile files[] = {
      {"kustomization.yaml",
       "resources: [a.yaml, sub]\n"
       "configMapGenerator:\n"
       "  - name: cm\n"
       "    namespace: ns\n"
       "    files: [data/x.txt, renamed=data/y.txt]\n"
       "    options: {labels: {l: \"1\"}}\n"
       "generatorOptions: {disableNameSuffixHash: true}\n"},
      {"a.yaml", "kind: A\nmetadata: {name: a}\n---\nkind: B\nmetadata: {name: b}\n---\n"},
      {"sub/kustomization.yaml", "resources: [c.yaml]\n"},
      {"sub/c.yaml", "kind: C\nmetadata: {name: c}\n"},
      {"data/x.txt", "x\n"},
      {"data/y.txt", "y\n"},
  };
  const ManifestBundle bundle = readManifestBundle(files);
  ASSERT_EQ(bundle.error, "");
  ASSERT_EQ(bundle.documents.size(), 4u);
  EXPECT_EQ(identity(bundle.documents[0].object), "A a");
  EXPECT_EQ(identity(bundle.documents[1].object), "B b");
  EXPECT_EQ(identity(bundle.documents[2].object), "C c");
  EXPECT_EQ(bundle.documents[2].source, "sub/c.yaml");
  const YAML::Node config_map = bundle.documents[3].object;
  EXPECT_EQ(identity(config_map), "ConfigMap ns/cm");
  EXPECT_EQ(config_map["data"]["x.txt"].as<std::string>(), "x\n");
  EXPECT_EQ(config_map["data"]["renamed"].as<std::string>(), "y\n");
  EXPECT_EQ(config_map["metadata"]["labels"]["l"].Tag(), "!");
}

TEST(ManifestBundleTest, RefusesWhatItDoesNotUnderstand) {
  const std::pair<std::string, std::string> cases[] = {
      {"resources: [a.yaml]\nnamespace: other\n", "namespace is not understood"},
      {"resources: [missing.yaml]\n", "no missing.yaml/kustomization.yaml"},
      {"configMapGenerator: [{name: cm, files: [a.yaml]}]\n", "disableNameSuffixHash"},
      {"configMapGenerator: [{name: cm, files: [a.yaml], behavior: merge}]\n"
       "generatorOptions: {disableNameSuffixHash: true}\n",
       "configMapGenerator.behavior is not understood"},
      {"configMapGenerator: [{name: cm, files: [nope.txt]}]\n"
       "generatorOptions: {disableNameSuffixHash: true}\n",
       "names nope.txt"},
      {"resources: {a: b}\n", "resources is not a list"},
  };
  for (const auto& [kustomization, error] : cases) {
    const EmbeddedFile files[] = {{"kustomization.yaml", kustomization},
                                  {"a.yaml", "kind: A\nmetadata: {name: a}\n"}};
    const ManifestBundle bundle = readManifestBundle(files);
    EXPECT_NE(bundle.error.find(error), std::string::npos) << kustomization << bundle.error;
  }
}

// --- what the manifests promise -------------------------------------------------------------

std::string sourceFile(const std::string& path) {
  for (const EmbeddedFile& file : installManifestFiles()) {
    if (file.path == path) {
      return std::string(file.content);
    }
  }
  ADD_FAILURE() << path << " is not embedded";
  return {};
}

TEST(InstallManifestsTest, EveryRbacRuleSaysWhichCodeNeedsIt) {
  std::istringstream rbac(sourceFile("rbac.yaml"));
  std::string line, previous;
  int rules = 0;
  while (std::getline(rbac, line)) {
    if (line.find("- apiGroups:") != std::string::npos) {
      ++rules;
      EXPECT_NE(previous.find('#'), std::string::npos)
          << "rule without a comment before it: " << line;
    }
    if (line.find_first_not_of(' ') != std::string::npos) {
      previous = line;
    }
  }
  EXPECT_EQ(rules, 11);
}

TEST(InstallManifestsTest, RbacGrantsNoWildcardsAndReadsOneSecret) {
  for (const YAML::Node& document : YAML::LoadAll(sourceFile("rbac.yaml"))) {
    const std::string kind = document["kind"].as<std::string>();
    if (kind != "Role" && kind != "ClusterRole") {
      continue;
    }
    for (const YAML::Node& rule : document["rules"]) {
      for (const char* field : {"apiGroups", "resources", "verbs"}) {
        for (const YAML::Node& value : rule[field]) {
          EXPECT_NE(value.as<std::string>(), "*") << identity(document);
        }
      }
      for (const YAML::Node& resource : rule["resources"]) {
        if (resource.as<std::string>() != "secrets") {
          continue;
        }
        EXPECT_EQ(kind, "Role");  // never a cluster-wide grant on Secrets
        for (const YAML::Node& verb : rule["verbs"]) {
          const std::string name = verb.as<std::string>();
          EXPECT_TRUE(name == "create" || (name == "get" && rule["resourceNames"].size() == 1 &&
                                           rule["resourceNames"][0].as<std::string>() == "weft-ca"))
              << name;
        }
      }
    }
  }
}

TEST(InstallManifestsTest, ControlPlaneRunsLockedDown) {
  const YAML::Node deployment = YAML::LoadAll(sourceFile("controlplane.yaml"))[0];
  ASSERT_EQ(deployment["kind"].as<std::string>(), "Deployment");
  const YAML::Node pod = deployment["spec"]["template"]["spec"];
  EXPECT_TRUE(pod["securityContext"]["runAsNonRoot"].as<bool>());
  EXPECT_EQ(pod["securityContext"]["runAsUser"].as<int>(), 65532);
  EXPECT_TRUE(pod["securityContext"]["fsGroup"]);
  EXPECT_EQ(pod["securityContext"]["seccompProfile"]["type"].as<std::string>(), "RuntimeDefault");
  const YAML::Node container = pod["containers"][0];
  EXPECT_FALSE(container["securityContext"]["allowPrivilegeEscalation"].as<bool>());
  EXPECT_TRUE(container["securityContext"]["readOnlyRootFilesystem"].as<bool>());
  EXPECT_EQ(container["securityContext"]["capabilities"]["drop"][0].as<std::string>(), "ALL");
  EXPECT_TRUE(container["resources"]["requests"]["memory"]);
  EXPECT_TRUE(container["resources"]["limits"]["memory"]);
  // Ready once the watches have listed everything; live while the loop answers.
  EXPECT_EQ(container["readinessProbe"]["httpGet"]["path"].as<std::string>(), "/ready");
  EXPECT_EQ(container["livenessProbe"]["httpGet"]["path"].as<std::string>(), "/healthz");
  std::vector<std::string> args;
  for (const YAML::Node& arg : container["args"]) {
    args.push_back(arg.as<std::string>());
  }
  const std::vector<std::string> expected = {
      "--kubernetes",
      "--ca-secret",
      "weft-system/weft-ca",
      "--token-review",
      "--token-review-audience",
      "weft",
      "--mesh-root-configmap",
      "weft-system/weft-mesh-root",
      "--xds-address",
      "0.0.0.0:15012",
      "--xds-tls-hosts",
      "weft-controlplane.weft-system.svc,weft-controlplane.weft-system.svc.cluster.local",
      "--xds-tls-dir",
      "/var/run/weft/xds-serving",
      "--metrics-address",
      "0.0.0.0:15014",
      "--log-format",
      "json",
      "--id",
      "$(POD_NAME)"};
  EXPECT_EQ(args, expected);
}

// --- the sidecar injector: its certificate and webhook (decision 69) -----------------------

// The document of `wanted` ("Kind ns/name") in a rendering.
YAML::Node documentOf(const std::string& yaml, const std::string& wanted) {
  for (const YAML::Node& document : YAML::LoadAll(yaml)) {
    if (!document.IsNull() && identity(document) == wanted) {
      return document;
    }
  }
  return YAML::Node();
}

std::vector<std::string> strings(const YAML::Node& list) {
  std::vector<std::string> out;
  for (const YAML::Node& item : list) {
    out.push_back(item.as<std::string>());
  }
  return out;
}

const std::string kWebhook = "MutatingWebhookConfiguration weft-sidecar-injector";

TEST(InjectorWebhookTest, RegistersTheInjectorForPodCreationInLabelledNamespaces) {
  const auto values = flattenStream(render({}));
  const std::string hook = kWebhook + ".webhooks[0]";
  const std::map<std::string, std::string> expected = {
      {kWebhook + ".apiVersion", "!admissionregistration.k8s.io/v1"},
      {hook + ".name", "!sidecar.weft.dev"},
      {hook + ".clientConfig.service.namespace", "!weft-system"},
      {hook + ".clientConfig.service.name", "!weft-injector"},
      {hook + ".clientConfig.service.path", "!/inject"},
      {hook + ".clientConfig.service.port", "443"},
      {hook + ".rules[0].operations[0]", "!CREATE"},
      {hook + ".rules[0].apiGroups[0]", "!"},
      {hook + ".rules[0].apiVersions[0]", "!v1"},
      {hook + ".rules[0].resources[0]", "!pods"},
      {hook + ".namespaceSelector.matchLabels.weft.dev/inject", "!enabled"},
      {hook + ".namespaceSelector.matchExpressions[0].key", "!kubernetes.io/metadata.name"},
      {hook + ".namespaceSelector.matchExpressions[0].operator", "!NotIn"},
      {hook + ".admissionReviewVersions[0]", "!v1"},
      {hook + ".sideEffects", "!None"},
      {hook + ".failurePolicy", "!Fail"},
      {hook + ".timeoutSeconds", "10"},
      {hook + ".reinvocationPolicy", "!IfNeeded"},
      {hook + ".matchPolicy", "!Equivalent"},
  };
  for (const auto& [path, value] : expected) {
    ASSERT_TRUE(values.contains(path)) << path;
    EXPECT_EQ(values.at(path), value) << path;
  }
  const YAML::Node webhook = documentOf(render({}), kWebhook);
  ASSERT_TRUE(webhook.IsMap());
  EXPECT_EQ(webhook["webhooks"].size(), 1u);
  EXPECT_EQ(webhook["webhooks"][0]["rules"].size(), 1u);
  EXPECT_EQ(
      strings(webhook["webhooks"][0]["namespaceSelector"]["matchExpressions"][0]["values"]),
      (std::vector<std::string>{"kube-system", "kube-public", "kube-node-lease", "weft-system"}));
  EXPECT_EQ(
      text::decodeBase64(webhook["webhooks"][0]["clientConfig"]["caBundle"].as<std::string>()),
      testTls().ca_pem);
  // What weftctl check looks for.
  EXPECT_EQ(webhook["metadata"]["name"].as<std::string>(), kWebhookConfiguration);
}

TEST(InjectorWebhookTest, TheSecretHoldsTheCertificateTheDeploymentMounts) {
  const std::string yaml = render({});
  const YAML::Node secret = documentOf(yaml, "Secret weft-system/weft-injector-tls");
  ASSERT_TRUE(secret.IsMap());
  EXPECT_EQ(secret["type"].as<std::string>(), "kubernetes.io/tls");
  EXPECT_EQ(secret["data"].size(), 3u);
  EXPECT_EQ(text::decodeBase64(secret["data"]["tls.crt"].as<std::string>()), testTls().cert_pem);
  EXPECT_EQ(text::decodeBase64(secret["data"]["tls.key"].as<std::string>()), testTls().key_pem);
  EXPECT_EQ(text::decodeBase64(secret["data"]["ca.crt"].as<std::string>()), testTls().ca_pem);
  const YAML::Node deployment = documentOf(yaml, "Deployment weft-system/weft-injector");
  ASSERT_TRUE(deployment.IsMap());
  bool mounted = false;
  for (const YAML::Node& volume : deployment["spec"]["template"]["spec"]["volumes"]) {
    mounted = mounted || (volume["secret"] &&
                          volume["secret"]["secretName"].as<std::string>() == kInjectorSecret);
  }
  EXPECT_TRUE(mounted);
}

TEST(InjectorWebhookTest, WebhookOnlyPrintsTheTwoObjectsAndRefusesOtherOptions) {
  InstallOptions options;
  options.injector_webhook_only = true;
  const std::string yaml = render(options);
  std::vector<std::string> identities;
  for (const YAML::Node& document : YAML::LoadAll(yaml)) {
    if (!document.IsNull()) {
      identities.push_back(identity(document));
    }
  }
  EXPECT_EQ(identities,
            (std::vector<std::string>{"Secret weft-system/weft-injector-tls", kWebhook}));
  EXPECT_NE(yaml.find("--injector-webhook-only"), std::string::npos);
  options.replicas = 3;
  const RenderedInstall refused = renderInstall(options, installManifestFiles(), testTls());
  EXPECT_EQ(refused.yaml, "");
  EXPECT_EQ(refused.error.rfind("--replicas changes objects that --injector-webhook-only", 0), 0u)
      << refused.error;
}

// --- the injector's certificate ---------------------------------------------------------

std::chrono::sys_seconds now() {
  return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
}

TEST(InjectorTlsTest, AGeneratedCertificateServesTheServiceNamesForTenYears) {
  const InjectorTls& tls = testTls();
  EXPECT_EQ(injectorTlsProblem(tls, now()), "");
  auto cert = tls::readCertificatePem(tls.cert_pem);
  ASSERT_TRUE(cert.ok());
  for (std::string_view host : kInjectorHosts) {
    EXPECT_EQ(X509_check_host(cert->get(), host.data(), host.size(), 0, nullptr), 1) << host;
  }
  auto key = tls::readPrivateKeyPem(tls.key_pem);
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(tls::describeKey(**key), "EC P-256");
  const auto validity = tls::certificateValidity(**cert);
  ASSERT_TRUE(validity.ok());
  EXPECT_GT(validity->not_after - now(), std::chrono::hours(24 * 3649));
  // Still good in nine years, not after eleven.
  EXPECT_EQ(injectorTlsProblem(tls, now() + std::chrono::hours(24 * 365 * 9)), "");
  EXPECT_NE(injectorTlsProblem(tls, now() + std::chrono::hours(24 * 365 * 11)).find("expired"),
            std::string::npos);
  // A CA of its own each time: another run's CA does not verify this certificate.
  auto other = generateInjectorTls(now());
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->ca_pem, tls.ca_pem);
  EXPECT_NE(injectorCertificateProblem(other->ca_pem, tls.cert_pem, now()), "");
}

TEST(InjectorTlsTest, UnusableMaterialIsRefusedWithTheReason) {
  const InjectorTls& good = testTls();
  auto other = generateInjectorTls(now());
  ASSERT_TRUE(other.ok());
  auto with = [&](auto change) {
    InjectorTls tls = good;
    change(tls);
    return injectorTlsProblem(tls, now());
  };
  EXPECT_NE(with([&](InjectorTls& t) {
              t.key_pem = other->key_pem;
            }).find("tls.key is not the key of tls.crt"),
            std::string::npos);
  EXPECT_NE(with([&](InjectorTls& t) {
              t.ca_pem = other->ca_pem;
            }).find("tls.crt does not verify with ca.crt"),
            std::string::npos);
  EXPECT_NE(with([](InjectorTls& t) { t.key_pem = "not a key"; }).find("tls.key:"),
            std::string::npos);
  EXPECT_NE(with([](InjectorTls& t) { t.cert_pem = ""; }).find("tls.crt:"), std::string::npos);
  EXPECT_NE(with([](InjectorTls& t) { t.ca_pem = "garbage"; }).find("ca.crt:"), std::string::npos);
  // Both CAs in ca.crt (a rotation): either verifies.
  EXPECT_EQ(with([&](InjectorTls& t) { t.ca_pem = other->ca_pem + good.ca_pem; }), "");

  // A certificate from the right CA for another name.
  auto ca_key = tls::generateEcdsaP256Key();
  auto key = tls::generateEcdsaP256Key();
  ASSERT_TRUE(ca_key.ok() && key.ok());
  tls::CertificateBuilder ca_builder;
  ca_builder.setSubjectKey(**ca_key)
      .setSubjectName("test CA")
      .setValidity(now() - std::chrono::hours(1), now() + std::chrono::hours(24))
      .addExtension(NID_basic_constraints, "critical,CA:TRUE")
      .addExtension(NID_key_usage, "critical,keyCertSign");
  auto ca = ca_builder.sign(**ca_key);
  ASSERT_TRUE(ca.ok());
  const std::vector<std::string> hosts = {"weft-injector.other.svc"};
  tls::CertificateBuilder builder;
  builder.setSubjectKey(**key)
      .setValidity(now() - std::chrono::hours(1), now() + std::chrono::hours(24))
      .setIssuer(ca->get())
      .addServerSubjectAltNames(hosts, true);
  auto leaf = builder.sign(**ca_key);
  ASSERT_TRUE(leaf.ok());
  InjectorTls misnamed{*tls::writeCertificatePem(**ca), *tls::writeCertificatePem(**leaf),
                       *tls::writePrivateKeyPem(**key)};
  EXPECT_NE(injectorTlsProblem(misnamed, now()).find("does not name weft-injector.weft-system.svc"),
            std::string::npos);
}

TEST(InjectorTlsTest, ADirectoryIsReadAndChecked) {
  const std::string dir = ::testing::TempDir() + "/injector-tls-" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir + "/" + name) << text;
  };
  write("ca.crt", testTls().ca_pem);
  write("tls.crt", testTls().cert_pem);
  auto missing = readInjectorTls(dir, now());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error(), dir + "/tls.key: cannot be read");
  write("tls.key", testTls().key_pem);
  auto read = readInjectorTls(dir, now());
  ASSERT_TRUE(read.ok()) << read.error();
  EXPECT_EQ(read->cert_pem, testTls().cert_pem);
  write("tls.key", "nonsense");
  auto refused = readInjectorTls(dir, now());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().rfind(dir + ": tls.key:", 0), 0u) << refused.error();
  std::filesystem::remove_all(dir);
}

TEST(InstallManifestsTest, InjectorRunsLockedDownWithItsVolumes) {
  const std::vector<YAML::Node> documents = YAML::LoadAll(sourceFile("injector.yaml"));
  std::map<std::string, YAML::Node> by_kind;
  for (const YAML::Node& document : documents) {
    by_kind[document["kind"].as<std::string>()] = document;
  }
  ASSERT_EQ(by_kind.size(), 4u);
  EXPECT_FALSE(by_kind["ServiceAccount"]["automountServiceAccountToken"].as<bool>());
  const YAML::Node deployment = by_kind["Deployment"];
  EXPECT_EQ(deployment["spec"]["replicas"].as<int>(), 2);
  const YAML::Node pod = deployment["spec"]["template"]["spec"];
  EXPECT_EQ(pod["serviceAccountName"].as<std::string>(), "weft-injector");
  EXPECT_FALSE(pod["automountServiceAccountToken"].as<bool>());
  EXPECT_TRUE(pod["securityContext"]["runAsNonRoot"].as<bool>());
  EXPECT_EQ(pod["securityContext"]["runAsUser"].as<int>(), 65532);
  EXPECT_EQ(pod["securityContext"]["seccompProfile"]["type"].as<std::string>(), "RuntimeDefault");
  EXPECT_EQ(pod["topologySpreadConstraints"][0]["topologyKey"].as<std::string>(),
            "kubernetes.io/hostname");
  const YAML::Node container = pod["containers"][0];
  EXPECT_EQ(container["image"].as<std::string>(), "weft-injector:0.1.0");
  EXPECT_FALSE(container["securityContext"]["allowPrivilegeEscalation"].as<bool>());
  EXPECT_TRUE(container["securityContext"]["readOnlyRootFilesystem"].as<bool>());
  EXPECT_EQ(container["securityContext"]["capabilities"]["drop"][0].as<std::string>(), "ALL");
  EXPECT_EQ(container["readinessProbe"]["httpGet"]["path"].as<std::string>(), "/ready");
  EXPECT_EQ(container["livenessProbe"]["httpGet"]["path"].as<std::string>(), "/healthz");
  EXPECT_TRUE(container["resources"]["limits"]["memory"]);
  EXPECT_EQ(strings(container["args"]),
            (std::vector<std::string>{
                "--webhook-address", "0.0.0.0:9443", "--tls-cert-file",
                "/var/run/weft/injector-tls/tls.crt", "--tls-key-file",
                "/var/run/weft/injector-tls/tls.key", "--config-dir", "/etc/weft/injector",
                "--mesh-root-file", "/var/run/weft/mesh-root/root-cert.pem", "--metrics-address",
                "0.0.0.0:15014", "--own-namespace", "$(POD_NAMESPACE)", "--log-format", "json"}));
  // Each file the arguments name is in a volume mounted where they point.
  std::map<std::string, std::string> mounts;
  for (const YAML::Node& mount : container["volumeMounts"]) {
    mounts[mount["name"].as<std::string>()] = mount["mountPath"].as<std::string>();
    EXPECT_TRUE(mount["readOnly"].as<bool>());
  }
  std::map<std::string, YAML::Node> volumes;
  for (const YAML::Node& volume : pod["volumes"]) {
    volumes[volume["name"].as<std::string>()] = volume;
  }
  EXPECT_EQ(mounts,
            (std::map<std::string, std::string>{{"injector-tls", "/var/run/weft/injector-tls"},
                                                {"injector-config", "/etc/weft/injector"},
                                                {"mesh-root", "/var/run/weft/mesh-root"}}));
  EXPECT_EQ(volumes["injector-tls"]["secret"]["secretName"].as<std::string>(), "weft-injector-tls");
  EXPECT_EQ(volumes["injector-config"]["configMap"]["name"].as<std::string>(),
            "weft-sidecar-injector");
  EXPECT_EQ(volumes["mesh-root"]["configMap"]["name"].as<std::string>(), "weft-mesh-root");
  EXPECT_TRUE(volumes["mesh-root"]["configMap"]["optional"].as<bool>());
  // The Service the webhook names, and the budget.
  const YAML::Node port = by_kind["Service"]["spec"]["ports"][0];
  EXPECT_EQ(port["port"].as<int>(), kWebhookServicePort);
  EXPECT_EQ(port["targetPort"].as<std::string>(), container["ports"][0]["name"].as<std::string>());
  EXPECT_EQ(container["ports"][0]["containerPort"].as<int>(), 9443);
  EXPECT_EQ(by_kind["PodDisruptionBudget"]["spec"]["minAvailable"].as<int>(), 1);
}

// --- the YAML writer ------------------------------------------------------------------------

TEST(YamlOutputTest, TextStaysTextAndPlainStaysPlain) {
  YAML::Node node;
  for (const char* text : {"1", "0.5", "-3", "true", "False", "yes", "NO", "on", "~", "null", "",
                           "0x1f", "1:30", ".inf", "plain words", "a: b", "#hash", "- dash"}) {
    node[std::string("key ") + text] = textNode(text);
  }
  node["number"] = 3;
  node["multi"] = textNode("line one\n  line two\n");
  node["multi-no-end"] = textNode("line one\nline two");
  node["leading-space"] = textNode("  indented\nsecond\n");
  const YAML::Node back = YAML::Load(emitYaml(node));
  for (const auto& entry : node) {
    const std::string key = entry.first.as<std::string>();
    EXPECT_EQ(back[key].Scalar(), entry.second.Scalar()) << key;
    EXPECT_EQ(isText(back[key]), key != "number") << key << " changed its type:\n"
                                                  << emitYaml(node);
  }
  EXPECT_EQ(back["number"].Tag(), "?");
  EXPECT_NE(emitYaml(node).find("multi: |\n  line one\n    line two\n"), std::string::npos)
      << emitYaml(node);
}

}  // namespace
}  // namespace weft::cli
