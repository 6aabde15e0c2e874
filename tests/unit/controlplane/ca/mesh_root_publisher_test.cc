// The mesh root ConfigMap apart from the network: when it is already right, and what is written
// to create or replace it. The wire side (creation, replacement, a root rotation, retries after
// API errors) is tests/integration/mesh_root_test.py.
#include "controlplane/ca/mesh_root_publisher.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace weft::controlplane::ca {
namespace {

namespace json = boost::json;

const std::string kBundle = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

json::object configMap(std::string_view text) {
  return json::parse(text).as_object();
}

TEST(MeshRootConfigMapTest, ANewConfigMapHoldsTheBundleAndTheLabel) {
  MeshRootPublisherOptions where;
  where.namespace_ = "mesh";
  where.name = "roots";
  const json::object created = configMap(meshRootConfigMap(where, kBundle, nullptr));
  EXPECT_EQ(created.at("apiVersion").as_string(), "v1");
  EXPECT_EQ(created.at("kind").as_string(), "ConfigMap");
  const json::object& metadata = created.at("metadata").as_object();
  EXPECT_EQ(metadata.at("namespace").as_string(), "mesh");
  EXPECT_EQ(metadata.at("name").as_string(), "roots");
  EXPECT_FALSE(metadata.contains("resourceVersion"));
  EXPECT_EQ(metadata.at("labels").at("app.kubernetes.io/part-of").as_string(), "weft");
  EXPECT_EQ(created.at("data"), (json::object{{"root-cert.pem", kBundle}}));
  EXPECT_TRUE(meshRootUpToDate(created, kBundle));
}

TEST(MeshRootConfigMapTest, AReplacementDropsOtherDataAndKeepsTheMetadata) {
  const json::object current = configMap(R"({
    "kind": "ConfigMap", "apiVersion": "v1",
    "metadata": {"name": "weft-mesh-root", "namespace": "weft-system", "resourceVersion": "42",
                 "labels": {"team": "platform"}, "annotations": {"note": "kept"}},
    "data": {"root-cert.pem": "old", "other": "x"},
    "binaryData": {"blob": "AAAA"}})");
  EXPECT_FALSE(meshRootUpToDate(current, kBundle));
  const json::object replaced =
      configMap(meshRootConfigMap(MeshRootPublisherOptions{}, kBundle, &current));
  const json::object& metadata = replaced.at("metadata").as_object();
  // Conditional on what was read: a change made meanwhile makes the PUT fail with 409.
  EXPECT_EQ(metadata.at("resourceVersion").as_string(), "42");
  EXPECT_EQ(metadata.at("labels").at("team").as_string(), "platform");
  EXPECT_EQ(metadata.at("labels").at("app.kubernetes.io/part-of").as_string(), "weft");
  EXPECT_EQ(metadata.at("annotations").at("note").as_string(), "kept");
  EXPECT_EQ(replaced.at("data"), (json::object{{"root-cert.pem", kBundle}}));
  EXPECT_FALSE(replaced.contains("binaryData"));
  EXPECT_TRUE(meshRootUpToDate(replaced, kBundle));
}

TEST(MeshRootConfigMapTest, OnlyTheExactBundleAloneWithTheLabelIsUpToDate) {
  const std::string labels = R"("metadata": {"labels": {"app.kubernetes.io/part-of": "weft"}})";
  auto with = [&](const std::string& rest) {
    return configMap("{" + labels + (rest.empty() ? "" : ", " + rest) + "}");
  };
  const std::string encoded = json::serialize(json::value(kBundle));
  EXPECT_TRUE(meshRootUpToDate(with(R"("data": {"root-cert.pem": )" + encoded + "}"), kBundle));
  EXPECT_FALSE(meshRootUpToDate(with(""), kBundle));
  EXPECT_FALSE(meshRootUpToDate(with(R"("data": {"root-cert.pem": "other"})"), kBundle));
  EXPECT_FALSE(meshRootUpToDate(
      with(R"("data": {"root-cert.pem": )" + encoded + R"(, "extra": "x"})"), kBundle));
  EXPECT_FALSE(meshRootUpToDate(
      with(R"("data": {"root-cert.pem": )" + encoded + R"(}, "binaryData": {"b": "AA=="})"),
      kBundle));
  EXPECT_FALSE(meshRootUpToDate(
      configMap(R"({"metadata": {}, "data": {"root-cert.pem": )" + encoded + "}}"), kBundle));
  // Fields of the wrong type read as absent instead of failing.
  EXPECT_FALSE(meshRootUpToDate(configMap(R"({"metadata": 7, "data": []})"), kBundle));
  const json::object odd = configMap(R"({"metadata": "x", "data": "y"})");
  EXPECT_TRUE(meshRootUpToDate(
      configMap(meshRootConfigMap(MeshRootPublisherOptions{}, kBundle, &odd)), kBundle));
}

}  // namespace
}  // namespace weft::controlplane::ca
