#include "cli/manifest_bundle.h"

#include <algorithm>
#include <map>
#include <set>

#include "cli/yaml_output.h"

namespace weft::cli {
namespace {

using Files = std::map<std::string, std::string_view, std::less<>>;

std::string joinPath(const std::string& dir, const std::string& name) {
  return dir.empty() ? name : dir + "/" + name;
}

std::string baseName(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

class BundleReader {
 public:
  explicit BundleReader(const Files& files) : files_(files) {}

  // Reads the kustomization in `dir` ("" for the root) into bundle_.
  bool readKustomization(const std::string& dir, int depth) {
    const std::string path = joinPath(dir, "kustomization.yaml");
    if (depth > 8) {
      return fail(path + ": kustomizations nested more than 8 deep");
    }
    const auto file = files_.find(path);
    if (file == files_.end()) {
      return fail("no " + path + " among the embedded manifests");
    }
    YAML::Node kustomization;
    try {
      kustomization = YAML::Load(std::string(file->second));
    } catch (const YAML::Exception& error) {
      return fail(path + ": " + error.what());
    }
    if (!kustomization.IsMap()) {
      return fail(path + ": not a YAML map");
    }
    static const std::set<std::string> kKnown = {"apiVersion", "kind", "resources",
                                                 "configMapGenerator", "generatorOptions"};
    for (const auto& entry : kustomization) {
      const std::string key = entry.first.as<std::string>();
      if (!kKnown.contains(key)) {
        return fail(path + ": " + key + " is not understood by weftctl install");
      }
    }
    if (const YAML::Node kind = kustomization["kind"];
        kind && kind.as<std::string>() != "Kustomization") {
      return fail(path + ": kind is not Kustomization");
    }
    if (const YAML::Node resources = kustomization["resources"]) {
      if (!resources.IsSequence()) {
        return fail(path + ": resources is not a list");
      }
      for (const YAML::Node& resource : resources) {
        const std::string entry = joinPath(dir, resource.as<std::string>());
        const bool ok =
            files_.contains(entry) ? readDocuments(entry) : readKustomization(entry, depth + 1);
        if (!ok) {
          return false;
        }
      }
    }
    if (const YAML::Node generators = kustomization["configMapGenerator"]) {
      const YAML::Node options = kustomization["generatorOptions"];
      if (!options || !options.IsMap() || options.size() != 1 ||
          !options["disableNameSuffixHash"] || !options["disableNameSuffixHash"].as<bool>()) {
        return fail(path +
                    ": configMapGenerator needs generatorOptions: {disableNameSuffixHash: "
                    "true} and nothing else (weftctl install does not compute kustomize's "
                    "name hash)");
      }
      if (!generators.IsSequence()) {
        return fail(path + ": configMapGenerator is not a list");
      }
      for (const YAML::Node& generator : generators) {
        if (!generateConfigMap(path, dir, generator)) {
          return false;
        }
      }
    } else if (kustomization["generatorOptions"]) {
      return fail(path + ": generatorOptions without configMapGenerator");
    }
    return true;
  }

  ManifestBundle take() { return std::move(bundle_); }

 private:
  bool fail(std::string message) {
    bundle_.error = std::move(message);
    return false;
  }

  bool readDocuments(const std::string& path) {
    std::vector<YAML::Node> documents;
    try {
      documents = YAML::LoadAll(std::string(files_.find(path)->second));
    } catch (const YAML::Exception& error) {
      return fail(path + ": " + error.what());
    }
    for (YAML::Node& document : documents) {
      if (document.IsNull()) {
        continue;  // an empty document ("---" at the end)
      }
      if (!document.IsMap()) {
        return fail(path + ": a document is not a YAML map");
      }
      bundle_.documents.push_back({document, path});
    }
    return true;
  }

  bool generateConfigMap(const std::string& path, const std::string& dir,
                         const YAML::Node& generator) {
    static const std::set<std::string> kKnown = {"name", "namespace", "files", "options"};
    for (const auto& entry : generator) {
      if (!kKnown.contains(entry.first.as<std::string>())) {
        return fail(path + ": configMapGenerator." + entry.first.as<std::string>() +
                    " is not understood by weftctl install");
      }
    }
    if (!generator["name"] || !generator["files"] || !generator["files"].IsSequence()) {
      return fail(path + ": a configMapGenerator entry needs a name and a list of files");
    }
    YAML::Node config_map;
    config_map["apiVersion"] = "v1";
    config_map["kind"] = "ConfigMap";
    YAML::Node metadata;
    metadata["name"] = generator["name"].as<std::string>();
    if (generator["namespace"]) {
      metadata["namespace"] = generator["namespace"].as<std::string>();
    }
    if (const YAML::Node options = generator["options"]) {
      for (const auto& entry : options) {
        if (entry.first.as<std::string>() != "labels") {
          return fail(path + ": configMapGenerator options." + entry.first.as<std::string>() +
                      " is not understood by weftctl install");
        }
      }
      YAML::Node labels;
      for (const auto& label : options["labels"]) {
        labels[label.first.as<std::string>()] = textNode(label.second.as<std::string>());
      }
      metadata["labels"] = labels;
    }
    config_map["metadata"] = metadata;
    // Keys sorted, as kustomize writes them.
    std::map<std::string, std::string> data;
    for (const YAML::Node& entry : generator["files"]) {
      const std::string text = entry.as<std::string>();
      const size_t equals = text.find('=');
      const std::string key = equals == std::string::npos ? baseName(text) : text.substr(0, equals);
      const std::string file =
          joinPath(dir, equals == std::string::npos ? text : text.substr(equals + 1));
      const auto content = files_.find(file);
      if (content == files_.end()) {
        return fail(path + ": configMapGenerator names " + file +
                    ", which is not among the embedded manifests");
      }
      if (!data.emplace(key, std::string(content->second)).second) {
        return fail(path + ": configMapGenerator " + metadata["name"].as<std::string>() +
                    " has the key " + key + " twice");
      }
    }
    YAML::Node data_node;
    for (const auto& [key, value] : data) {
      data_node[key] = textNode(value);
    }
    config_map["data"] = data_node;
    bundle_.documents.push_back({config_map, "configMapGenerator"});
    return true;
  }

  const Files& files_;
  ManifestBundle bundle_;
};

}  // namespace

ManifestBundle readManifestBundle(std::span<const EmbeddedFile> files) {
  Files by_path;
  for (const EmbeddedFile& file : files) {
    by_path.emplace(std::string(file.path), file.content);
  }
  BundleReader reader(by_path);
  try {
    reader.readKustomization("", 0);
  } catch (const YAML::Exception& error) {
    // A field of the wrong shape (a map where a name belongs): as<std::string>() throws.
    ManifestBundle bundle;
    bundle.error = std::string("kustomization: ") + error.what();
    return bundle;
  }
  return reader.take();
}

}  // namespace weft::cli
