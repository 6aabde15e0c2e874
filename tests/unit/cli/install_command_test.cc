// weftctl install: the embedded manifests rendered, each option changing exactly what it should,
// output that parses back to the same objects, and manifests that keep their promises
// (every RBAC rule commented, a non-root and locked-down control plane).
#include "cli/install_command.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "cli/install_manifest_files.h"
#include "cli/manifest_bundle.h"
#include "cli/yaml_output.h"

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

std::string render(const InstallOptions& options) {
  const RenderedInstall rendered = renderInstall(options, installManifestFiles());
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
  for (const char* kind : {"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding",
                           "Role", "RoleBinding", "Deployment", "Service", "PodDisruptionBudget"}) {
    EXPECT_EQ(kinds.count(kind), 1u) << kind;
  }
  EXPECT_EQ(kinds.count("ConfigMap"), 2u);  // the dashboards and the injector's settings
  EXPECT_EQ(kinds.count("MeshConfig"), 0u);
  EXPECT_FALSE(identities.contains("MutatingWebhookConfiguration weft-sidecar-injector"));
}

TEST(InstallRenderTest, OutputIsTheEmbeddedFilesObjectForObject) {
  // Parsing the output gives back exactly what the files hold: values, and text as text.
  const ManifestBundle bundle = readManifestBundle(installManifestFiles());
  ASSERT_EQ(bundle.error, "");
  std::map<std::string, std::string> files;
  for (const ManifestDocument& document : bundle.documents) {
    flatten(document.object, identity(document.object), files);
  }
  EXPECT_EQ(flattenStream(render({})), files);
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
    EXPECT_EQ(path.rfind("PodDisruptionBudget", 0), std::string::npos) << path;
  }
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
    const RenderedInstall rendered = renderInstall(options, installManifestFiles());
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
  EXPECT_EQ(rules, 9);
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
