// YAML to JSON as Kubernetes reads it: plain scalars resolved by go-yaml v2's rules (which
// sigs.k8s.io/yaml uses), quoted ones always strings, keys made strings, merges, aliases, and
// errors that name the field.
#include "cli/yaml_to_json.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace weft::cli {
namespace {

namespace json = boost::json;

json::value resolved(std::string_view text) {
  json::value out;
  EXPECT_TRUE(resolvePlainScalar(text, out)) << text;
  return out;
}

json::value converted(const std::string& yaml) {
  json::value out;
  std::string error;
  EXPECT_TRUE(yamlToJson(YAML::Load(yaml), out, error)) << error;
  return out;
}

std::string conversionError(const std::string& yaml) {
  json::value out;
  std::string error;
  EXPECT_FALSE(yamlToJson(YAML::Load(yaml), out, error)) << json::serialize(out);
  return error;
}

TEST(YamlToJsonTest, PlainIntegersAsGoParsesThem) {
  const std::vector<std::pair<std::string, int64_t>> cases = {{"8080", 8080},
                                                              {"-12", -12},
                                                              {"+5", 5},
                                                              {"0", 0},
                                                              {"0755", 493},
                                                              {"0o17", 15},
                                                              {"0x1F", 31},
                                                              {"-0x10", -16},
                                                              {"0b101", 5},
                                                              {"1_000", 1000},
                                                              {"0_7", 7},
                                                              {"9223372036854775807", INT64_MAX},
                                                              {"-9223372036854775808", INT64_MIN}};
  for (const auto& [text, number] : cases) {
    const json::value value = resolved(text);
    ASSERT_TRUE(value.is_int64()) << text << " -> " << json::serialize(value);
    EXPECT_EQ(value.get_int64(), number) << text;
  }
  const json::value big = resolved("9223372036854775808");
  ASSERT_TRUE(big.is_uint64());
  EXPECT_EQ(big.get_uint64(), 9223372036854775808ull);
}

TEST(YamlToJsonTest, PlainFloatsIncludingWhatLooksOctalButIsNot) {
  const std::vector<std::pair<std::string, double>> cases = {
      {"08", 8.0},
      {"09.5", 9.5},
      {"1e3", 1000.0},
      {"1E3", 1000.0},
      {".5", 0.5},
      {"-.5", -0.5},
      {"+.5", 0.5},
      {"0.5", 0.5},
      {"1.", 1.0},
      {"1_000.5", 1000.5},
      {"18446744073709551616", 18446744073709551616.0},
      {"1e-400", 0.0}};
  for (const auto& [text, number] : cases) {
    const json::value value = resolved(text);
    ASSERT_TRUE(value.is_double()) << text << " -> " << json::serialize(value);
    EXPECT_DOUBLE_EQ(value.get_double(), number) << text;
  }
}

TEST(YamlToJsonTest, BooleansAndNullsOfYaml11) {
  for (const char* text :
       {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", "y", "Y"}) {
    EXPECT_EQ(resolved(text), json::value(true)) << text;
  }
  for (const char* text :
       {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", "n", "N"}) {
    EXPECT_EQ(resolved(text), json::value(false)) << text;
  }
  for (const char* text : {"", "~", "null", "Null", "NULL"}) {
    EXPECT_TRUE(resolved(text).is_null()) << text;
  }
}

TEST(YamlToJsonTest, EverythingElseIsText) {
  for (const char* text : {"0.0.0.0:9443", "1.0.0", "1:30", "2024-05-01", "2024-05-01T10:00:00Z",
                           "_1",           "-",     "0x",   ".",          ".e3",
                           "1e400",        "tRUE",  "nul",  "-.nan",      "1e",
                           "0x1p3",        "10m",   "64Mi", "<<",         "=",
                           "nginx:1.25"}) {
    EXPECT_EQ(resolved(text), json::value(text)) << text;
  }
}

TEST(YamlToJsonTest, InfinityAndNanAreNoJson) {
  json::value out;
  for (const char* text : {".inf", "-.Inf", "+.INF", ".nan", ".NaN"}) {
    EXPECT_FALSE(resolvePlainScalar(text, out)) << text;
  }
  EXPECT_EQ(conversionError("spec:\n  containers:\n  - x: 1\n  - ports:\n    - port: .inf\n"),
            "spec.containers[1].ports[0].port: .inf is not a number JSON can hold (infinity or "
            "NaN)");
}

TEST(YamlToJsonTest, QuotedAndBlockScalarsAreAlwaysText) {
  EXPECT_EQ(converted("a: \"8080\"\nb: 'true'\nc: |\n  08\nd: >-\n  null\ne: \"\"\nf: 8080\n"),
            json::parse(R"({"a":"8080","b":"true","c":"08\n","d":"null","e":"","f":8080})"));
}

TEST(YamlToJsonTest, ExplicitTagsAsGoYamlTakesThem) {
  EXPECT_EQ(converted("a: !!str 12\nb: !!int \"12\"\nc: !!float 1\nd: !local 5\ne: !!bool yes\n"),
            json::parse(R"({"a":"12","b":12,"c":1.0,"d":"5","e":true})"));
  EXPECT_EQ(conversionError("spec:\n  count: !!int abc\n"),
            "spec.count: \"abc\" does not fit its tag tag:yaml.org,2002:int");
  EXPECT_EQ(conversionError("a: !!binary aGk=\n"),
            "a: !!binary values are not supported; give the text");
}

TEST(YamlToJsonTest, KeysBecomeStringsAsSigsK8sYamlMakesThem) {
  EXPECT_EQ(converted("8080: a\ntrue: b\n0x10: c\n\"yes\": d\nplain: e\n"),
            json::parse(R"({"8080":"a","true":"b","16":"c","yes":"d","plain":"e"})"));
  EXPECT_EQ(conversionError("a:\n  1.5: x\n"), "a: map key 1.5 is a fractional number; quote it");
  EXPECT_EQ(conversionError("a:\n  ~: x\n"), "a: a null map key");
  EXPECT_EQ(conversionError("a:\n  [1]: x\n"), "a: a map key that is not a scalar");
}

TEST(YamlToJsonTest, ADuplicateKeyIsAnError) {
  EXPECT_EQ(conversionError("metadata:\n  labels:\n    app: a\n    app: b\n"),
            "metadata.labels.app: the key appears twice");
}

TEST(YamlToJsonTest, AliasesExpandAndMergeKeysMerge) {
  EXPECT_EQ(converted("base: &base {a: 1, b: 2}\n"
                      "more: &more {c: 3}\n"
                      "one:\n  <<: *base\n  b: 20\n"
                      "two:\n  <<: [*more, {c: 30, d: 4}]\n"
                      "same: *more\n"),
            json::parse(R"({"base":{"a":1,"b":2},"more":{"c":3},"one":{"b":20,"a":1},)"
                        R"("two":{"c":3,"d":4},"same":{"c":3}})"));
  EXPECT_EQ(conversionError("a:\n  <<: 5\n"), "a.<<: a merge key takes a map or a list of maps");
}

TEST(YamlToJsonTest, BoundedAgainstAliasBombsAndDeepNesting) {
  // Ten times ten times ... lists of the one before: 10^8 values from a few lines.
  std::string bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 7; ++i) {
    bomb += "a" + std::to_string(i) + ": &a" + std::to_string(i) + "\n";
    for (int j = 0; j < 10; ++j) {
      bomb += "- *a" + std::to_string(i - 1) + "\n";
    }
  }
  EXPECT_NE(conversionError(bomb).find("more than a million values"), std::string::npos);

  // yaml-cpp refuses deep text itself; aliases of aliases nest without that check.
  std::string deep = "a0: &a0 [1]\n";
  for (int i = 1; i < 600; ++i) {
    deep += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [*a" + std::to_string(i - 1) +
            "]\n";
  }
  EXPECT_NE(conversionError(deep).find("nested more than 512 levels deep"), std::string::npos);
}

}  // namespace
}  // namespace weft::cli
