#include "cli/inject_command.h"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include <boost/json/parse.hpp>

#include "cli/workload_pods.h"
#include "cli/yaml_document_writer.h"
#include "cli/yaml_stream.h"
#include "cli/yaml_to_json.h"
#include "common/kube/api_client.h"
#include "common/tls/pem.h"
#include "injector/json_patch.h"

namespace weft::cli {
namespace {

namespace json = boost::json;

constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";
// Manifests are kilobytes; this only stops a wrong file from filling memory.
constexpr size_t kMaxInputBytes = 64 * 1024 * 1024;

std::string stringField(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? std::string(value->get_string()) : "";
}

const json::object* objectField(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value != nullptr ? value->if_object() : nullptr;
}

// "Deployment web" (or the generateName prefix with "*", or the kind alone).
std::string describeObject(const json::object& object) {
  std::string name;
  if (const json::object* metadata = objectField(object, "metadata")) {
    name = stringField(*metadata, "name");
    if (name.empty() && !stringField(*metadata, "generateName").empty()) {
      name = stringField(*metadata, "generateName") + "*";
    }
  }
  const std::string kind = stringField(object, "kind");
  return name.empty() ? kind : kind + " " + name;
}

std::string scalarOf(const YAML::Node& map, const char* key) {
  const YAML::Node value = map[key];
  return value.IsDefined() && value.IsScalar() ? value.Scalar() : "";
}

// One document's objects: the document itself, or the items of a v1 List.
class DocumentInjector {
 public:
  DocumentInjector(const std::string& prefix, const std::string& default_namespace,
                   const PodInjector& inject, InjectedStream& report)
      : prefix_(prefix), default_namespace_(default_namespace), inject_(inject), report_(report) {}

  // Injects `object` if it runs pods; true when it changed.
  bool injectObject(json::object& object, const std::string& where) {
    const auto path =
        podTemplatePath(stringField(object, "apiVersion"), stringField(object, "kind"));
    if (!path) {
      return false;
    }
    const std::string label = where + " (" + describeObject(object) + ")";
    json::object pod;
    std::string error;
    if (!extractPod(object, *path, pod, error)) {
      return refuse(label, error);
    }
    std::string namespace_name = default_namespace_;
    if (const json::object* metadata = objectField(object, "metadata")) {
      if (const std::string own = stringField(*metadata, "namespace"); !own.empty()) {
        namespace_name = own;
      }
    }
    injector::InjectionResult result = inject_(pod, namespace_name);
    switch (result.outcome) {
      case injector::InjectionOutcome::kSkipped:
        note(label, "skipped: " + result.message);
        return false;
      case injector::InjectionOutcome::kRefused:
        return refuse(label, result.message);
      case injector::InjectionOutcome::kInjected:
        break;
    }
    json::value patched = pod;
    if (!injector::applyJsonPatch(patched, result.patch, error)) {
      return refuse(label, "the injector's patch does not apply: " + error);
    }
    if (!patched.is_object()) {
      return refuse(label, "the injector's patch does not leave a pod");
    }
    storePod(object, *path, std::move(patched.get_object()));
    ++report_.injected;
    note(label, result.message);
    return true;
  }

  // A v1 List: each item on its own.
  bool injectList(json::object& list, const std::string& where) {
    json::value* items = list.if_contains("items");
    if (items == nullptr || !items->is_array()) {
      return false;
    }
    bool changed = false;
    size_t index = 0;
    for (json::value& item : items->get_array()) {
      ++index;
      if (json::object* object = item.if_object()) {
        changed = injectObject(*object, where + " item " + std::to_string(index)) || changed;
      }
    }
    return changed;
  }

  bool refuse(const std::string& label, const std::string& message) {
    note(label, "skipped: " + message);
    report_.refused = true;
    return false;
  }

  void note(const std::string& label, const std::string& message) {
    report_.notes.push_back(prefix_ + label + ": " + message);
  }

 private:
  std::string prefix_;
  const std::string& default_namespace_;
  const PodInjector& inject_;
  InjectedStream& report_;
};

std::optional<std::string> readInput(const std::string& file, std::istream& in,
                                     std::string& error) {
  std::string text;
  if (file.empty() || file == "-") {
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  } else {
    std::error_code ignored;
    if (std::filesystem::is_directory(file, ignored)) {
      error = file + " is a directory";
      return std::nullopt;
    }
    std::ifstream stream(file, std::ios::binary);
    if (!stream) {
      error = "cannot read " + file;
      return std::nullopt;
    }
    text.assign(std::istreambuf_iterator<char>(stream), std::istreambuf_iterator<char>());
  }
  if (text.size() > kMaxInputBytes) {
    error =
        (file.empty() || file == "-" ? std::string("the input") : file) + " is larger than 64 MiB";
    return std::nullopt;
  }
  return text;
}

}  // namespace

InjectedStream injectYamlStream(std::string_view text, const std::string& source,
                                const std::string& default_namespace, const PodInjector& inject) {
  InjectedStream report;
  // yaml-cpp's marks do not count a byte order mark; it is kept and the rest parsed.
  const bool bom = text.starts_with(kByteOrderMark);
  if (bom) {
    text.remove_prefix(kByteOrderMark.size());
    report.output = kByteOrderMark;
  }
  const YamlStream stream = readYamlStream(text);
  if (!stream.ok) {
    report.syntax_error = true;
    report.output.clear();
    report.notes.push_back(source +
                           (stream.error.line > 0
                                ? ": line " + std::to_string(stream.error.line) + ", column " +
                                      std::to_string(stream.error.column)
                                : std::string()) +
                           ": " + stream.error.message);
    return report;
  }
  DocumentInjector injector(source + ": ", default_namespace, inject, report);
  size_t number = 0;
  for (const YamlPiece& piece : stream.pieces) {
    const std::string_view verbatim = text.substr(piece.begin, piece.end - piece.begin);
    if (!piece.is_document) {
      report.output += verbatim;
      continue;
    }
    const std::string where = "document " + std::to_string(++number);
    const std::string kind = piece.root.IsMap() ? scalarOf(piece.root, "kind") : "";
    const std::string api_version = piece.root.IsMap() ? scalarOf(piece.root, "apiVersion") : "";
    const bool list = kind == "List" && api_version == "v1";
    if (!list && !podTemplatePath(api_version, kind)) {
      report.output += verbatim;
      continue;
    }
    json::value original;
    std::string error;
    if (!yamlToJson(piece.root, original, error)) {
      const YAML::Node metadata = piece.root["metadata"];
      const std::string name =
          metadata.IsDefined() && metadata.IsMap() ? scalarOf(metadata, "name") : std::string();
      injector.refuse(where + " (" + kind + (name.empty() ? "" : " " + name) + ")", error);
      report.output += verbatim;
      continue;
    }
    json::value changed = original;
    const bool injected = list ? injector.injectList(changed.get_object(), where)
                               : injector.injectObject(changed.get_object(), where);
    if (!injected) {
      report.output += verbatim;
      continue;
    }
    const RewrittenDocument rewritten = rewriteYamlDocument(text, piece, original, changed);
    report.output += rewritten.text;
    if (rewritten.dropped_comments > 0) {
      injector.note(where, std::to_string(rewritten.dropped_comments) +
                               " comment(s) inside the object could not be placed in the "
                               "rewritten document and were left out");
    }
  }
  return report;
}

bool injectionSettingsFromOptions(const InjectOptions& options,
                                  injector::InjectionSettings& settings, std::string& error) {
  settings = injector::InjectionSettings{};
  if (!options.settings_dir.empty()) {
    injector::InjectionSettings loaded;
    if (!injector::loadSettingsDirectory(options.settings_dir, settings, loaded, error)) {
      error = "--settings-dir " + options.settings_dir + ": " + error;
      return false;
    }
    settings = std::move(loaded);
  }
  if (!options.proxy_image.empty() &&
      !injector::applySetting("proxyImage", options.proxy_image, settings, error)) {
    error = "--proxy-image: " + error;
    return false;
  }
  if (!options.sidecar_mode.empty() &&
      !injector::applySetting("sidecarMode", options.sidecar_mode, settings, error)) {
    error = "--sidecar-mode: " + error;
    return false;
  }
  return true;
}

bool checkMeshRoot(const std::string& pem, std::string& error) {
  auto chain = tls::readCertificateChainPem(pem);
  if (!chain) {
    error = "not PEM certificates: " + chain.error();
    return false;
  }
  return true;
}

std::optional<std::string> meshRootFromCluster(const ApiGet& get, std::string& error) {
  const std::string where =
      "ConfigMap " + std::string(kMeshRootNamespace) + "/" + std::string(kMeshRootConfigMap);
  const kube::ApiResponse response = get("/api/v1/namespaces/" + std::string(kMeshRootNamespace) +
                                         "/configmaps/" + std::string(kMeshRootConfigMap));
  if (response.status == 404) {
    error = where + " does not exist (the control plane publishes it when it runs its CA)";
    return std::nullopt;
  }
  if (response.status != 200) {
    error = "reading " + where + ": " + response.describe();
    return std::nullopt;
  }
  boost::system::error_code parse_error;
  const json::value body = json::parse(response.body, parse_error);
  const json::object* object = body.if_object();
  const json::object* data = object != nullptr ? objectField(*object, "data") : nullptr;
  const std::string pem =
      data != nullptr ? stringField(*data, kMeshRootConfigMapKey) : std::string();
  if (parse_error || pem.empty()) {
    error = where + " has no " + std::string(kMeshRootConfigMapKey);
    return std::nullopt;
  }
  if (!checkMeshRoot(pem, error)) {
    error = where + ", " + std::string(kMeshRootConfigMapKey) + ": " + error;
    return std::nullopt;
  }
  return pem;
}

int runInject(const InjectOptions& options, const KubeConnectionOptions& kube, std::istream& in,
              std::ostream& out, std::ostream& err) {
  injector::InjectionSettings settings;
  std::string error;
  if (!injectionSettingsFromOptions(options, settings, error)) {
    err << "weftctl inject: " << error << "\n";
    return 2;
  }
  if (!options.mesh_root_file.empty()) {
    std::ifstream file(options.mesh_root_file, std::ios::binary);
    if (!file) {
      err << "weftctl inject: cannot read --mesh-root-file " << options.mesh_root_file << "\n";
      return 2;
    }
    std::string pem((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    if (!checkMeshRoot(pem, error)) {
      err << "weftctl inject: --mesh-root-file " << options.mesh_root_file << ": " << error << "\n";
      return 2;
    }
    settings.mesh_root_pem = std::move(pem);
  }
  const std::optional<std::string> text = readInput(options.file, in, error);
  if (!text) {
    err << "weftctl inject: " << error << "\n";
    return 2;
  }

  // The cluster is asked for the mesh root only when a pod is to be injected.
  int fatal_code = 0;
  std::string fatal;
  bool root_known = !settings.mesh_root_pem.empty();
  const PodInjector inject = [&](const json::object& pod, std::string_view namespace_name) {
    if (!root_known && fatal.empty()) {
      const KubeConnection connection =
          resolveKubeConnection(kube, [](const char* name) { return std::getenv(name); });
      if (!connection.error.empty()) {
        fatal = connection.error;
        fatal_code = connection.usage_error ? 2 : 1;
      } else {
        const kube::ApiClient client(connection.server, std::chrono::seconds(10));
        std::string fetch_error;
        auto pem = meshRootFromCluster(
            [&client](const std::string& target) { return client.call("GET", target); },
            fetch_error);
        if (pem) {
          settings.mesh_root_pem = std::move(*pem);
          root_known = true;
        } else {
          fatal = fetch_error + " (API server " + connection.server.url() + ", " +
                  connection.source + ")";
          fatal_code = 1;
        }
      }
    }
    return injector::injectSidecar(pod, namespace_name, settings);
  };
  const std::string source = options.file.empty() || options.file == "-" ? "<stdin>" : options.file;
  const InjectedStream result = injectYamlStream(
      *text, source, options.namespace_.empty() ? "default" : options.namespace_, inject);
  if (!fatal.empty()) {
    err << "weftctl inject: the injected proxies need the mesh root to verify the control "
           "plane; give --mesh-root-file, or let weftctl read it from the cluster: "
        << fatal << "\n";
    return fatal_code;
  }
  if (result.syntax_error) {
    for (const std::string& note : result.notes) {
      err << "weftctl inject: " << note << "\n";
    }
    return 2;
  }
  out << result.output;
  out.flush();
  for (const std::string& note : result.notes) {
    err << note << "\n";
  }
  return result.refused ? 1 : 0;
}

}  // namespace weft::cli
