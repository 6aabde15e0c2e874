#include "controlplane/crd/yaml_writer.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

namespace weft::controlplane::crd {
namespace {

TEST(YamlWriterTest, WritesNestedBlocks) {
  YamlValue root = YamlValue::map();
  YamlValue& names = root.set("names", YamlValue::map());
  names.set("kind", YamlValue::string("TrafficRoute"));
  names.set("shortNames", YamlValue::stringList({"tr"}));
  YamlValue versions = YamlValue::list();
  YamlValue version = YamlValue::map();
  version.set("name", YamlValue::string("v1alpha1"));
  version.set("served", YamlValue::boolean(true));
  version.set("subresources", YamlValue::map());
  versions.push(std::move(version));
  root.set("versions", std::move(versions));
  root.set("empty", YamlValue::list());
  EXPECT_EQ(writeYaml(root),
            "names:\n"
            "  kind: TrafficRoute\n"
            "  shortNames:\n"
            "    - tr\n"
            "versions:\n"
            "  - name: v1alpha1\n"
            "    served: true\n"
            "    subresources: {}\n"
            "empty: []\n");
}

// Kubernetes reads YAML 1.1: these strings must be quoted or they stop being strings.
TEST(YamlWriterTest, QuotesStringsThatYamlWouldReadAsSomethingElse) {
  for (const std::string text :
       {"True", "false", "on", "OFF", "yes", "n", "null", "~", "5xx", "1h30m", "0.5", "1e3", "",
        "a: b", "#x", "-x", "*", "{}", "with space"}) {
    YamlValue root = YamlValue::map();
    root.set("value", YamlValue::string(text));
    const std::string written = writeYaml(root);
    EXPECT_NE(written, "value: " + text + "\n") << "unquoted: " << text;
    const YAML::Node parsed = YAML::Load(written);
    EXPECT_EQ(parsed["value"].as<std::string>(), text);
    EXPECT_NE(parsed["value"].Tag(), "?") << "plain scalar for " << text;
  }
}

TEST(YamlWriterTest, LeavesIdentifiersAndPathsPlain) {
  YamlValue root = YamlValue::map();
  root.set("a", YamlValue::string("weft.dev/v1alpha1"));
  root.set("b", YamlValue::string(".spec.hosts"));
  root.set("c", YamlValue::string("LEAST_REQUEST"));
  EXPECT_EQ(writeYaml(root), "a: weft.dev/v1alpha1\nb: .spec.hosts\nc: LEAST_REQUEST\n");
}

TEST(YamlWriterTest, EscapesQuotesBackslashesAndControlCharacters) {
  for (const std::string& text :
       {std::string("a \"quoted\" word"), std::string("^(?:[A-Z]+|\\*)$"), std::string("it's \\d"),
        std::string("line\nbreak\ttab"), std::string("nul\x01"), std::string("caf\xC3\xA9")}) {
    YamlValue root = YamlValue::map();
    root.set("value", YamlValue::string(text));
    const YAML::Node parsed = YAML::Load(writeYaml(root));
    EXPECT_EQ(parsed["value"].as<std::string>(), text);
  }
  YamlValue root = YamlValue::map();
  root.set("pattern", YamlValue::string("^\\+?[0-9]$"));
  // Single quotes keep a backslash single, as a reader of the CRD expects to see it.
  EXPECT_EQ(writeYaml(root), "pattern: '^\\+?[0-9]$'\n");
}

TEST(YamlWriterTest, WritesNumbersWithoutExponents) {
  YamlValue root = YamlValue::map();
  root.set("a", YamlValue::number(0.001));
  root.set("b", YamlValue::number(100));
  root.set("c", YamlValue::number(4294967295.0));
  root.set("d", YamlValue::number(1e-7));
  root.set("e", YamlValue::integer(-3));
  EXPECT_EQ(writeYaml(root), "a: 0.001\nb: 100\nc: 4294967295\nd: 0.0000001\ne: -3\n");
}

TEST(YamlWriterTest, SetReplacesInPlaceAndOrderKeysSorts) {
  YamlValue root = YamlValue::map();
  root.set("type", YamlValue::string("object"));
  root.set("description", YamlValue::string("x"));
  root.set("type", YamlValue::string("string"));
  root.orderKeys({"description", "type"});
  EXPECT_EQ(writeYaml(root), "description: x\ntype: string\n");
  EXPECT_TRUE(root.erase("description"));
  EXPECT_FALSE(root.erase("description"));
  EXPECT_EQ(writeYaml(root), "type: string\n");
}

}  // namespace
}  // namespace weft::controlplane::crd
