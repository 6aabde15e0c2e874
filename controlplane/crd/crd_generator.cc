#include "controlplane/crd/crd_generator.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "controlplane/crd/crd_kinds.h"
#include "controlplane/crd/openapi_schema.h"
#include "controlplane/crd/proto_comments.h"
#include "controlplane/crd/text_diff.h"
#include "controlplane/crd/yaml_writer.h"

namespace weft::controlplane::crd {
namespace {

constexpr std::string_view kCrdSuffix = ".weft.dev.yaml";
constexpr std::string_view kKustomization = "kustomization.yaml";

YamlValue stringSchema(std::string_view description) {
  YamlValue schema = YamlValue::map();
  schema.set("description", YamlValue::string(std::string(description)));
  schema.set("type", YamlValue::string("string"));
  return schema;
}

YamlValue generationSchema(std::string_view description) {
  YamlValue schema = YamlValue::map();
  schema.set("description", YamlValue::string(std::string(description)));
  schema.set("type", YamlValue::string("integer"));
  schema.set("format", YamlValue::string("int64"));
  schema.set("minimum", YamlValue::integer(0));
  return schema;
}

// The status every kind shares. Conditions follow metav1.Condition, so kubectl and
// controllers read them as they read those of built-in kinds; listing them as a map keyed by
// type lets the control plane update one condition with server-side apply.
YamlValue statusSchema() {
  YamlValue condition_properties = YamlValue::map();
  YamlValue type = stringSchema("Kind of condition, e.g. Accepted.");
  type.set("minLength", YamlValue::integer(1));
  type.set("maxLength", YamlValue::integer(316));
  condition_properties.set("type", std::move(type));
  YamlValue status = stringSchema("Whether the condition holds.");
  status.set("enum", YamlValue::stringList({"True", "False", "Unknown"}));
  condition_properties.set("status", std::move(status));
  YamlValue reason = stringSchema("One word, in CamelCase, for why the condition is as it is.");
  reason.set("maxLength", YamlValue::integer(1024));
  condition_properties.set("reason", std::move(reason));
  YamlValue message = stringSchema("What a user should know about the condition.");
  message.set("maxLength", YamlValue::integer(32768));
  condition_properties.set("message", std::move(message));
  YamlValue time = stringSchema("When status last changed.");
  time.set("format", YamlValue::string("date-time"));
  condition_properties.set("lastTransitionTime", std::move(time));
  condition_properties.set(
      "observedGeneration",
      generationSchema("metadata.generation of the object the condition was computed from."));

  YamlValue condition = YamlValue::map();
  condition.set("type", YamlValue::string("object"));
  condition.set("properties", std::move(condition_properties));
  condition.set("required", YamlValue::stringList({"type", "status"}));

  YamlValue conditions = YamlValue::map();
  conditions.set("description",
                 YamlValue::string("The control plane's observations of the object. Accepted "
                                   "tells whether the object is in effect and, if not, why."));
  conditions.set("type", YamlValue::string("array"));
  conditions.set("maxItems", YamlValue::integer(16));
  conditions.set("items", std::move(condition));
  conditions.set("x-kubernetes-list-type", YamlValue::string("map"));
  conditions.set("x-kubernetes-list-map-keys", YamlValue::stringList({"type"}));

  YamlValue properties = YamlValue::map();
  properties.set("conditions", std::move(conditions));
  properties.set("observedGeneration",
                 generationSchema("metadata.generation the control plane last processed."));
  YamlValue out = YamlValue::map();
  out.set("description", YamlValue::string("Observed state, written by the control plane."));
  out.set("type", YamlValue::string("object"));
  out.set("properties", std::move(properties));
  return out;
}

YamlValue printerColumns(const MeshKind& kind) {
  YamlValue columns = YamlValue::list();
  auto add = [&columns](const PrinterColumn& column) {
    YamlValue entry = YamlValue::map();
    entry.set("name", YamlValue::string(std::string(column.name)));
    entry.set("type", YamlValue::string(std::string(column.type)));
    entry.set("jsonPath", YamlValue::string(std::string(column.json_path)));
    if (!column.description.empty()) {
      entry.set("description", YamlValue::string(std::string(column.description)));
    }
    if (column.priority != 0) {
      entry.set("priority", YamlValue::integer(column.priority));
    }
    columns.push(std::move(entry));
  };
  for (const PrinterColumn& column : kind.columns) {
    add(column);
  }
  add({"Accepted", "string", ".status.conditions[?(@.type==\"Accepted\")].status",
       "Whether the control plane accepted the object", 0});
  add({"Age", "date", ".metadata.creationTimestamp", "", 0});
  return columns;
}

std::string objectSchema(const MeshKind& kind, const ProtoComments& comments,
                         OpenApiSchemaBuilder& builder, YamlValue& out) {
  YamlValue spec;
  const std::string spec_text =
      "Desired state: " + kind.spec->full_name() + " in proto/" + kind.spec->file()->name() + ".";
  if (std::string error = builder.messageSchema(*kind.spec, spec_text, spec); !error.empty()) {
    return error;
  }
  YamlValue properties = YamlValue::map();
  properties.set("apiVersion", stringSchema(std::string(kGroup) + "/" + std::string(kVersion) +
                                            " for this version of the resource."));
  properties.set("kind", stringSchema(std::string(kind.kind) + "."));
  YamlValue metadata = YamlValue::map();
  metadata.set("type", YamlValue::string("object"));
  properties.set("metadata", std::move(metadata));
  properties.set("spec", std::move(spec));
  properties.set("status", statusSchema());

  out = YamlValue::map();
  const std::string text = comments.of(*kind.spec);
  if (!text.empty()) {
    out.set("description", YamlValue::string(text));
  }
  out.set("type", YamlValue::string("object"));
  out.set("properties", std::move(properties));
  out.set("required", YamlValue::stringList({"spec"}));
  for (const CelRule& rule : kind.object_rules) {
    addCelRule(out, rule.rule, rule.message);
  }
  orderSchemaKeys(out);
  return {};
}

std::string crdFile(const MeshKind& kind, const ProtoComments& comments,
                    OpenApiSchemaBuilder& builder, GeneratedFile& out) {
  YamlValue schema;
  if (std::string error = objectSchema(kind, comments, builder, schema); !error.empty()) {
    return error;
  }
  YamlValue open_api = YamlValue::map();
  open_api.set("openAPIV3Schema", std::move(schema));

  YamlValue subresources = YamlValue::map();
  subresources.set("status", YamlValue::map());

  YamlValue version = YamlValue::map();
  version.set("name", YamlValue::string(std::string(kVersion)));
  version.set("served", YamlValue::boolean(true));
  version.set("storage", YamlValue::boolean(true));
  version.set("subresources", std::move(subresources));
  version.set("additionalPrinterColumns", printerColumns(kind));
  version.set("schema", std::move(open_api));
  YamlValue versions = YamlValue::list();
  versions.push(std::move(version));

  YamlValue names = YamlValue::map();
  names.set("kind", YamlValue::string(std::string(kind.kind)));
  names.set("listKind", YamlValue::string(std::string(kind.kind) + "List"));
  names.set("plural", YamlValue::string(std::string(kind.plural)));
  names.set("singular", YamlValue::string(std::string(kind.singular)));
  names.set("shortNames", YamlValue::stringList({kind.short_name}));
  names.set("categories", YamlValue::stringList({kCategory}));

  YamlValue spec = YamlValue::map();
  spec.set("group", YamlValue::string(std::string(kGroup)));
  spec.set("names", std::move(names));
  spec.set("scope", YamlValue::string("Namespaced"));
  spec.set("versions", std::move(versions));

  YamlValue labels = YamlValue::map();
  labels.set("app.kubernetes.io/part-of", YamlValue::string("weft"));
  YamlValue metadata = YamlValue::map();
  metadata.set("name", YamlValue::string(std::string(kind.plural) + "." + std::string(kGroup)));
  metadata.set("labels", std::move(labels));

  YamlValue crd = YamlValue::map();
  crd.set("apiVersion", YamlValue::string("apiextensions.k8s.io/v1"));
  crd.set("kind", YamlValue::string("CustomResourceDefinition"));
  crd.set("metadata", std::move(metadata));
  crd.set("spec", std::move(spec));

  out.name = std::string(kind.plural) + std::string(kCrdSuffix);
  out.content = "# " + std::string(kind.kind) + " (" + std::string(kGroup) + "/" +
                std::string(kVersion) + "), generated by weft-crdgen from\n# " +
                kind.spec->full_name() + " in proto/" + kind.spec->file()->name() +
                ".\n# Do not edit: change the .proto, then run `" +
                std::string(kRegenerateCommand) + "`.\n" + writeYaml(crd);
  return {};
}

// A kustomization.yaml in the directory, which earlier versions generated, is the generator's
// too: `kubectl apply -f deploy/k8s/crds/` would send it as an object and fail, so it is
// removed (deploy/k8s/kustomization.yaml lists the CRDs instead).
bool isGeneratedName(const std::string& name) {
  return name == kKustomization ||
         (name.size() > kCrdSuffix.size() &&
          name.compare(name.size() - kCrdSuffix.size(), kCrdSuffix.size(), kCrdSuffix) == 0);
}

// Files in `directory` that the generator owns: its CRDs (and a stale kustomization).
std::set<std::string> ownedFiles(const std::filesystem::path& directory) {
  std::set<std::string> names;
  std::error_code error;
  for (std::filesystem::directory_iterator it(directory, error), end; !error && it != end;
       it.increment(error)) {
    const std::string name = it->path().filename().string();
    if (it->is_regular_file(error) && isGeneratedName(name)) {
      names.insert(name);
    }
  }
  return names;
}

bool readFile(const std::filesystem::path& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return false;
  }
  std::ostringstream text;
  text << in.rdbuf();
  out = text.str();
  return !in.bad();
}

}  // namespace

std::string generateCrdFiles(std::vector<GeneratedFile>& out) {
  out.clear();
  ProtoComments comments;
  if (std::string error = comments.load(); !error.empty()) {
    return error;
  }
  OpenApiSchemaBuilder builder(comments, messageCelRules());
  for (const MeshKind& kind : meshKinds()) {
    GeneratedFile file;
    if (std::string error = crdFile(kind, comments, builder, file); !error.empty()) {
      return std::string(kind.kind) + ": " + error;
    }
    out.push_back(std::move(file));
  }
  std::sort(out.begin(), out.end(),
            [](const GeneratedFile& a, const GeneratedFile& b) { return a.name < b.name; });
  return {};
}

std::string writeCrdFiles(const std::vector<GeneratedFile>& files,
                          const std::filesystem::path& directory) {
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  if (error) {
    return "cannot create " + directory.string() + ": " + error.message();
  }
  std::set<std::string> written;
  for (const GeneratedFile& file : files) {
    const auto path = directory / file.name;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << file.content;
    out.close();
    if (!out) {
      return "cannot write " + path.string();
    }
    written.insert(file.name);
  }
  for (const std::string& name : ownedFiles(directory)) {
    if (written.count(name) == 0) {
      std::filesystem::remove(directory / name, error);
      if (error) {
        return "cannot remove the stale " + (directory / name).string() + ": " + error.message();
      }
    }
  }
  return {};
}

std::string diffCrdFiles(const std::vector<GeneratedFile>& files,
                         const std::filesystem::path& directory) {
  std::string report;
  std::set<std::string> expected;
  for (const GeneratedFile& file : files) {
    expected.insert(file.name);
    const auto path = directory / file.name;
    std::string on_disk;
    if (!std::filesystem::exists(path)) {
      report += "missing: " + path.string() + "\n";
      continue;
    }
    if (!readFile(path, on_disk)) {
      report += "unreadable: " + path.string() + "\n";
      continue;
    }
    report += unifiedDiff(path.string() + " (checked in)", on_disk, file.name + " (generated)",
                          file.content);
  }
  for (const std::string& name : ownedFiles(directory)) {
    if (expected.count(name) == 0) {
      report += "not generated any more: " + (directory / name).string() + "\n";
    }
  }
  return report;
}

}  // namespace weft::controlplane::crd
