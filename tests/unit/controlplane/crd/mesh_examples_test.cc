// The mesh API examples in docs/examples/mesh/ must be what they claim: manifests that the
// control plane's loader reads into their Spec messages without a complaint, and that the
// generated CRDs accept.
#include <google/protobuf/message.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <set>

#include "common/config/yaml_to_proto.h"
#include "controlplane/crd/crd_generator.h"
#include "controlplane/crd/crd_kinds.h"
#include "tests/unit/controlplane/crd/schema_conformance.h"

namespace weft::controlplane::crd {
namespace {

const std::filesystem::path kExamples =
    std::filesystem::path(WEFT_SOURCE_DIR) / "docs/examples/mesh";

struct Manifest {
  std::string source;  // "<file>#<document index>"
  YAML::Node document;
};

// Every document of every example file; Services and other non-mesh kinds included.
std::vector<Manifest> loadManifests() {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(kExamples)) {
    if (entry.path().extension() == ".yaml") {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  std::vector<Manifest> manifests;
  for (const auto& file : files) {
    std::vector<YAML::Node> documents;
    try {
      documents = YAML::LoadAllFromFile(file.string());
    } catch (const YAML::Exception& error) {
      ADD_FAILURE() << file << ": " << error.what();
      continue;
    }
    for (size_t i = 0; i < documents.size(); ++i) {
      manifests.push_back({file.filename().string() + "#" + std::to_string(i), documents[i]});
    }
  }
  return manifests;
}

bool isMesh(const YAML::Node& document) {
  return document["apiVersion"] && document["apiVersion"].as<std::string>() == "weft.dev/v1alpha1";
}

const MeshKind* findKind(const std::string& kind) {
  for (const MeshKind& candidate : meshKinds()) {
    if (candidate.kind == kind) {
      return &candidate;
    }
  }
  return nullptr;
}

std::string field(const YAML::Node& document, const std::string& section, const std::string& name) {
  return document[section] && document[section][name] ? document[section][name].as<std::string>()
                                                      : "";
}

TEST(MeshExamplesTest, EveryManifestLoadsIntoItsSpecMessage) {
  const auto manifests = loadManifests();
  ASSERT_GE(manifests.size(), 7u) << "the mesh examples are missing from " << kExamples;
  std::set<std::string> kinds_seen;
  for (const Manifest& manifest : manifests) {
    SCOPED_TRACE(manifest.source);
    if (!isMesh(manifest.document)) {
      // Only the Services the examples refer to are allowed besides the mesh kinds.
      EXPECT_EQ(field(manifest.document, "metadata", "namespace"), "bookinfo");
      EXPECT_EQ(manifest.document["apiVersion"].as<std::string>(), "v1");
      EXPECT_EQ(manifest.document["kind"].as<std::string>(), "Service");
      continue;
    }
    const std::string kind = manifest.document["kind"].as<std::string>();
    const MeshKind* mesh_kind = findKind(kind);
    ASSERT_NE(mesh_kind, nullptr) << "unknown kind " << kind;
    kinds_seen.insert(kind);
    EXPECT_FALSE(field(manifest.document, "metadata", "name").empty());
    EXPECT_FALSE(field(manifest.document, "metadata", "namespace").empty());
    ASSERT_TRUE(manifest.document["spec"]) << "no spec";

    YAML::Emitter emitter;
    emitter << manifest.document["spec"];
    ASSERT_TRUE(emitter.good()) << emitter.GetLastError();
    std::unique_ptr<google::protobuf::Message> message(
        google::protobuf::MessageFactory::generated_factory()
            ->GetPrototype(mesh_kind->spec)
            ->New());
    const config::ConfigErrors errors =
        config::loadYaml(emitter.c_str(), manifest.source, *message);
    EXPECT_TRUE(errors.empty()) << config::formatErrors(errors) << "\n" << emitter.c_str();
  }
  std::set<std::string> all_kinds;
  for (const MeshKind& kind : meshKinds()) {
    all_kinds.insert(std::string(kind.kind));
  }
  EXPECT_EQ(kinds_seen, all_kinds) << "every kind needs an example";
}

TEST(MeshExamplesTest, EveryManifestConformsToItsCrd) {
  std::vector<GeneratedFile> files;
  ASSERT_EQ(generateCrdFiles(files), "");
  std::map<std::string, YAML::Node> schemas;
  for (const GeneratedFile& file : files) {
    const YAML::Node definition = YAML::Load(file.content);
    if (definition["kind"].as<std::string>() == "CustomResourceDefinition") {
      schemas[definition["spec"]["names"]["kind"].as<std::string>()] =
          definition["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
    }
  }
  for (const Manifest& manifest : loadManifests()) {
    if (!isMesh(manifest.document)) {
      continue;
    }
    SCOPED_TRACE(manifest.source);
    const std::string kind = manifest.document["kind"].as<std::string>();
    ASSERT_TRUE(schemas.count(kind) != 0) << kind;
    std::vector<std::string> problems;
    checkConformance(manifest.document, schemas[kind], "", problems);
    for (const std::string& problem : problems) {
      ADD_FAILURE() << problem;
    }
    // The one CEL rule on the object root, by hand.
    if (kind == "MeshConfig") {
      EXPECT_EQ(field(manifest.document, "metadata", "name"), "default");
      EXPECT_EQ(field(manifest.document, "metadata", "namespace"), "weft-system");
    }
  }
}

// The examples refer to each other; the references must hold.
TEST(MeshExamplesTest, ReferencesBetweenTheExamplesResolve) {
  const auto manifests = loadManifests();
  std::map<std::string, std::set<std::string>> subsets;  // host -> subset names
  std::set<std::string> services;
  for (const Manifest& manifest : manifests) {
    const YAML::Node& document = manifest.document;
    if (document["kind"].as<std::string>() == "Service") {
      services.insert(field(document, "metadata", "name"));
    }
    if (document["kind"].as<std::string>() == "DestinationPolicy") {
      for (const YAML::Node& subset : document["spec"]["subsets"]) {
        subsets[document["spec"]["host"].as<std::string>()].insert(
            subset["name"].as<std::string>());
      }
    }
  }
  for (const Manifest& manifest : manifests) {
    SCOPED_TRACE(manifest.source);
    const YAML::Node& document = manifest.document;
    const std::string kind = document["kind"].as<std::string>();
    if (kind == "TrafficRoute") {
      for (const YAML::Node& host : document["spec"]["hosts"]) {
        EXPECT_EQ(services.count(host.as<std::string>()), 1u) << host.as<std::string>();
      }
      for (const YAML::Node& rule : document["spec"]["rules"]) {
        std::vector<YAML::Node> backends;
        for (const YAML::Node& backend : rule["backends"]) {
          backends.push_back(backend);
        }
        if (rule["mirror"]) {
          backends.push_back(rule["mirror"]["backend"]);
        }
        for (const YAML::Node& backend : backends) {
          const std::string service = backend["service"]
                                          ? backend["service"].as<std::string>()
                                          : document["spec"]["hosts"][0].as<std::string>();
          if (backend["subset"]) {
            EXPECT_EQ(subsets[service].count(backend["subset"].as<std::string>()), 1u)
                << service << "/" << backend["subset"].as<std::string>();
          }
        }
      }
    }
    if (kind == "Workload") {
      // Some Service selects the workload by its labels.
      bool selected = false;
      for (const Manifest& other : manifests) {
        if (other.document["kind"].as<std::string>() != "Service") {
          continue;
        }
        bool all = true;
        for (const auto& entry : other.document["spec"]["selector"]) {
          const YAML::Node label = document["metadata"]["labels"][entry.first.as<std::string>()];
          all = all && label && label.as<std::string>() == entry.second.as<std::string>();
        }
        selected = selected || all;
      }
      EXPECT_TRUE(selected) << "no Service selects " << field(document, "metadata", "name");
    }
  }
}

}  // namespace
}  // namespace weft::controlplane::crd
