#include "common/config/yaml_to_proto.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "testdata/config_test.pb.h"

namespace weft::config {
namespace {

using ::testing::HasSubstr;

// The smallest document that satisfies every rule of weft.test.Sample.
constexpr std::string_view kValidBase = R"(name: web
cluster: backend
retries: 2
required_color: RED
)";

ConfigErrors load(std::string_view text, weft::test::Sample& out) {
  return loadYaml(text, "sample.yaml", out);
}

// Loads kValidBase plus `extra` and expects exactly one error.
ConfigError onlyError(std::string_view extra) {
  weft::test::Sample sample;
  const ConfigErrors errors = load(std::string(kValidBase) + std::string(extra), sample);
  EXPECT_EQ(errors.size(), 1u) << formatErrors(errors);
  return errors.empty() ? ConfigError{} : errors.front();
}

TEST(YamlToProtoTest, LoadsEveryKindOfField) {
  weft::test::Sample sample;
  const ConfigErrors errors = load(R"(
name: web-1
small: -12
big: "9007199254740993"
count: 4000000000
huge: 18446744073709551615
ratio: 12.5
scale: 0.25
enabled: true
blob: aGVsbG8=
color: GREEN
palette: [RED, GREEN]
timeout: 1m30s
endpoints:
  - host: 127.0.0.1
    port: 8080
    weight: 3
labels:
  app: reviews
  "version.kubernetes.io": v2
named_endpoints:
  main: {host: ::1, port: 443}
extension:
  "@type": type.googleapis.com/weft.test.Endpoint
  host: localhost
  port: 9
metadata:
  owner: team-a
  replicas: 3
  canary: false
  nested: {list: [1, "two", null]}
flag: false
tags: [a, b]
endpoint: {host: 127.0.0.2, port: 80}
retries: 0
requiredColor: GREEN
)",
                                   sample);
  ASSERT_TRUE(errors.empty()) << formatErrors(errors);
  EXPECT_EQ(sample.name(), "web-1");
  EXPECT_EQ(sample.small(), -12);
  EXPECT_EQ(sample.big(), 9007199254740993LL);
  EXPECT_EQ(sample.count(), 4000000000u);
  EXPECT_EQ(sample.huge(), 18446744073709551615ULL);
  EXPECT_DOUBLE_EQ(sample.ratio(), 12.5);
  EXPECT_FLOAT_EQ(sample.scale(), 0.25f);
  EXPECT_TRUE(sample.enabled());
  EXPECT_EQ(sample.blob(), "hello");
  EXPECT_EQ(sample.color(), weft::test::GREEN);
  ASSERT_EQ(sample.palette_size(), 2);
  EXPECT_EQ(sample.palette(1), weft::test::GREEN);
  EXPECT_EQ(sample.timeout().seconds(), 90);
  ASSERT_EQ(sample.endpoints_size(), 1);
  EXPECT_EQ(sample.endpoints(0).port(), 8080u);
  EXPECT_EQ(sample.endpoints(0).weight().value(), 3u);
  EXPECT_EQ(sample.labels().at("version.kubernetes.io"), "v2");
  EXPECT_EQ(sample.named_endpoints().at("main").host(), "::1");
  weft::test::Endpoint unpacked;
  ASSERT_TRUE(sample.extension().UnpackTo(&unpacked));
  EXPECT_EQ(unpacked.host(), "localhost");
  EXPECT_EQ(sample.metadata().fields().at("owner").string_value(), "team-a");
  EXPECT_EQ(sample.metadata().fields().at("replicas").number_value(), 3);
  EXPECT_FALSE(sample.metadata().fields().at("canary").bool_value());
  const auto& list = sample.metadata().fields().at("nested").struct_value().fields().at("list");
  ASSERT_EQ(list.list_value().values_size(), 3);
  EXPECT_EQ(list.list_value().values(1).string_value(), "two");
  EXPECT_TRUE(sample.has_flag());
  EXPECT_FALSE(sample.flag().value());
  EXPECT_EQ(sample.endpoint().host(), "127.0.0.2");
  EXPECT_TRUE(sample.has_retries());
  EXPECT_EQ(sample.required_color(), weft::test::GREEN);  // set through its JSON name
}

TEST(YamlToProtoTest, SyntaxErrorNamesLineAndColumn) {
  weft::test::Sample sample;
  const ConfigErrors errors = load("name: web\nlabels: {a: b\n", sample);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].source, "sample.yaml");
  EXPECT_GT(errors[0].line, 0);
  EXPECT_THAT(errors[0].reason, HasSubstr("YAML syntax error"));
}

TEST(YamlToProtoTest, UnknownFieldSuggestsTheClosestName) {
  const ConfigError error = onlyError("timout: 5s\n");
  EXPECT_EQ(error.line, 5);
  EXPECT_EQ(error.column, 1);
  EXPECT_THAT(error.reason, HasSubstr("unknown field 'timout'"));
  EXPECT_THAT(error.reason, HasSubstr("did you mean 'timeout'?"));
  EXPECT_EQ(error.toString(),
            "sample.yaml:5:1: unknown field 'timout' in weft.test.Sample (did you mean "
            "'timeout'?)");
}

TEST(YamlToProtoTest, UnknownNestedFieldHasFullPath) {
  const ConfigError error = onlyError("endpoints:\n  - host: a\n    prot: 80\n");
  EXPECT_EQ(error.field_path, "endpoints[0]");
  EXPECT_EQ(error.line, 7);
  EXPECT_THAT(error.reason, HasSubstr("did you mean 'port'?"));
}

TEST(YamlToProtoTest, WrongTypesAreErrors) {
  EXPECT_THAT(onlyError("count: many\n").reason, HasSubstr("expected an integer"));
  EXPECT_THAT(onlyError("enabled: yes\n").reason, HasSubstr("expected true or false"));
  EXPECT_THAT(onlyError("ratio: [1]\n").reason, HasSubstr("expected a number, found a list"));
  EXPECT_THAT(onlyError("endpoints: {host: a}\n").reason, HasSubstr("expected a list"));
  EXPECT_THAT(onlyError("primary: localhost\n").reason, HasSubstr("expected a map"));
  EXPECT_THAT(onlyError("labels: [a]\n").reason, HasSubstr("expected a map"));
  EXPECT_THAT(onlyError("color: BLUE\n").reason,
              HasSubstr("unknown value \"BLUE\" for weft.test.Color (expected one of: "
                        "COLOR_UNSPECIFIED, RED, GREEN)"));
  EXPECT_THAT(onlyError("timeout: 5\n").reason, HasSubstr("missing unit"));
  EXPECT_THAT(onlyError("blob: '***'\n").reason, HasSubstr("invalid base64"));
  const ConfigError wrapper = onlyError("primary: {host: a, weight: heavy}\n");
  EXPECT_EQ(wrapper.field_path, "primary.weight");
}

TEST(YamlToProtoTest, OutOfRangeNumbersAreErrors) {
  EXPECT_THAT(onlyError("small: 2147483648\n").reason, HasSubstr("out of range"));
  EXPECT_THAT(onlyError("count: -1\n").reason, HasSubstr("must not be negative"));
  EXPECT_THAT(onlyError("huge: 18446744073709551616\n").reason, HasSubstr("out of range"));
  EXPECT_THAT(onlyError("scale: 1e39\n").reason, HasSubstr("out of range for a float"));
  EXPECT_THAT(onlyError("ratio: .nan\n").reason, HasSubstr("finite number"));
}

TEST(YamlToProtoTest, DeclaredBoundsAreCheckedWithPosition) {
  const ConfigError port = onlyError("endpoints:\n  - host: a\n    port: 70000\n");
  EXPECT_EQ(port.field_path, "endpoints[0].port");
  EXPECT_EQ(port.line, 7);
  EXPECT_THAT(port.reason, HasSubstr("must be at most 65535, got 70000"));
  const ConfigError timeout = onlyError("timeout: 2h\n");
  EXPECT_THAT(timeout.reason, HasSubstr("must be at most 1h, got 2h"));
  const ConfigError weight = onlyError("primary: {host: a, weight: 0}\n");
  EXPECT_EQ(weight.field_path, "primary.weight");
  EXPECT_THAT(weight.reason, HasSubstr("must be at least 1, got 0"));
}

TEST(YamlToProtoTest, MissingRequiredFieldPointsAtTheParent) {
  weft::test::Sample sample;
  const ConfigErrors errors = load(
      "name: web\ncluster: c\nretries: 1\nrequired_color: RED\nprimary:\n  port: 80\n", sample);
  ASSERT_EQ(errors.size(), 1u) << formatErrors(errors);
  EXPECT_EQ(errors[0].field_path, "primary.host");
  EXPECT_EQ(errors[0].reason, "is required");
  EXPECT_EQ(errors[0].line, 6);  // the map that lacks the field
}

TEST(YamlToProtoTest, AllMissingRequiredFieldsAreReported) {
  weft::test::Sample sample;
  const ConfigErrors errors = load("small: 1\n", sample);
  std::vector<std::string> paths;
  for (const auto& error : errors) {
    paths.push_back(error.field_path + ": " + error.reason);
  }
  EXPECT_THAT(paths, ::testing::UnorderedElementsAre(
                         "name: is required", "retries: is required",
                         "required_color: is required (COLOR_UNSPECIFIED is not a valid choice)",
                         ": one of cluster, endpoint is required"));
}

TEST(YamlToProtoTest, DuplicateKeysAreErrors) {
  EXPECT_THAT(onlyError("small: 1\nsmall: 2\n").reason, HasSubstr("more than once"));
  // The same field under its proto name and its JSON name.
  EXPECT_THAT(onlyError("required_color: RED\n").reason, HasSubstr("more than once"));
  EXPECT_THAT(onlyError("labels: {a: x, a: y}\n").reason, HasSubstr("more than once"));
}

TEST(YamlToProtoTest, TwoMembersOfAOneofAreAnError) {
  const ConfigError error = onlyError("endpoint: {host: a}\n");
  EXPECT_EQ(error.field_path, "endpoint");
  EXPECT_THAT(error.reason, HasSubstr("only one of the 'target' fields may be set"));
}

TEST(YamlToProtoTest, EmptyValuesAreErrorsNotSilentlyIgnored) {
  EXPECT_THAT(onlyError("timeout:\n").reason, HasSubstr("has no value"));
  EXPECT_THAT(onlyError("tags: [a, ~]\n").reason, HasSubstr("list entry has no value"));
}

// The injected sidecar's bootstrap gets its pod addresses from the kubelet's expansion of
// $(POD_IPS) inside a flow sequence: no quotes and no space after the comma, and an IPv6
// address full of colons. Each must arrive as one whole string (a colon in a flow sequence
// could otherwise start a single-pair mapping).
TEST(YamlToProtoTest, ExpandedPodAddressesLoadAsOneStringEach) {
  weft::test::Sample sample;
  const ConfigErrors errors =
      load(std::string(kValidBase) + "tags: [10.244.0.5,fd00:10:244::5]\n", sample);
  ASSERT_TRUE(errors.empty()) << formatErrors(errors);
  ASSERT_EQ(sample.tags_size(), 2);
  EXPECT_EQ(sample.tags(0), "10.244.0.5");
  EXPECT_EQ(sample.tags(1), "fd00:10:244::5");
  // IPv6 first, and an address that starts with a colon.
  ASSERT_TRUE(load(std::string(kValidBase) + "tags: [::1,10.0.0.1]\n", sample).empty());
  ASSERT_EQ(sample.tags_size(), 2);
  EXPECT_EQ(sample.tags(0), "::1");
  EXPECT_EQ(sample.tags(1), "10.0.0.1");
}

TEST(YamlToProtoTest, PatternLengthAndUniquenessRules) {
  weft::test::Sample sample;
  ConfigErrors errors = load("name: Web_1\ncluster: c\nretries: 1\nrequired_color: RED\n", sample);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0].reason, HasSubstr("does not match the pattern"));
  errors = load("name: abcdefghijklmnopqrstuvwxyz\ncluster: c\nretries: 1\nrequired_color: RED\n",
                sample);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0].reason, HasSubstr("at most 20 bytes"));
  const ConfigError duplicate = onlyError("tags: [a, b, a]\n");
  EXPECT_EQ(duplicate.field_path, "tags[2]");
  EXPECT_THAT(duplicate.reason, HasSubstr("duplicate entry \"a\""));
  const ConfigError too_many =
      onlyError("endpoints: [{host: a}, {host: b}, {host: c}, {host: d}]\n");
  EXPECT_THAT(too_many.reason, HasSubstr("at most 3 entries, has 4"));
}

TEST(YamlToProtoTest, UnknownAnyTypeIsAnError) {
  const ConfigError error = onlyError("extension: {\"@type\": type.googleapis.com/no.Such}\n");
  EXPECT_EQ(error.field_path, "extension.@type");
  EXPECT_THAT(error.reason, HasSubstr("unknown type"));
  EXPECT_THAT(onlyError("extension: {host: a}\n").reason, HasSubstr("missing \"@type\""));
}

TEST(YamlToProtoTest, DocumentShapeErrors) {
  weft::test::Sample sample;
  EXPECT_THAT(load("", sample).front().reason, HasSubstr("document is empty"));
  EXPECT_THAT(load("- a\n- b\n", sample).front().reason, HasSubstr("must be a map"));
  EXPECT_THAT(load("name: a\n---\nname: b\n", sample).front().reason,
              HasSubstr("expected one YAML document, found 2"));
}

TEST(YamlToProtoTest, AliasExpansionIsBounded) {
  // Each level doubles the work; without a node budget this would take ages.
  std::string text = "a0: &a0 [x, x]\n";
  for (int i = 1; i < 40; ++i) {
    text += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [*a" + std::to_string(i - 1) +
            ", *a" + std::to_string(i - 1) + "]\n";
  }
  text += "metadata: {bomb: *a39}\n";
  weft::test::Sample sample;
  YamlLimits limits;
  limits.max_nodes = 10'000;
  const ConfigErrors errors = loadYaml(text, "bomb.yaml", sample, limits);
  ASSERT_FALSE(errors.empty());
  bool budget_hit = false;
  for (const auto& error : errors) {
    budget_hit |= error.reason.find("document too large") != std::string::npos;
  }
  EXPECT_TRUE(budget_hit) << formatErrors(errors);
}

TEST(YamlToProtoTest, DeepNestingIsBounded) {
  std::string text = std::string(kValidBase) + "metadata: ";
  for (int i = 0; i < 200; ++i) {
    text += "{a: ";
  }
  text += "1";
  for (int i = 0; i < 200; ++i) {
    text += "}";
  }
  text += "\n";
  weft::test::Sample sample;
  const ConfigErrors errors = load(text, sample);
  ASSERT_FALSE(errors.empty());
  EXPECT_THAT(errors.front().reason, HasSubstr("nesting deeper than"));
}

TEST(YamlToProtoTest, OverlongKeysAreRejectedWithoutQuadraticWork) {
  // An anchored 100 KB key repeated through aliases: each use must be cheap.
  std::string text =
      std::string(kValidBase) + "metadata:\n  ? &k " + std::string(100'000, 'k') + "\n  : 1\n";
  for (int i = 0; i < 200; ++i) {
    text += "unknown" + std::to_string(i) + ": {*k : 1}\n";
  }
  weft::test::Sample sample;
  const ConfigErrors errors = load(text, sample);
  ASSERT_FALSE(errors.empty());
  EXPECT_THAT(errors.front().reason, HasSubstr("longer than the limit of 1024"));
  EXPECT_LE(errors.size(), kMaxReportedErrors);
}

TEST(YamlToProtoTest, FieldPathMemoryIsBounded) {
  std::string text = std::string(kValidBase) + "metadata:\n";
  for (int i = 0; i < 100; ++i) {
    text += "  \"" + std::string(1000, 'a' + i % 26) + std::to_string(i) + "\": [1, 2, 3, 4]\n";
  }
  weft::test::Sample sample;
  YamlLimits limits;
  limits.max_path_bytes = 50'000;
  const ConfigErrors errors = loadYaml(text, "paths.yaml", sample, limits);
  ASSERT_FALSE(errors.empty());
  EXPECT_THAT(errors.back().reason, HasSubstr("field paths exceed 50000 bytes"));
}

TEST(YamlToProtoTest, OversizedDocumentIsRejectedBeforeParsing) {
  weft::test::Sample sample;
  YamlLimits limits;
  limits.max_document_bytes = 16;
  const ConfigErrors errors = loadYaml(kValidBase, "big.yaml", sample, limits);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0].reason, HasSubstr("larger than the limit"));
}

TEST(YamlToProtoTest, ManyErrorsAreCapped) {
  std::string text(kValidBase);
  for (int i = 0; i < 200; ++i) {
    text += "unknown" + std::to_string(i) + ": 1\n";
  }
  weft::test::Sample sample;
  EXPECT_EQ(load(text, sample).size(), kMaxReportedErrors);
}

TEST(YamlToProtoTest, FileErrorsNameTheFile) {
  weft::test::Sample sample;
  const ConfigErrors missing = loadYamlFile("/nonexistent/weft.yaml", sample);
  ASSERT_EQ(missing.size(), 1u);
  EXPECT_THAT(missing[0].toString(), HasSubstr("/nonexistent/weft.yaml: cannot open file"));

  const std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("weft_config_test_" + std::to_string(getpid()));
  {
    std::ofstream file(path);
    file << kValidBase << "port: 1\n";
  }
  const ConfigErrors errors = loadYamlFile(path.string(), sample);
  std::filesystem::remove(path);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].source, path.string());
  EXPECT_EQ(errors[0].line, 5);
}

TEST(YamlToProtoTest, LoadsANodeOfALargerDocumentWithPrefixedPathsAndItsPositions) {
  const YAML::Node document = YAML::Load(R"(kind: Sample
spec:
  name: web
  cluster: backend
  retries: 2
  required_color: RED
  endpoints:
    - host: a
      prot: 80
)");
  weft::test::Sample sample;
  ConfigErrors errors = loadYamlNode(document["spec"], "sample.yaml", "spec", sample);
  ASSERT_EQ(errors.size(), 1u) << formatErrors(errors);
  EXPECT_EQ(errors[0].field_path, "spec.endpoints[0]");
  EXPECT_EQ(errors[0].line, 9);  // a line of the whole document
  EXPECT_THAT(errors[0].reason, HasSubstr("unknown field 'prot'"));

  // Validator findings get the prefix and the position of the closest written field.
  const YAML::Node invalid =
      YAML::Load("spec:\n  cluster: c\n  retries: 20\n  name: x\n  required_color: RED\n");
  errors = loadYamlNode(invalid["spec"], "sample.yaml", "spec", sample);
  ASSERT_EQ(errors.size(), 1u) << formatErrors(errors);
  EXPECT_EQ(errors[0].field_path, "spec.retries");
  EXPECT_EQ(errors[0].line, 3);

  const YAML::Node scalar = YAML::Load("spec: 5\n");
  errors = loadYamlNode(scalar["spec"], "sample.yaml", "spec", sample);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].field_path, "spec");
  EXPECT_THAT(errors[0].reason, HasSubstr("expected a map of fields, found a scalar"));
}

TEST(YamlToProtoTest, CallerChecksArePrefixedAndPositioned) {
  const YAML::Node document = YAML::Load(
      "spec:\n  name: web\n  cluster: c\n  retries: 1\n  required_color: RED\n"
      "  endpoints:\n    - host: a\n    - host: b\n      port: 81\n");
  weft::test::Sample sample;
  const MessageCheck check = [](const google::protobuf::Message& message) {
    const auto& loaded = static_cast<const weft::test::Sample&>(message);
    ConfigErrors errors;
    if (loaded.endpoints_size() == 2) {
      errors.push_back(ConfigError{"", "endpoints[1].port", 0, 0, "must equal the first port"});
      errors.push_back(ConfigError{"", "", 0, 0, "whole-message problem"});
    }
    return errors;
  };
  const ConfigErrors errors =
      loadYamlNode(document["spec"], "checked.yaml", "spec", sample, {}, check);
  ASSERT_EQ(errors.size(), 2u) << formatErrors(errors);
  EXPECT_EQ(errors[0].toString(),
            "checked.yaml:9:13: spec.endpoints[1].port: must equal the first port");
  EXPECT_EQ(errors[1].field_path, "spec");
  EXPECT_EQ(errors[1].line, 2);
  // Without a prefix the paths stay relative to the message, as with loadYaml.
  const ConfigErrors unprefixed =
      loadYamlNode(document["spec"], "checked.yaml", "", sample, {}, check);
  ASSERT_EQ(unprefixed.size(), 2u);
  EXPECT_EQ(unprefixed[0].field_path, "endpoints[1].port");
  // A node that is not a map fails without running the check.
  EXPECT_EQ(loadYamlNode(YAML::Load("[1]"), "checked.yaml", "spec", sample, {}, check).size(), 1u);
}

}  // namespace
}  // namespace weft::config
