// The generated CRDs: checked in and current, named and shaped as Kubernetes requires, and
// carrying the proto's rules as schema keywords and CEL.
#include "controlplane/crd/crd_generator.h"

#include <google/protobuf/duration.pb.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <regex>

#include <unistd.h>

#include "common/config/duration_text.h"
#include "controlplane/crd/crd_kinds.h"

namespace weft::controlplane::crd {
namespace {

const std::filesystem::path kCheckedIn = std::filesystem::path(WEFT_SOURCE_DIR) / "deploy/k8s/crds";

const std::vector<GeneratedFile>& generated() {
  static const std::vector<GeneratedFile> files = [] {
    std::vector<GeneratedFile> out;
    const std::string error = generateCrdFiles(out);
    EXPECT_EQ(error, "");
    return out;
  }();
  return files;
}

std::string contentOf(const std::string& name) {
  for (const GeneratedFile& file : generated()) {
    if (file.name == name) {
      return file.content;
    }
  }
  ADD_FAILURE() << "not generated: " << name;
  return {};
}

// The generated CRD of a kind, by plural, parsed.
YAML::Node crd(const std::string& plural) {
  return YAML::Load(contentOf(plural + ".weft.dev.yaml"));
}

YAML::Node rootSchema(const std::string& plural) {
  return crd(plural)["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
}

// Walks down a schema: a name goes into `properties`, "[]" into `items`, "{}" into
// `additionalProperties`.
YAML::Node at(YAML::Node schema, std::initializer_list<std::string> path) {
  for (const std::string& step : path) {
    // reset(), not operator=: assigning to a yaml-cpp node writes into the tree it refers to.
    if (step == "[]") {
      schema.reset(schema["items"]);
    } else if (step == "{}") {
      schema.reset(schema["additionalProperties"]);
    } else {
      schema.reset(schema["properties"][step]);
    }
    if (!schema) {
      ADD_FAILURE() << "no schema at step " << step;
      return YAML::Node();
    }
  }
  return schema;
}

YAML::Node spec(const std::string& plural, std::initializer_list<std::string> path = {}) {
  return at(at(rootSchema(plural), {"spec"}), path);
}

std::vector<std::string> strings(const YAML::Node& list) {
  std::vector<std::string> out;
  for (const YAML::Node& item : list) {
    out.push_back(item.as<std::string>());
  }
  return out;
}

std::vector<std::string> celRules(const YAML::Node& schema) {
  std::vector<std::string> out;
  for (const YAML::Node& rule : schema["x-kubernetes-validations"]) {
    out.push_back(rule["rule"].as<std::string>());
  }
  return out;
}

bool hasRule(const YAML::Node& schema, const std::string& rule) {
  const auto rules = celRules(schema);
  return std::find(rules.begin(), rules.end(), rule) != rules.end();
}

// Calls `visit` on every schema node below `schema` (itself included), with its path.
void forEachSchema(const YAML::Node& schema, const std::string& path,
                   const std::function<void(const YAML::Node&, const std::string&)>& visit) {
  visit(schema, path);
  if (const YAML::Node properties = schema["properties"]) {
    for (auto it = properties.begin(); it != properties.end(); ++it) {
      forEachSchema(it->second, path + "." + it->first.as<std::string>(), visit);
    }
  }
  if (const YAML::Node items = schema["items"]) {
    forEachSchema(items, path + "[]", visit);
  }
  if (const YAML::Node values = schema["additionalProperties"]; values && values.IsMap()) {
    forEachSchema(values, path + "{}", visit);
  }
}

const std::vector<std::string> kPlurals = {"trafficroutes",         "destinationpolicies",
                                           "authorizationpolicies", "peerauthentications",
                                           "meshconfigs",           "workloads"};

// (a) The files in deploy/k8s/crds/ are exactly what the protos generate.

TEST(CrdGeneratorTest, CheckedInCrdsMatchTheProtos) {
  const std::string diff = diffCrdFiles(generated(), kCheckedIn);
  EXPECT_TRUE(diff.empty())
      << "deploy/k8s/crds/ is not what the mesh API protos generate (a .proto "
         "changed without regenerating?). Regenerate the files with\n"
         "  cmake --build " WEFT_BINARY_DIR
         " --target weft-crds\n"
         "and commit them. Differences:\n"
      << diff;
}

TEST(CrdGeneratorTest, OutputIsTheSameOnEveryRun) {
  std::vector<GeneratedFile> again;
  ASSERT_EQ(generateCrdFiles(again), "");
  ASSERT_EQ(again.size(), generated().size());
  for (size_t i = 0; i < again.size(); ++i) {
    EXPECT_EQ(again[i].name, generated()[i].name);
    EXPECT_EQ(again[i].content, generated()[i].content) << again[i].name;
  }
}

TEST(CrdGeneratorTest, CheckReportsChangedMissingAndStaleFiles) {
  const auto directory =
      std::filesystem::temp_directory_path() / ("weft-crdgen-test-" + std::to_string(::getpid()));
  std::filesystem::remove_all(directory);
  ASSERT_EQ(writeCrdFiles(generated(), directory), "");
  EXPECT_EQ(diffCrdFiles(generated(), directory), "");

  const auto edited = directory / "trafficroutes.weft.dev.yaml";
  std::string text = contentOf("trafficroutes.weft.dev.yaml");
  text.replace(text.find("maxItems: 64"), 12, "maxItems: 65");
  std::ofstream(edited, std::ios::binary | std::ios::trunc) << text;
  std::filesystem::remove(directory / "workloads.weft.dev.yaml");
  std::ofstream(directory / "gateways.weft.dev.yaml") << "kind: CustomResourceDefinition\n";

  const std::string report = diffCrdFiles(generated(), directory);
  EXPECT_NE(report.find("-                  maxItems: 65\n+                  maxItems: 64\n"),
            std::string::npos)
      << report;
  EXPECT_NE(report.find("missing: " + (directory / "workloads.weft.dev.yaml").string()),
            std::string::npos)
      << report;
  EXPECT_NE(
      report.find("not generated any more: " + (directory / "gateways.weft.dev.yaml").string()),
      std::string::npos)
      << report;

  // Writing again repairs the directory, stale CRD included.
  ASSERT_EQ(writeCrdFiles(generated(), directory), "");
  EXPECT_EQ(diffCrdFiles(generated(), directory), "");
  EXPECT_FALSE(std::filesystem::exists(directory / "gateways.weft.dev.yaml"));
  std::filesystem::remove_all(directory);
}

TEST(CrdGeneratorTest, InstallKustomizationListsEveryCrd) {
  // deploy/k8s/kustomization.yaml, which `kubectl apply -k` and `weftctl install` follow,
  // names every generated CRD; none is left out of an install.
  const YAML::Node kustomization = YAML::LoadFile(
      (std::filesystem::path(WEFT_SOURCE_DIR) / "deploy/k8s/kustomization.yaml").string());
  std::vector<std::string> listed;
  for (const std::string& resource : strings(kustomization["resources"])) {
    if (resource.rfind("crds/", 0) == 0) {
      listed.push_back(resource.substr(5));
    }
  }
  std::vector<std::string> expected;
  for (const std::string& plural : kPlurals) {
    expected.push_back(plural + ".weft.dev.yaml");
  }
  std::sort(expected.begin(), expected.end());
  std::sort(listed.begin(), listed.end());
  EXPECT_EQ(listed, expected);
  EXPECT_EQ(generated().size(), kPlurals.size());
}

// (b) Kubernetes' side of each CRD.

TEST(CrdGeneratorTest, EveryKindHasItsNamesVersionAndSubresources) {
  const std::map<std::string, std::pair<std::string, std::string>> expected = {
      {"trafficroutes", {"TrafficRoute", "tr"}},
      {"destinationpolicies", {"DestinationPolicy", "dp"}},
      {"authorizationpolicies", {"AuthorizationPolicy", "authz"}},
      {"peerauthentications", {"PeerAuthentication", "pa"}},
      {"meshconfigs", {"MeshConfig", "meshcfg"}},
      {"workloads", {"Workload", "wl"}}};
  for (const auto& [plural, names] : expected) {
    SCOPED_TRACE(plural);
    const YAML::Node definition = crd(plural);
    EXPECT_EQ(definition["apiVersion"].as<std::string>(), "apiextensions.k8s.io/v1");
    EXPECT_EQ(definition["kind"].as<std::string>(), "CustomResourceDefinition");
    EXPECT_EQ(definition["metadata"]["name"].as<std::string>(), plural + ".weft.dev");
    const YAML::Node spec_node = definition["spec"];
    EXPECT_EQ(spec_node["group"].as<std::string>(), "weft.dev");
    EXPECT_EQ(spec_node["scope"].as<std::string>(), "Namespaced");
    EXPECT_EQ(spec_node["names"]["kind"].as<std::string>(), names.first);
    EXPECT_EQ(spec_node["names"]["listKind"].as<std::string>(), names.first + "List");
    EXPECT_EQ(spec_node["names"]["plural"].as<std::string>(), plural);
    std::string singular = names.first;
    std::transform(singular.begin(), singular.end(), singular.begin(), ::tolower);
    EXPECT_EQ(spec_node["names"]["singular"].as<std::string>(), singular);
    EXPECT_EQ(strings(spec_node["names"]["shortNames"]), std::vector<std::string>{names.second});
    EXPECT_EQ(strings(spec_node["names"]["categories"]), std::vector<std::string>{"weft"});
    ASSERT_EQ(spec_node["versions"].size(), 1u);
    const YAML::Node version = spec_node["versions"][0];
    EXPECT_EQ(version["name"].as<std::string>(), "v1alpha1");
    EXPECT_TRUE(version["served"].as<bool>());
    EXPECT_TRUE(version["storage"].as<bool>());
    EXPECT_TRUE(version["subresources"]["status"].IsMap());

    const YAML::Node root = rootSchema(plural);
    EXPECT_EQ(strings(root["required"]), std::vector<std::string>{"spec"});
    for (const std::string property : {"apiVersion", "kind", "metadata", "spec", "status"}) {
      EXPECT_TRUE(root["properties"][property]) << property;
    }
    EXPECT_EQ(root["properties"]["metadata"]["type"].as<std::string>(), "object");
  }
}

TEST(CrdGeneratorTest, PrinterColumnsShowTheKeyFieldsAcceptedAndAge) {
  auto columns = [](const std::string& plural) {
    std::map<std::string, std::string> out;
    for (const YAML::Node& column :
         crd(plural)["spec"]["versions"][0]["additionalPrinterColumns"]) {
      out[column["name"].as<std::string>()] = column["jsonPath"].as<std::string>();
    }
    return out;
  };
  EXPECT_EQ(columns("trafficroutes")["Hosts"], ".spec.hosts");
  EXPECT_EQ(columns("destinationpolicies")["Host"], ".spec.host");
  EXPECT_EQ(columns("workloads")["Address"], ".spec.address");
  EXPECT_EQ(columns("workloads")["ServiceAccount"], ".spec.serviceAccount");
  for (const std::string& plural : kPlurals) {
    EXPECT_EQ(columns(plural)["Accepted"], ".status.conditions[?(@.type==\"Accepted\")].status")
        << plural;
    EXPECT_EQ(columns(plural)["Age"], ".metadata.creationTimestamp") << plural;
  }
}

TEST(CrdGeneratorTest, StatusHasConditionsKeyedByType) {
  for (const std::string& plural : kPlurals) {
    SCOPED_TRACE(plural);
    const YAML::Node status = at(rootSchema(plural), {"status"});
    const YAML::Node conditions = at(status, {"conditions"});
    EXPECT_EQ(conditions["x-kubernetes-list-type"].as<std::string>(), "map");
    EXPECT_EQ(strings(conditions["x-kubernetes-list-map-keys"]), std::vector<std::string>{"type"});
    const YAML::Node condition = conditions["items"];
    EXPECT_EQ(strings(condition["required"]), (std::vector<std::string>{"type", "status"}));
    EXPECT_EQ(strings(at(condition, {"status"})["enum"]),
              (std::vector<std::string>{"True", "False", "Unknown"}));
    // Quoted, or a YAML 1.1 reader (kubectl, the API server) would see booleans.
    EXPECT_EQ(at(condition, {"status"})["enum"][0].Tag(), "!");
    EXPECT_EQ(at(condition, {"lastTransitionTime"})["format"].as<std::string>(), "date-time");
    for (const std::string field : {"type", "reason", "message", "observedGeneration"}) {
      EXPECT_TRUE(at(condition, {field})) << field;
    }
    EXPECT_EQ(at(status, {"observedGeneration"})["type"].as<std::string>(), "integer");
  }
}

// The rules of a Kubernetes structural schema: every node has a type (or preserves unknown
// fields), additionalProperties is a schema and never beside properties, and oneOf branches
// only state which fields are present.
TEST(CrdGeneratorTest, SchemasAreStructural) {
  for (const std::string& plural : kPlurals) {
    forEachSchema(
        rootSchema(plural), plural, [](const YAML::Node& schema, const std::string& path) {
          EXPECT_TRUE(schema["type"] || schema["x-kubernetes-preserve-unknown-fields"]) << path;
          if (const YAML::Node additional = schema["additionalProperties"]) {
            EXPECT_TRUE(additional.IsMap()) << path << ": additionalProperties must be a schema";
            EXPECT_FALSE(schema["properties"]) << path;
          }
          for (const YAML::Node& branch : schema["oneOf"]) {
            for (auto it = branch.begin(); it != branch.end(); ++it) {
              const std::string key = it->first.as<std::string>();
              EXPECT_TRUE(key == "required" || key == "not") << path << ": " << key;
            }
          }
          for (const YAML::Node& rule : schema["x-kubernetes-validations"]) {
            EXPECT_FALSE(rule["message"].as<std::string>().empty()) << path;
          }
        });
  }
}

TEST(CrdGeneratorTest, DescriptionsComeFromTheProtoComments) {
  EXPECT_EQ(rootSchema("trafficroutes")["description"].as<std::string>().rfind(
                "TrafficRoute: how HTTP requests to one or more services are routed.", 0),
            0u);
  EXPECT_EQ(spec("trafficroutes", {"hosts"})["description"].as<std::string>(),
            "The services the rules apply to: a Service name in the TrafficRoute's namespace "
            "(\"reviews\") or a fully qualified name (\"reviews.default.svc.cluster.local\").");
  // Enum values' comments are listed under the field's own.
  const std::string algorithm =
      spec("destinationpolicies", {"trafficPolicy", "loadBalancer", "algorithm"})["description"]
          .as<std::string>();
  EXPECT_NE(algorithm.find("\nRING_HASH: Consistent hashing"), std::string::npos) << algorithm;
}

TEST(CrdGeneratorTest, FieldNamesAreLowerCamelCase) {
  EXPECT_TRUE(spec("trafficroutes", {"rules", "[]", "requestHeaders"}));
  EXPECT_TRUE(spec("trafficroutes", {"rules", "[]", "retries", "perTryTimeout"}));
  EXPECT_TRUE(spec("destinationpolicies", {"trafficPolicy", "connectionPool", "maxConnections"}));
  EXPECT_TRUE(spec("workloads", {"serviceAccount"}));
  EXPECT_FALSE(spec("workloads")["properties"]["service_account"]);
}

TEST(CrdGeneratorTest, RequiredFieldsAreListedAndNonEmpty) {
  const YAML::Node route = spec("trafficroutes");
  EXPECT_EQ(strings(route["required"]), (std::vector<std::string>{"hosts", "rules"}));
  EXPECT_EQ(at(route, {"hosts"})["minItems"].as<int>(), 1);
  EXPECT_EQ(at(route, {"hosts", "[]"})["minLength"].as<int>(), 1);
  EXPECT_EQ(at(route, {"rules"})["minItems"].as<int>(), 1);

  const YAML::Node policy = spec("destinationpolicies");
  EXPECT_EQ(strings(policy["required"]), std::vector<std::string>{"host"});
  EXPECT_EQ(at(policy, {"host"})["minLength"].as<int>(), 1);
  const YAML::Node subset = at(policy, {"subsets", "[]"});
  EXPECT_EQ(strings(subset["required"]), (std::vector<std::string>{"name", "labels"}));
  EXPECT_EQ(at(subset, {"labels"})["minProperties"].as<int>(), 1);

  EXPECT_EQ(strings(spec("trafficroutes", {"rules", "[]", "fault", "abort"})["required"]),
            std::vector<std::string>{"httpStatus"});
  EXPECT_EQ(strings(spec("trafficroutes", {"rules", "[]", "mirror"})["required"]),
            std::vector<std::string>{"backend"});
  EXPECT_EQ(strings(spec("workloads", {"sidecar"})["required"]),
            (std::vector<std::string>{"inboundPort", "outboundPort"}));
  // Optional fields are not required.
  EXPECT_FALSE(spec("meshconfigs")["required"]);
}

TEST(CrdGeneratorTest, LimitsBecomeSchemaBounds) {
  EXPECT_EQ(spec("destinationpolicies", {"host"})["maxLength"].as<int>(), 253);
  EXPECT_EQ(spec("trafficroutes", {"hosts"})["maxItems"].as<int>(), 64);
  EXPECT_EQ(spec("trafficroutes", {"hosts", "[]"})["maxLength"].as<int>(), 253);
  EXPECT_EQ(spec("trafficroutes", {"hosts", "[]"})["pattern"].as<std::string>(),
            "^(?:[a-z0-9]([-a-z0-9.]*[a-z0-9])?)$");

  const YAML::Node port = spec("trafficroutes", {"port"});
  EXPECT_EQ(port["type"].as<std::string>(), "integer");
  EXPECT_EQ(port["format"].as<std::string>(), "int32");
  EXPECT_EQ(port["minimum"].as<int>(), 1);
  EXPECT_EQ(port["maximum"].as<int>(), 65535);

  // Wrappers are their scalar, bounded by the field's rules.
  const YAML::Node weight = spec("trafficroutes", {"rules", "[]", "backends", "[]", "weight"});
  EXPECT_EQ(weight["type"].as<std::string>(), "integer");
  EXPECT_EQ(weight["minimum"].as<int>(), 0);
  EXPECT_EQ(weight["maximum"].as<int>(), 1000000);
  const YAML::Node connections =
      spec("destinationpolicies", {"trafficPolicy", "connectionPool", "maxConnections"});
  EXPECT_EQ(connections["format"].as<std::string>(), "int64");  // uint32 exceeds int32
  EXPECT_EQ(connections["minimum"].as<int>(), 1);
  EXPECT_EQ(connections["maximum"].as<int64_t>(), 4294967295);
  const YAML::Node budget = spec("meshconfigs", {"retryBudgetPercent"});
  EXPECT_EQ(budget["type"].as<std::string>(), "number");
  EXPECT_EQ(budget["minimum"].as<double>(), 0);
  EXPECT_EQ(budget["maximum"].as<double>(), 100);

  // Rules of a repeated scalar apply to its items.
  const YAML::Node ports = spec("authorizationpolicies", {"rules", "[]", "to", "[]", "ports"});
  EXPECT_EQ(ports["maxItems"].as<int>(), 64);
  EXPECT_EQ(ports["items"]["minimum"].as<int>(), 1);
  EXPECT_EQ(ports["items"]["maximum"].as<int>(), 65535);
  EXPECT_EQ(spec("authorizationpolicies", {"rules", "[]", "to", "[]", "methods", "[]"})["pattern"]
                .as<std::string>(),
            "^(?:[A-Z]+|\\*)$");
}

TEST(CrdGeneratorTest, EnumsListTheirValueNames) {
  EXPECT_EQ(
      strings(spec("destinationpolicies", {"trafficPolicy", "loadBalancer", "algorithm"})["enum"]),
      (std::vector<std::string>{"LEAST_REQUEST", "ROUND_ROBIN", "RANDOM", "RING_HASH", "MAGLEV"}));
  EXPECT_EQ(strings(spec("peerauthentications", {"mode"})["enum"]),
            (std::vector<std::string>{"UNSET", "PERMISSIVE", "STRICT", "DISABLE"}));
  EXPECT_EQ(strings(spec("peerauthentications", {"portModes", "{}"})["enum"]),
            (std::vector<std::string>{"UNSET", "PERMISSIVE", "STRICT", "DISABLE"}));
  EXPECT_EQ(spec("authorizationpolicies", {"action"})["type"].as<std::string>(), "string");
}

TEST(CrdGeneratorTest, MapsAndSets) {
  const YAML::Node labels = spec("authorizationpolicies", {"selector", "matchLabels"});
  EXPECT_EQ(labels["type"].as<std::string>(), "object");
  EXPECT_EQ(labels["maxProperties"].as<int>(), 32);
  EXPECT_EQ(labels["additionalProperties"]["type"].as<std::string>(), "string");
  EXPECT_EQ(spec("trafficroutes", {"hosts"})["x-kubernetes-list-type"].as<std::string>(), "set");
  EXPECT_EQ(spec("trafficroutes", {"rules", "[]", "retries", "retryOn"})["x-kubernetes-list-type"]
                .as<std::string>(),
            "set");
  // Lists without `unique` keep the default (atomic).
  EXPECT_FALSE(spec("trafficroutes", {"rules"})["x-kubernetes-list-type"]);
}

TEST(CrdGeneratorTest, DurationsAreTextMatchingTheLoadersGrammar) {
  const YAML::Node timeout = spec("trafficroutes", {"rules", "[]", "timeout"});
  EXPECT_EQ(timeout["type"].as<std::string>(), "string");
  const std::regex pattern(timeout["pattern"].as<std::string>(), std::regex::ECMAScript);
  // Each sample gets the same verdict from the schema's pattern and from the control plane's
  // own parser (common/config/duration_text.h).
  for (const std::string text : {"250ms", "1h30m", "1.5s", "0", "0s", "2m", "100us", "10ns", ".5s",
                                 "5.s", "+5s", "1h0m0.5s", "3\xC2\xB5s", "86400s"}) {
    google::protobuf::Duration duration;
    EXPECT_EQ(weft::config::parseDurationText(text, duration), "") << text;
    EXPECT_TRUE(std::regex_search(text, pattern)) << text;
  }
  for (const std::string text : {"5 s", "5", "-1s", "", "1.5", "h", "1hh", "5S", "1d", " 5s", "5s ",
                                 ".s", "00", "1h-5m", "5sec"}) {
    google::protobuf::Duration duration;
    EXPECT_NE(weft::config::parseDurationText(text, duration), "") << text;
    EXPECT_FALSE(std::regex_search(text, pattern)) << text;
  }
  // Bounds are CEL on the parsed duration.
  EXPECT_EQ(celRules(timeout), std::vector<std::string>{"duration(self) <= duration('24h')"});
  EXPECT_EQ(celRules(spec("trafficroutes", {"rules", "[]", "retries", "perTryTimeout"})),
            std::vector<std::string>{
                "duration(self) >= duration('1ms') && duration(self) <= duration('24h')"});
  EXPECT_EQ(celRules(spec("destinationpolicies", {"trafficPolicy", "healthCheck", "interval"})),
            std::vector<std::string>{
                "duration(self) >= duration('100ms') && duration(self) <= duration('1h')"});
}

TEST(CrdGeneratorTest, EveryPatternCompilesAsEcmaScript) {
  size_t patterns = 0;
  for (const std::string& plural : kPlurals) {
    forEachSchema(rootSchema(plural), plural,
                  [&patterns](const YAML::Node& schema, const std::string& path) {
                    if (!schema["pattern"]) {
                      return;
                    }
                    ++patterns;
                    const std::string pattern = schema["pattern"].as<std::string>();
                    EXPECT_EQ(pattern.front(), '^') << path;
                    EXPECT_EQ(pattern.back(), '$') << path;
                    try {
                      std::regex compiled(pattern, std::regex::ECMAScript);
                    } catch (const std::regex_error& error) {
                      ADD_FAILURE() << path << ": " << pattern << ": " << error.what();
                    }
                  });
  }
  EXPECT_GE(patterns, 20u);
}

// (c) CEL rules where the schema keywords cannot say it.

TEST(CrdGeneratorTest, OneofsAreCelRules) {
  EXPECT_TRUE(hasRule(spec("trafficroutes", {"rules", "[]", "matches", "[]", "path"}),
                      "[has(self.exact), has(self.prefix), has(self.regex)].filter(x, x).size() "
                      "== 1"));
  const std::string hash_rule =
      "[has(self.header), has(self.cookie), has(self.sourceIp), has(self.queryParam)]"
      ".filter(x, x).size() == 1";
  EXPECT_TRUE(hasRule(
      spec("destinationpolicies", {"trafficPolicy", "loadBalancer", "consistentHash"}), hash_rule));
  EXPECT_TRUE(hasRule(spec("destinationpolicies",
                           {"subsets", "[]", "trafficPolicy", "loadBalancer", "consistentHash"}),
                      hash_rule));
}

// Header and query matchers sit three lists deep (up to 524288 per object): a CEL rule there
// would pass the API server's cost limit, so the choice is an OpenAPI oneOf.
TEST(CrdGeneratorTest, DeeplyNestedOneofsAreOpenApiOneOf) {
  const YAML::Node header =
      spec("trafficroutes", {"rules", "[]", "matches", "[]", "headers", "[]"});
  EXPECT_TRUE(celRules(header).empty());
  std::vector<std::string> members;
  for (const YAML::Node& branch : header["oneOf"]) {
    members.push_back(strings(branch["required"]).at(0));
  }
  EXPECT_EQ(members, (std::vector<std::string>{"exact", "prefix", "suffix", "contains", "regex",
                                               "present", "range"}));
  EXPECT_EQ(strings(header["required"]), std::vector<std::string>{"name"});
  EXPECT_EQ(
      spec("trafficroutes", {"rules", "[]", "matches", "[]", "queryParams", "[]"})["oneOf"].size(),
      6u);
}

TEST(CrdGeneratorTest, KindRulesAreWhereTheyApply) {
  const YAML::Node rule = spec("trafficroutes", {"rules", "[]"});
  EXPECT_TRUE(hasRule(rule,
                      "!has(self.backends) || size(self.backends) <= 1 || "
                      "self.backends.all(b, has(b.weight))"));
  EXPECT_TRUE(hasRule(rule,
                      "!has(self.backends) || size(self.backends) <= 1 || "
                      "self.backends.exists(b, has(b.weight) && b.weight > 0)"));
  EXPECT_TRUE(hasRule(spec("destinationpolicies", {"trafficPolicy", "loadBalancer"}),
                      "has(self.consistentHash) || !has(self.algorithm) || "
                      "(self.algorithm != 'RING_HASH' && self.algorithm != 'MAGLEV')"));
  EXPECT_TRUE(hasRule(spec("destinationpolicies"),
                      "!has(self.subsets) || "
                      "self.subsets.all(s, self.subsets.exists_one(t, t.name == s.name))"));
  EXPECT_TRUE(hasRule(rootSchema("meshconfigs"), "self.metadata.name == 'default'"));
  EXPECT_TRUE(hasRule(spec("peerauthentications"), "!has(self.portModes) || has(self.selector)"));
  // Integer map keys are checked as integers.
  EXPECT_TRUE(
      hasRule(spec("peerauthentications", {"portModes"}), "self.all(k, uint(k) <= 4294967295u)"));

  // Every rule of the table lands on its message at least once.
  std::vector<std::string> all_rules;
  for (const std::string& plural : kPlurals) {
    forEachSchema(rootSchema(plural), plural,
                  [&all_rules](const YAML::Node& schema, const std::string&) {
                    const auto rules = celRules(schema);
                    all_rules.insert(all_rules.end(), rules.begin(), rules.end());
                  });
  }
  for (const MessageCelRule& table_rule : messageCelRules()) {
    EXPECT_NE(std::find(all_rules.begin(), all_rules.end(), std::string(table_rule.rule.rule)),
              all_rules.end())
        << table_rule.message << ": " << table_rule.rule.rule;
  }
}

}  // namespace
}  // namespace weft::controlplane::crd
