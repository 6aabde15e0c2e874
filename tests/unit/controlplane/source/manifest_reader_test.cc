#include "controlplane/source/manifest_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "controlplane/source/service_manifest.h"
#include "tests/unit/controlplane/source/temp_dir.h"

namespace weft::controlplane {
namespace {

using ::testing::HasSubstr;

constexpr std::string_view kRoute = R"(apiVersion: weft.dev/v1alpha1
kind: TrafficRoute
metadata:
  name: reviews
  namespace: shop
spec:
  hosts: [reviews]
  rules:
    - backends:
        - service: reviews
)";

std::string describe(const std::vector<ManifestError>& errors) {
  std::string out;
  for (const ManifestError& error : errors) {
    out += error.toString() + "\n";
  }
  return out;
}

// The errors of the only document of `text`, read as "bad.yaml", which must be rejected.
std::vector<ManifestError> errorsOf(std::string_view text) {
  const ManifestFile file = readManifests(text, "bad.yaml");
  EXPECT_EQ(file.documents.size(), 1u);
  if (file.documents.empty()) {
    return {};
  }
  EXPECT_EQ(file.documents[0].result, DocumentResult::kRejected);
  EXPECT_FALSE(file.documents[0].object.has_value());
  return file.documents[0].errors;
}

// The one error of `text`'s only document.
ManifestError onlyError(std::string_view text) {
  const std::vector<ManifestError> errors = errorsOf(text);
  EXPECT_EQ(errors.size(), 1u) << describe(errors);
  return errors.empty() ? ManifestError{} : errors.front();
}

// Checks what every error must carry: the file, the document and the object when known.
void expectNames(const ManifestError& error, std::string_view kind, std::string_view name,
                 std::string_view namespace_ = "default") {
  EXPECT_EQ(error.file, "bad.yaml");
  EXPECT_EQ(error.document, 0u);
  EXPECT_EQ(error.kind, kind);
  EXPECT_EQ(error.name, name);
  if (!name.empty()) {
    EXPECT_EQ(error.namespace_, namespace_);
  }
  EXPECT_FALSE(error.reason.empty());
  const std::string text = error.toString();
  EXPECT_THAT(text, HasSubstr("bad.yaml"));
  if (!kind.empty()) {
    EXPECT_THAT(text, HasSubstr(std::string(kind)));
  }
  if (!name.empty()) {
    EXPECT_THAT(text, HasSubstr(std::string(namespace_) + "/" + std::string(name)));
  }
  EXPECT_THAT(text, HasSubstr(error.field_path));
  EXPECT_THAT(text, HasSubstr(error.reason));
}

// A weft.dev document of `kind` named "x" in namespace "default" with `spec` (indented by
// two spaces, starting on line 5).
std::string weftDocument(std::string_view kind, std::string_view spec) {
  return "apiVersion: weft.dev/v1alpha1\nkind: " + std::string(kind) +
         "\nmetadata:\n  name: x\nspec:\n" + std::string(spec);
}

TEST(ManifestReaderTest, ReadsARouteWithItsMetadata) {
  const ManifestFile file = readManifests(R"(apiVersion: weft.dev/v1alpha1
kind: TrafficRoute
metadata:
  name: reviews
  namespace: shop
  labels: {app: reviews, "app.kubernetes.io/part-of": bookinfo}
  annotations: {"example.com/owner": "team a"}
  generation: 7
  uid: 0b7a3c52-0000-4000-8000-000000000000
  resourceVersion: "1234"
  creationTimestamp: "2024-01-01T00:00:00Z"
  managedFields: [{manager: kubectl}]
spec:
  hosts: [reviews]
  rules:
    - matches: [{path: {prefix: /api}}]
      timeout: 250ms
      backends:
        - {service: reviews, subset: v1, weight: 90}
        - {service: reviews, subset: v2, weight: 10}
status:
  observedGeneration: 7
)",
                                          "routes.yaml");
  EXPECT_EQ(file.source, "routes.yaml");
  ASSERT_EQ(file.documents.size(), 1u);
  const ManifestDocument& document = file.documents[0];
  ASSERT_EQ(document.result, DocumentResult::kAccepted) << describe(document.errors);
  ASSERT_TRUE(document.object.has_value());
  EXPECT_EQ(document.object->kind(), ObjectKind::kTrafficRoute);
  const auto& route = std::get<TrafficRoute>(document.object->value);
  EXPECT_EQ(route.meta.name, "reviews");
  EXPECT_EQ(route.meta.namespace_, "shop");
  EXPECT_EQ(route.meta.labels.at("app.kubernetes.io/part-of"), "bookinfo");
  EXPECT_EQ(route.meta.annotations.at("example.com/owner"), "team a");
  EXPECT_EQ(route.meta.generation, 7);
  EXPECT_EQ(route.meta.origin, "routes.yaml#0");
  ASSERT_EQ(route.spec.rules_size(), 1);
  EXPECT_EQ(route.spec.rules(0).timeout().nanos(), 250'000'000);
  EXPECT_EQ(route.spec.rules(0).backends(1).weight().value(), 10u);
  EXPECT_EQ(document.kind, "TrafficRoute");
  EXPECT_EQ(document.name, "reviews");
  EXPECT_EQ(document.namespace_, "shop");
  EXPECT_EQ(document.line, 1);
}

TEST(ManifestReaderTest, ReadsEveryWeftKind) {
  const ManifestFile file = readManifests(R"(
apiVersion: weft.dev/v1alpha1
kind: DestinationPolicy
metadata: {name: reviews}
spec:
  host: reviews
  trafficPolicy:
    loadBalancer: {algorithm: RING_HASH, consistentHash: {header: x-user}}
  subsets:
    - {name: v1, labels: {version: v1}}
---
apiVersion: weft.dev/v1alpha1
kind: AuthorizationPolicy
metadata: {name: allow-frontend}
spec:
  selector: {matchLabels: {app: reviews}}
  rules: [{from: [{namespaces: [frontend]}]}]
---
apiVersion: weft.dev/v1alpha1
kind: PeerAuthentication
metadata: {name: strict}
spec:
  selector: {matchLabels: {app: reviews}}
  mode: STRICT
  portModes: {"9080": PERMISSIVE}
---
apiVersion: weft.dev/v1alpha1
kind: MeshConfig
metadata: {name: default, namespace: weft-system}
spec: {trustDomain: example.org}
---
apiVersion: weft.dev/v1alpha1
kind: Workload
metadata: {name: vm-1, labels: {app: legacy}}
spec:
  address: fd00::5
  ports: [{name: http, port: 8080}, {name: admin, port: 9090}]
)",
                                          "all.yaml");
  ASSERT_EQ(file.documents.size(), 5u);
  const std::vector<ObjectKind> kinds = {
      ObjectKind::kDestinationPolicy, ObjectKind::kAuthorizationPolicy,
      ObjectKind::kPeerAuthentication, ObjectKind::kMeshConfig, ObjectKind::kWorkload};
  for (size_t i = 0; i < kinds.size(); ++i) {
    const ManifestDocument& document = file.documents[i];
    ASSERT_EQ(document.result, DocumentResult::kAccepted) << describe(document.errors);
    EXPECT_EQ(document.object->kind(), kinds[i]);
    EXPECT_EQ(document.index, i);
    EXPECT_EQ(document.object->meta().origin, "all.yaml#" + std::to_string(i));
    EXPECT_EQ(kindName(document.object->kind()), document.kind);
  }
  EXPECT_EQ(file.documents[1].line, 12);  // the "---" that starts it is line 11
  const auto& workload = std::get<Workload>(file.documents[4].object->value);
  EXPECT_EQ(workload.meta.namespace_, "default");
  EXPECT_EQ(workload.meta.labels.at("app"), "legacy");
  EXPECT_EQ(workload.spec.ports(1).port(), 9090u);
  const auto& mesh = std::get<MeshConfig>(file.documents[3].object->value);
  EXPECT_EQ(mesh.spec.trust_domain(), "example.org");
}

TEST(ManifestReaderTest, NotYamlIsAnErrorOfThatDocumentOnly) {
  const ManifestFile file = readManifests(std::string(kRoute) +
                                              "---\n"
                                              "apiVersion: v1\n"
                                              "kind: Service\n"
                                              "metadata: {name: [unclosed\n",
                                          "bad.yaml");
  ASSERT_EQ(file.documents.size(), 2u);
  EXPECT_EQ(file.documents[0].result, DocumentResult::kAccepted);
  const ManifestDocument& broken = file.documents[1];
  ASSERT_EQ(broken.result, DocumentResult::kRejected);
  ASSERT_EQ(broken.errors.size(), 1u);
  const ManifestError& error = broken.errors[0];
  EXPECT_EQ(error.file, "bad.yaml");
  EXPECT_EQ(error.document, 1u);
  EXPECT_EQ(error.field_path, "");  // the document as a whole
  EXPECT_THAT(error.reason, HasSubstr("not valid YAML"));
  EXPECT_GE(error.line, 12);  // a line of the file, not of the document
  EXPECT_THAT(error.toString(), HasSubstr("bad.yaml:"));
  EXPECT_THAT(error.toString(), HasSubstr("document #1"));
}

TEST(ManifestReaderTest, AScalarDocumentIsAnError) {
  const ManifestError error = onlyError("just some text\n");
  expectNames(error, "", "");
  EXPECT_EQ(error.field_path, "");
  EXPECT_EQ(error.line, 1);
  EXPECT_THAT(error.reason, HasSubstr("must be a map with apiVersion, kind"));
  EXPECT_THAT(error.reason, HasSubstr("found a scalar"));
}

TEST(ManifestReaderTest, MissingApiVersionIsAnError) {
  const ManifestError error =
      onlyError("kind: TrafficRoute\nmetadata: {name: reviews}\nspec: {hosts: [a]}\n");
  expectNames(error, "TrafficRoute", "reviews");
  EXPECT_EQ(error.field_path, "apiVersion");
  EXPECT_THAT(error.reason, HasSubstr("is required"));
}

TEST(ManifestReaderTest, MissingKindIsAnError) {
  const ManifestError error =
      onlyError("apiVersion: weft.dev/v1alpha1\nmetadata: {name: reviews}\nspec: {}\n");
  expectNames(error, "", "reviews");
  EXPECT_EQ(error.field_path, "kind");
  EXPECT_THAT(error.reason, HasSubstr("is required"));
}

TEST(ManifestReaderTest, UnknownWeftKindIsAnError) {
  const ManifestError error = onlyError(
      "apiVersion: weft.dev/v1alpha1\nkind: TrafficRule\nmetadata: {name: r}\n"
      "spec: {}\n");
  expectNames(error, "TrafficRule", "r");
  EXPECT_EQ(error.field_path, "kind");
  EXPECT_EQ(error.line, 2);
  EXPECT_THAT(error.reason, HasSubstr("unknown weft.dev kind 'TrafficRule'"));
  EXPECT_THAT(error.reason, HasSubstr("TrafficRoute"));
}

TEST(ManifestReaderTest, AnotherWeftVersionIsAnError) {
  const ManifestError error = onlyError(
      "apiVersion: weft.dev/v1beta1\nkind: TrafficRoute\nmetadata: {name: r}\nspec: {}\n");
  expectNames(error, "TrafficRoute", "r");
  EXPECT_EQ(error.field_path, "apiVersion");
  EXPECT_EQ(error.line, 1);
  EXPECT_THAT(error.reason, HasSubstr("'v1beta1' of weft.dev is not served"));
  EXPECT_THAT(error.reason, HasSubstr("weft.dev/v1alpha1"));
}

TEST(ManifestReaderTest, MissingSpecIsAnError) {
  const ManifestError error =
      onlyError("apiVersion: weft.dev/v1alpha1\nkind: TrafficRoute\nmetadata: {name: r}\n");
  expectNames(error, "TrafficRoute", "r");
  EXPECT_EQ(error.field_path, "spec");
  EXPECT_THAT(error.reason, HasSubstr("is required"));
  // A Service needs one too.
  const ManifestError service = onlyError("apiVersion: v1\nkind: Service\nmetadata: {name: s}\n");
  expectNames(service, "Service", "s");
  EXPECT_EQ(service.field_path, "spec");
}

TEST(ManifestReaderTest, MissingNameIsAnError) {
  const ManifestError error = onlyError(
      "apiVersion: weft.dev/v1alpha1\nkind: TrafficRoute\nmetadata: {namespace: shop}\n"
      "spec: {hosts: [a], rules: [{}]}\n");
  expectNames(error, "TrafficRoute", "");
  EXPECT_EQ(error.field_path, "metadata.name");
  EXPECT_EQ(error.line, 3);
  EXPECT_EQ(error.reason, "is required");
  const ManifestError no_metadata = onlyError(
      "apiVersion: weft.dev/v1alpha1\nkind: TrafficRoute\nspec: {hosts: [a], rules: "
      "[{}]}\n");
  EXPECT_EQ(no_metadata.field_path, "metadata");
  EXPECT_THAT(no_metadata.reason, HasSubstr("is required"));
}

TEST(ManifestReaderTest, InvalidNamesBreakKubernetesRules) {
  const ManifestError route = onlyError(
      "apiVersion: weft.dev/v1alpha1\nkind: TrafficRoute\nmetadata: {name: Reviews_V1}\n"
      "spec: {hosts: [a], rules: [{}]}\n");
  expectNames(route, "TrafficRoute", "Reviews_V1");
  EXPECT_EQ(route.field_path, "metadata.name");
  EXPECT_THAT(route.reason, HasSubstr("RFC 1123 subdomain"));
  // Service names become DNS labels, so they must start with a letter and hold no dots.
  const ManifestError service = onlyError(
      "apiVersion: v1\nkind: Service\nmetadata: {name: 1reviews}\nspec: {ports: [{port: 80}]}\n");
  expectNames(service, "Service", "1reviews");
  EXPECT_EQ(service.field_path, "metadata.name");
  EXPECT_THAT(service.reason, HasSubstr("RFC 1035 label"));
  const ManifestError dotted = onlyError(
      "apiVersion: v1\nkind: Service\nmetadata: {name: a.b}\nspec: {ports: [{port: 80}]}\n");
  EXPECT_THAT(dotted.reason, HasSubstr("RFC 1035 label"));
  const ManifestError namespace_ = onlyError(
      "apiVersion: weft.dev/v1alpha1\nkind: TrafficRoute\nmetadata: {name: r, namespace: "
      "a.b}\nspec: {hosts: [a], rules: [{}]}\n");
  EXPECT_EQ(namespace_.field_path, "metadata.namespace");
  EXPECT_THAT(namespace_.reason, HasSubstr("RFC 1123 label"));
}

TEST(ManifestReaderTest, MetadataIsCheckedLikeKubernetesDoes) {
  const ManifestError label = onlyError(
      "apiVersion: weft.dev/v1alpha1\nkind: TrafficRoute\nmetadata:\n  name: r\n  labels:\n"
      "    app: -bad-\nspec: {hosts: [a], rules: [{}]}\n");
  expectNames(label, "TrafficRoute", "r");
  EXPECT_EQ(label.field_path, "metadata.labels[\"app\"]");
  EXPECT_EQ(label.line, 6);
  EXPECT_THAT(label.reason, HasSubstr("label value \"-bad-\" must be at most 63 characters"));
  const ManifestError unknown = onlyError(
      "apiVersion: weft.dev/v1alpha1\nkind: TrafficRoute\nmetadata:\n  name: r\n  lables: {}\n"
      "spec: {hosts: [a], rules: [{}]}\n");
  expectNames(unknown, "TrafficRoute", "r");
  EXPECT_EQ(unknown.field_path, "metadata");
  EXPECT_EQ(unknown.line, 5);
  EXPECT_THAT(unknown.reason, HasSubstr("unknown field 'lables' in metadata"));
  const ManifestError nested = onlyError(
      "apiVersion: weft.dev/v1alpha1\nkind: TrafficRoute\nmetadata:\n  name: r\n  "
      "annotations: {a: {b: c}}\nspec: {hosts: [a], rules: [{}]}\n");
  EXPECT_EQ(nested.field_path, "metadata.annotations[\"a\"]");
  EXPECT_THAT(nested.reason, HasSubstr("expected a string, found a map"));
  const ManifestError generation = onlyError(
      "apiVersion: weft.dev/v1alpha1\nkind: TrafficRoute\nmetadata: {name: r, generation: -1}\n"
      "spec: {hosts: [a], rules: [{}]}\n");
  EXPECT_EQ(generation.field_path, "metadata.generation");
  EXPECT_THAT(generation.reason, HasSubstr("out of range"));
}

TEST(ManifestReaderTest, UnknownFieldInSpecHasPathAndLine) {
  const ManifestError error = onlyError(R"(apiVersion: weft.dev/v1alpha1
kind: TrafficRoute
metadata:
  name: reviews
spec:
  hosts: [reviews]
  rules:
    - backends:
        - servce: reviews
)");
  expectNames(error, "TrafficRoute", "reviews");
  EXPECT_EQ(error.field_path, "spec.rules[0].backends[0]");
  EXPECT_EQ(error.line, 9);
  EXPECT_EQ(error.column, 11);
  EXPECT_THAT(error.reason, HasSubstr("unknown field 'servce'"));
  EXPECT_THAT(error.reason, HasSubstr("did you mean 'service'?"));
  EXPECT_THAT(error.toString(),
              HasSubstr("bad.yaml:9:11: document #0 (TrafficRoute default/reviews): "
                        "spec.rules[0].backends[0]: unknown field 'servce'"));
}

TEST(ManifestReaderTest, UnknownTopLevelFieldIsAnError) {
  const ManifestError error = onlyError(
      "apiVersion: weft.dev/v1alpha1\nkind: TrafficRoute\nmetadata: {name: r}\n"
      "spec: {hosts: [a], rules: [{}]}\nspecs: {}\n");
  expectNames(error, "TrafficRoute", "r");
  EXPECT_EQ(error.field_path, "");
  EXPECT_EQ(error.line, 5);
  EXPECT_THAT(error.reason, HasSubstr("unknown field 'specs'"));
}

TEST(ManifestReaderTest, WrongTypeIsAnError) {
  const ManifestError error =
      onlyError(weftDocument("TrafficRoute", "  hosts: [a]\n  port: eighty\n  rules: [{}]\n"));
  expectNames(error, "TrafficRoute", "x");
  EXPECT_EQ(error.field_path, "spec.port");
  EXPECT_EQ(error.line, 7);
  EXPECT_THAT(error.reason, HasSubstr("expected an integer"));
  const ManifestError list = onlyError(weftDocument("TrafficRoute", "  hosts: a\n  rules: [{}]\n"));
  EXPECT_EQ(list.field_path, "spec.hosts");
  EXPECT_THAT(list.reason, HasSubstr("expected a list"));
}

TEST(ManifestReaderTest, OutOfRangeNumberIsAnError) {
  const ManifestError error =
      onlyError(weftDocument("TrafficRoute", "  hosts: [a]\n  port: 70000\n  rules: [{}]\n"));
  expectNames(error, "TrafficRoute", "x");
  EXPECT_EQ(error.field_path, "spec.port");
  EXPECT_EQ(error.line, 7);
  EXPECT_THAT(error.reason, HasSubstr("must be at most 65535, got 70000"));
  const ManifestError overflow =
      onlyError(weftDocument("TrafficRoute", "  hosts: [a]\n  port: 99999999999\n  rules: [{}]\n"));
  EXPECT_THAT(overflow.reason, HasSubstr("out of range"));
}

TEST(ManifestReaderTest, BadEnumValueIsAnError) {
  const ManifestError error =
      onlyError(weftDocument("DestinationPolicy",
                             "  host: reviews\n  trafficPolicy:\n    loadBalancer:\n"
                             "      algorithm: FASTEST\n"));
  expectNames(error, "DestinationPolicy", "x");
  EXPECT_EQ(error.field_path, "spec.traffic_policy.load_balancer.algorithm");
  EXPECT_EQ(error.line, 9);
  EXPECT_THAT(error.reason, HasSubstr("unknown value \"FASTEST\""));
  EXPECT_THAT(error.reason, HasSubstr("RING_HASH"));
}

TEST(ManifestReaderTest, BadRegexesAreErrors) {
  const std::vector<ManifestError> errors = errorsOf(weftDocument("TrafficRoute", R"(  hosts: [a]
  rules:
    - matches:
        - path: {regex: "/api/(v1"}
          headers: [{name: x-user, regex: "[a-"}]
          queryParams: [{name: q, regex: "*"}]
)"));
  ASSERT_EQ(errors.size(), 3u) << describe(errors);
  for (const ManifestError& error : errors) {
    expectNames(error, "TrafficRoute", "x");
    EXPECT_THAT(error.reason, HasSubstr("invalid RE2 regular expression"));
  }
  EXPECT_EQ(errors[0].field_path, "spec.rules[0].matches[0].path.regex");
  EXPECT_EQ(errors[0].line, 9);
  EXPECT_THAT(errors[0].reason, HasSubstr("missing )"));
  EXPECT_EQ(errors[1].field_path, "spec.rules[0].matches[0].headers[0].regex");
  EXPECT_EQ(errors[1].line, 10);
  EXPECT_EQ(errors[2].field_path, "spec.rules[0].matches[0].query_params[0].regex");
  EXPECT_EQ(errors[2].line, 11);
}

TEST(ManifestReaderTest, SeveralBackendsNeedEveryWeight) {
  const std::vector<ManifestError> errors = errorsOf(weftDocument("TrafficRoute", R"(  hosts: [a]
  rules:
    - backends:
        - service: a
        - service: b
)"));
  ASSERT_EQ(errors.size(), 2u) << describe(errors);
  expectNames(errors[0], "TrafficRoute", "x");
  EXPECT_EQ(errors[0].field_path, "spec.rules[0].backends[0].weight");
  EXPECT_EQ(errors[0].line, 9);  // the backend lacking it
  EXPECT_THAT(errors[0].reason, HasSubstr("every backend must set weight"));
  EXPECT_EQ(errors[1].field_path, "spec.rules[0].backends[1].weight");
  EXPECT_EQ(errors[1].line, 10);

  const ManifestError zero = onlyError(weftDocument(
      "TrafficRoute",
      "  hosts: [a]\n  rules:\n    - backends: [{service: a, weight: 0}, {service: b, weight: "
      "0}]\n"));
  EXPECT_EQ(zero.field_path, "spec.rules[0].backends");
  EXPECT_THAT(zero.reason, HasSubstr("must not all be 0"));
}

TEST(ManifestReaderTest, HashingNeedsAConsistentHashKey) {
  const ManifestError error = onlyError(weftDocument("DestinationPolicy", R"(  host: reviews
  subsets:
    - name: v1
      labels: {version: v1}
      trafficPolicy:
        loadBalancer: {algorithm: MAGLEV}
)"));
  expectNames(error, "DestinationPolicy", "x");
  EXPECT_EQ(error.field_path, "spec.subsets[0].traffic_policy.load_balancer.consistent_hash");
  EXPECT_EQ(error.line, 11);  // the loadBalancer that lacks it
  EXPECT_THAT(error.reason, HasSubstr("is required when algorithm is MAGLEV"));
  const ManifestError ring = onlyError(weftDocument(
      "DestinationPolicy", "  host: r\n  trafficPolicy: {loadBalancer: {algorithm: RING_HASH}}\n"));
  EXPECT_EQ(ring.field_path, "spec.traffic_policy.load_balancer.consistent_hash");
  EXPECT_THAT(ring.reason, HasSubstr("RING_HASH"));
}

TEST(ManifestReaderTest, DuplicateSubsetIsAnError) {
  const ManifestError error = onlyError(weftDocument("DestinationPolicy", R"(  host: reviews
  subsets:
    - {name: v1, labels: {version: v1}}
    - {name: v1, labels: {version: v2}}
)"));
  expectNames(error, "DestinationPolicy", "x");
  EXPECT_EQ(error.field_path, "spec.subsets[1].name");
  EXPECT_EQ(error.line, 9);
  EXPECT_THAT(error.reason, HasSubstr("subset names must be unique: \"v1\" is also subsets[0]"));
}

TEST(ManifestReaderTest, PeerAuthenticationPortModesNeedASelector) {
  const ManifestError error = onlyError(
      weftDocument("PeerAuthentication", "  mode: STRICT\n  portModes: {\"9080\": DISABLE}\n"));
  expectNames(error, "PeerAuthentication", "x");
  EXPECT_EQ(error.field_path, "spec.port_modes");
  EXPECT_THAT(error.reason, HasSubstr("portModes requires a selector"));
  const ManifestError zero = onlyError(
      weftDocument("PeerAuthentication",
                   "  selector: {matchLabels: {app: a}}\n  portModes: {\"0\": DISABLE}\n"));
  EXPECT_EQ(zero.field_path, "spec.port_modes[\"0\"]");
  EXPECT_EQ(zero.line, 7);
  EXPECT_THAT(zero.reason, HasSubstr("port numbers from 1 to 65535"));
}

TEST(ManifestReaderTest, WorkloadAddressMustBeAnIpLiteral) {
  const ManifestError error =
      onlyError(weftDocument("Workload", "  address: 10.0.0.256\n  ports: [{port: 80}]\n"));
  expectNames(error, "Workload", "x");
  EXPECT_EQ(error.field_path, "spec.address");
  EXPECT_EQ(error.line, 6);
  EXPECT_THAT(error.reason, HasSubstr("is not an IP address"));
  const ManifestError names = onlyError(weftDocument(
      "Workload",
      "  address: 10.0.0.5\n  ports: [{name: http, port: 80}, {name: http, port: 81}]\n"));
  EXPECT_EQ(names.field_path, "spec.ports[1].name");
  EXPECT_THAT(names.reason, HasSubstr("port names must be unique"));
  const ManifestError both =
      onlyError(weftDocument("Workload",
                             "  address: 10.0.0.5\n  trafficCapture: true\n"
                             "  sidecar: {inboundPort: 15006, outboundPort: 15001}\n"));
  EXPECT_EQ(both.field_path, "spec.traffic_capture");
  EXPECT_THAT(both.reason, HasSubstr("not both"));
}

TEST(ManifestReaderTest, MeshConfigOtherThanTheDefaultIsAnError) {
  const ManifestError error = onlyError(
      "apiVersion: weft.dev/v1alpha1\nkind: MeshConfig\nmetadata: {name: custom, namespace: "
      "weft-system}\nspec: {}\n");
  expectNames(error, "MeshConfig", "custom", "weft-system");
  EXPECT_EQ(error.field_path, "metadata.name");
  EXPECT_THAT(error.reason, HasSubstr("only the MeshConfig named \"default\" in namespace "
                                      "\"weft-system\" is used"));
  const ManifestError namespace_ = onlyError(
      "apiVersion: weft.dev/v1alpha1\nkind: MeshConfig\nmetadata: {name: default}\nspec: {}\n");
  expectNames(namespace_, "MeshConfig", "default");
  EXPECT_EQ(namespace_.field_path, "metadata.namespace");
}

TEST(ManifestReaderTest, TracingExporterNeedsACollector) {
  const ManifestError error = onlyError(
      "apiVersion: weft.dev/v1alpha1\nkind: MeshConfig\nmetadata: {name: default, namespace: "
      "weft-system}\nspec:\n  tracing: {exporter: ZIPKIN_V2_JSON}\n");
  expectNames(error, "MeshConfig", "default", "weft-system");
  EXPECT_EQ(error.field_path, "spec.tracing.collector");
  EXPECT_EQ(error.line, 5);
  EXPECT_THAT(error.reason, HasSubstr("collector is required"));
}

TEST(ManifestReaderTest, ServiceWithUdpPortIsAnError) {
  const ManifestError error = onlyError(R"(apiVersion: v1
kind: Service
metadata: {name: dns, namespace: kube-system}
spec:
  ports:
    - {name: dns, port: 53, protocol: UDP}
)");
  expectNames(error, "Service", "dns", "kube-system");
  EXPECT_EQ(error.field_path, "spec.ports[0].protocol");
  EXPECT_EQ(error.line, 6);
  EXPECT_THAT(error.reason, HasSubstr("protocol UDP is not supported by the mesh"));
  const ManifestError sctp = onlyError(
      "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 1, protocol: "
      "SCTP}]}\n");
  EXPECT_THAT(sctp.reason, HasSubstr("SCTP is not supported by the mesh"));
}

TEST(ManifestReaderTest, ExternalNameServiceIsAnError) {
  const ManifestError error = onlyError(
      "apiVersion: v1\nkind: Service\nmetadata: {name: db}\nspec:\n  type: ExternalName\n"
      "  externalName: db.example.com\n");
  expectNames(error, "Service", "db");
  EXPECT_EQ(error.field_path, "spec.type");
  EXPECT_EQ(error.line, 5);
  EXPECT_THAT(error.reason, HasSubstr("ExternalName is not supported by the mesh"));
}

TEST(ManifestReaderTest, ServicePortNamesMustBeUnique) {
  const ManifestError error = onlyError(R"(apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  ports:
    - {name: http, port: 80}
    - {name: http, port: 8080}
)");
  expectNames(error, "Service", "web");
  EXPECT_EQ(error.field_path, "spec.ports[1].name");
  EXPECT_EQ(error.line, 7);
  EXPECT_THAT(error.reason, HasSubstr("port names must be unique within a Service: 'http' is "
                                      "also spec.ports[0]"));
  const ManifestError unnamed = onlyError(
      "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  ports: [{port: 80}, "
      "{name: b, port: 81}]\n");
  EXPECT_EQ(unnamed.field_path, "spec.ports[0].name");
  EXPECT_THAT(unnamed.reason, HasSubstr("more than one port"));
}

TEST(ManifestReaderTest, ServiceFieldsAreCheckedAndUnusedOnesIgnored) {
  const ManifestFile file = readManifests(R"(apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: LoadBalancer
  clusterIP: 10.96.0.10
  clusterIPs: [10.96.0.10]
  ipFamilies: [IPv4]
  ipFamilyPolicy: SingleStack
  sessionAffinity: None
  externalTrafficPolicy: Local
  selector: {app: web}
  ports:
    - {name: http, port: 80, targetPort: 8080, nodePort: 30080}
status:
  loadBalancer: {}
)",
                                          "svc.yaml");
  ASSERT_EQ(file.documents.size(), 1u);
  ASSERT_EQ(file.documents[0].result, DocumentResult::kAccepted)
      << describe(file.documents[0].errors);
  const auto& service = std::get<Service>(file.documents[0].object->value);
  EXPECT_EQ(service.meta.namespace_, "shop");
  EXPECT_EQ(service.selector.at("app"), "web");
  ASSERT_EQ(service.ports.size(), 1u);
  EXPECT_EQ(service.ports[0].target_port, 8080u);

  const ManifestError typo = onlyError(
      "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  selecter: {app: web}\n");
  expectNames(typo, "Service", "web");
  EXPECT_EQ(typo.field_path, "spec");
  EXPECT_EQ(typo.line, 5);
  EXPECT_THAT(typo.reason, HasSubstr("unknown field 'selecter' in a Service spec"));
  const ManifestError port = onlyError(
      "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  ports: [{port: 0}]\n");
  EXPECT_EQ(port.field_path, "spec.ports[0].port");
  EXPECT_THAT(port.reason, HasSubstr("out of range (1..65535)"));
  const ManifestError quoted = onlyError(
      "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  ports: [{port: 80, "
      "targetPort: \"8080\"}]\n");
  EXPECT_EQ(quoted.field_path, "spec.ports[0].targetPort");
  EXPECT_THAT(quoted.reason, HasSubstr("write the number unquoted"));
}

TEST(ManifestReaderTest, ServicePortProtocolIsInferred) {
  const ManifestFile file = readManifests(R"(apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  ports:
    - {name: http-web, port: 80}
    - {name: grpc, port: 81}
    - {name: http2-api, port: 82}
    - {name: tcp-db, port: 83}
    - {name: metrics, port: 84}
    - {name: api, port: 85, appProtocol: kubernetes.io/h2c}
    - {name: secure, port: 86, appProtocol: https}
    - {name: http-but-tcp, port: 87, appProtocol: tcp}
    - {name: mysql, port: 88}
)",
                                          "svc.yaml");
  ASSERT_EQ(file.documents.size(), 1u);
  ASSERT_EQ(file.documents[0].result, DocumentResult::kAccepted)
      << describe(file.documents[0].errors);
  const auto& ports = std::get<Service>(file.documents[0].object->value).ports;
  ASSERT_EQ(ports.size(), 9u);
  const std::vector<PortProtocol> expected = {
      PortProtocol::kHttp, PortProtocol::kGrpc, PortProtocol::kHttp2,
      PortProtocol::kTcp,  PortProtocol::kHttp, PortProtocol::kHttp2,
      PortProtocol::kTcp,  PortProtocol::kTcp,  PortProtocol::kTcp};
  for (size_t i = 0; i < ports.size(); ++i) {
    EXPECT_EQ(ports[i].protocol, expected[i]) << ports[i].name;
    EXPECT_EQ(ports[i].target_port, ports[i].port) << "targetPort defaults to the port";
  }
  // appProtocol wins over the name; unnamed ports are HTTP.
  EXPECT_EQ(inferPortProtocol("tcp-x", "grpc"), PortProtocol::kGrpc);
  EXPECT_EQ(inferPortProtocol("", ""), PortProtocol::kHttp);
  EXPECT_EQ(inferPortProtocol("grpc-web", ""), PortProtocol::kGrpc);
  EXPECT_EQ(inferPortProtocol("x", "HTTP"), PortProtocol::kHttp);
  EXPECT_EQ(inferPortProtocol("x", "http2"), PortProtocol::kHttp2);
  EXPECT_EQ(inferPortProtocol("http", "redis"), PortProtocol::kTcp);
}

TEST(ManifestReaderTest, TargetPortByName) {
  const ManifestFile file = readManifests(R"(apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports:
    - {name: http, port: 80, targetPort: http-web}
    - {name: admin, port: 9000, targetPort: 9090}
)",
                                          "svc.yaml");
  ASSERT_EQ(file.documents[0].result, DocumentResult::kAccepted)
      << describe(file.documents[0].errors);
  const auto& ports = std::get<Service>(file.documents[0].object->value).ports;
  ASSERT_EQ(ports.size(), 2u);
  EXPECT_EQ(ports[0].target_port_name, "http-web");
  EXPECT_EQ(ports[0].target_port, 0u);
  EXPECT_EQ(ports[1].target_port_name, "");
  EXPECT_EQ(ports[1].target_port, 9090u);

  const ManifestError bad = onlyError(
      "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  ports: [{port: 80, "
      "targetPort: Http_Web}]\n");
  expectNames(bad, "Service", "web");
  EXPECT_EQ(bad.field_path, "spec.ports[0].targetPort");
  EXPECT_THAT(bad.reason, HasSubstr("not a valid port name"));
}

TEST(ManifestReaderTest, GoodDocumentsNextToABadOneAreKept) {
  const ManifestFile file = readManifests(std::string(kRoute) + "---\n" +
                                              weftDocument("TrafficRoute", "  hosts: [Bad]\n") +
                                              "---\n"
                                              "apiVersion: v1\nkind: Service\n"
                                              "metadata: {name: reviews, namespace: shop}\n"
                                              "spec: {ports: [{port: 9080}]}\n",
                                          "mixed.yaml");
  ASSERT_EQ(file.documents.size(), 3u);
  EXPECT_EQ(file.documents[0].result, DocumentResult::kAccepted);
  EXPECT_EQ(file.documents[1].result, DocumentResult::kRejected);
  EXPECT_EQ(file.documents[2].result, DocumentResult::kAccepted);
  EXPECT_EQ(file.documents[2].object->meta().origin, "mixed.yaml#2");
  ASSERT_FALSE(file.documents[1].errors.empty());
  // Both problems of the bad one are reported: the host pattern and the missing rules.
  EXPECT_EQ(file.documents[1].errors.size(), 2u) << describe(file.documents[1].errors);
  EXPECT_EQ(file.documents[1].errors[0].document, 1u);
  EXPECT_GE(file.documents[1].errors[0].line, 13);
}

TEST(ManifestReaderTest, OtherKindsAreIgnored) {
  const ManifestFile file = readManifests(R"(apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec: {replicas: 2, anything: [goes, here]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {a: b}
---
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
# only a comment
---
apiVersion: v2
kind: Service
metadata: {name: not-core}
)",
                                          "app.yaml");
  ASSERT_EQ(file.documents.size(), 4u);
  for (const ManifestDocument& document : file.documents) {
    EXPECT_EQ(document.result, DocumentResult::kIgnored) << document.kind;
    EXPECT_TRUE(document.errors.empty());
    EXPECT_FALSE(document.object.has_value());
  }
  EXPECT_EQ(file.documents[0].kind, "Deployment");
  EXPECT_EQ(file.documents[0].name, "web");
  EXPECT_EQ(file.documents[3].index, 3u);
}

TEST(ManifestReaderTest, ReadsListsItemByItem) {
  const ManifestFile file = readManifests(R"(apiVersion: v1
kind: List
metadata: {resourceVersion: ""}
items:
  - apiVersion: v1
    kind: Service
    metadata: {name: reviews}
    spec: {ports: [{name: http, port: 9080}]}
  - apiVersion: weft.dev/v1alpha1
    kind: TrafficRoute
    metadata: {name: reviews}
    spec: {hosts: [reviews], rules: [{backends: [{service: reviews}]}], prot: 1}
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: reviews}
)",
                                          "list.yaml");
  ASSERT_EQ(file.documents.size(), 3u);
  EXPECT_EQ(file.documents[0].result, DocumentResult::kAccepted);
  EXPECT_EQ(file.documents[0].object->meta().origin, "list.yaml#0.items[0]");
  EXPECT_EQ(file.documents[0].item, "items[0]");
  EXPECT_EQ(file.documents[0].line, 5);
  ASSERT_EQ(file.documents[1].result, DocumentResult::kRejected);
  ASSERT_EQ(file.documents[1].errors.size(), 1u);
  const ManifestError& error = file.documents[1].errors[0];
  EXPECT_EQ(error.file, "list.yaml");
  EXPECT_EQ(error.document, 0u);
  EXPECT_EQ(error.kind, "TrafficRoute");
  EXPECT_EQ(error.name, "reviews");
  EXPECT_EQ(error.field_path, "items[1].spec");
  EXPECT_EQ(error.line, 12);
  EXPECT_THAT(error.reason, HasSubstr("unknown field 'prot'"));
  EXPECT_EQ(file.documents[2].result, DocumentResult::kIgnored);

  const ManifestError nested = onlyError(
      "apiVersion: v1\nkind: List\nitems:\n  - {apiVersion: v1, kind: List, items: []}\n");
  EXPECT_EQ(nested.field_path, "items[0]");
  EXPECT_THAT(nested.reason, HasSubstr("a List inside a List"));
}

TEST(ManifestReaderTest, ReadsJson) {
  const ManifestFile file = readManifests(
      R"({"apiVersion": "weft.dev/v1alpha1", "kind": "TrafficRoute",
          "metadata": {"name": "reviews"},
          "spec": {"hosts": ["reviews"], "rules": [{"timeout": "1s"}]}})",
      "route.json");
  ASSERT_EQ(file.documents.size(), 1u);
  EXPECT_EQ(file.documents[0].result, DocumentResult::kAccepted)
      << describe(file.documents[0].errors);
}

TEST(ManifestReaderTest, DuplicateKeysAreErrors) {
  const ManifestError error = onlyError(
      "apiVersion: weft.dev/v1alpha1\nkind: TrafficRoute\nmetadata: {name: r}\n"
      "spec: {hosts: [a], rules: [{}]}\nspec: {}\n");
  expectNames(error, "TrafficRoute", "r");
  EXPECT_EQ(error.field_path, "spec");
  EXPECT_EQ(error.line, 5);
  EXPECT_THAT(error.reason, HasSubstr("more than once"));
}

TEST(ManifestReaderTest, OversizedFileIsOneError) {
  config::YamlLimits limits;
  limits.max_document_bytes = 64;
  const ManifestFile file = readManifests(kRoute, "big.yaml", limits);
  ASSERT_EQ(file.documents.size(), 1u);
  ASSERT_EQ(file.documents[0].result, DocumentResult::kRejected);
  ASSERT_EQ(file.documents[0].errors.size(), 1u);
  const ManifestError& error = file.documents[0].errors[0];
  EXPECT_EQ(error.file, "big.yaml");
  EXPECT_FALSE(error.document.has_value());  // the file as a whole
  EXPECT_EQ(error.field_path, "");
  EXPECT_THAT(error.reason, HasSubstr("larger than the limit of 64"));
  EXPECT_THAT(error.toString(), HasSubstr("big.yaml: file is"));
}

TEST(ManifestReaderTest, DeeplyNestedDocumentIsAnError) {
  // Deeper than the limit of 64 levels, in a place the proto loader never sees.
  std::string text = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  labels: ";
  for (int i = 0; i < 100; ++i) {
    text += "{a: ";
  }
  text += "b" + std::string(100, '}') + "\n";
  const ManifestError error = onlyError(text);
  expectNames(error, "Service", "web");
  EXPECT_EQ(error.field_path, "");
  EXPECT_EQ(error.line, 5);
  EXPECT_THAT(error.reason, HasSubstr("nesting deeper than 64 levels"));

  // Deep enough for yaml-cpp's own guard, which stops parsing.
  const ManifestError parser = onlyError("items: " + std::string(100'000, '[') + "\n");
  EXPECT_EQ(parser.file, "bad.yaml");
  EXPECT_THAT(parser.reason, HasSubstr("nesting deeper than"));
}

TEST(ManifestReaderTest, AliasBombIsStopped) {
  // "Billion laughs": 2^40 nodes after expanding aliases, a few hundred bytes of text.
  std::string text =
      "apiVersion: v1\nkind: Service\nmetadata: {name: bomb}\nspec:\n  ports: []\n"
      "x-a0: &a0 [lol, lol]\n";
  for (int i = 1; i < 40; ++i) {
    text += "x-a" + std::to_string(i) + ": &a" + std::to_string(i) + " [*a" +
            std::to_string(i - 1) + ", *a" + std::to_string(i - 1) + "]\n";
  }
  const ManifestError error = onlyError(text);
  expectNames(error, "Service", "bomb");
  EXPECT_THAT(error.reason, HasSubstr("document too large: more than 1000000 nodes (after "
                                      "expanding aliases)"));
}

TEST(ManifestReaderTest, LongKeysAreBounded) {
  const ManifestError error =
      onlyError("apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {}\n? " +
                std::string(5000, 'k') + "\n: 1\n");
  expectNames(error, "Service", "web");
  EXPECT_THAT(error.reason, HasSubstr("longer than the limit of 1024"));
}

TEST(ManifestReaderTest, DocumentMarkersAndEmptyDocuments) {
  const ManifestFile file =
      readManifests("# header\n---\n---\n" + std::string(kRoute) + "...\n---\n~\n--- " +
                        "{apiVersion: v1, kind: Service, metadata: {name: "
                        "a}, spec: {}}\n",
                    "markers.yaml");
  ASSERT_EQ(file.documents.size(), 2u);
  EXPECT_EQ(file.documents[0].result, DocumentResult::kAccepted);
  EXPECT_EQ(file.documents[0].line, 4);  // its first line of content
  EXPECT_EQ(file.documents[1].result, DocumentResult::kAccepted);
  EXPECT_EQ(file.documents[1].index, 2u);  // the null document took index 1
  EXPECT_TRUE(readManifests("", "empty.yaml").documents.empty());
  EXPECT_TRUE(readManifests("# nothing\n---\n", "empty.yaml").documents.empty());
}

TEST(ManifestReaderTest, TooManyDocumentsAreBounded) {
  std::string text;
  for (size_t i = 0; i < kMaxDocumentsPerFile + 5; ++i) {
    text += "x\n---\n";
  }
  const ManifestFile file = readManifests(text, "many.yaml");
  ASSERT_EQ(file.documents.size(), kMaxDocumentsPerFile + 1);
  const ManifestDocument& last = file.documents.back();
  ASSERT_EQ(last.errors.size(), 1u);
  EXPECT_THAT(last.errors[0].reason, HasSubstr("the rest were not read"));
}

TEST(ManifestReaderTest, OversizedFileOnDiskIsRejectedBeforeReading) {
  testing::TempDir dir;
  dir.write("big.yaml", std::string(kRoute) + "# " + std::string(200, 'x') + "\n");
  config::YamlLimits limits;
  limits.max_document_bytes = 100;
  const ManifestFile file = readManifestFile(dir / "big.yaml", "big.yaml", limits);
  ASSERT_EQ(file.documents.size(), 1u);
  ASSERT_EQ(file.documents[0].errors.size(), 1u);
  const ManifestError& error = file.documents[0].errors[0];
  EXPECT_EQ(error.file, "big.yaml");
  EXPECT_FALSE(error.document.has_value());
  EXPECT_THAT(error.reason, HasSubstr("larger than the limit of 100"));
  // Within the limit, the same file reads.
  limits.max_document_bytes = 1000;
  EXPECT_EQ(readManifestFile(dir / "big.yaml", "big.yaml", limits).documents[0].result,
            DocumentResult::kAccepted);
}

TEST(ManifestReaderTest, UnreadableFileIsOneError) {
  const ManifestFile file = readManifestFile("/nonexistent/routes.yaml", "routes.yaml");
  ASSERT_EQ(file.documents.size(), 1u);
  ASSERT_EQ(file.documents[0].errors.size(), 1u);
  EXPECT_EQ(file.documents[0].errors[0].file, "routes.yaml");
  EXPECT_THAT(file.documents[0].errors[0].reason, HasSubstr("cannot open file"));
}

}  // namespace
}  // namespace weft::controlplane
