#include "controlplane/source/manifest_reader.h"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <array>
#include <exception>
#include <limits>

#include "common/config/field_path.h"
#include "controlplane/source/kubernetes_names.h"
#include "controlplane/source/manifest_fields.h"
#include "controlplane/source/service_manifest.h"
#include "controlplane/source/spec_checks.h"

namespace weft::controlplane {
namespace {

using config::appendField;
using config::appendIndex;
using config::appendKey;
using config::ConfigError;
using config::ConfigErrors;
using config::YamlLimits;

constexpr std::string_view kWeftGroup = "weft.dev";
constexpr std::string_view kWeftVersion = "v1alpha1";

// Kubernetes' limit on the annotations of one object together (keys and values).
constexpr size_t kMaxAnnotationBytes = 256 * 1024;

constexpr std::array<std::string_view, kObjectKindCount> kKindNames = {"Service",
                                                                       "Workload",
                                                                       "TrafficRoute",
                                                                       "DestinationPolicy",
                                                                       "AuthorizationPolicy",
                                                                       "PeerAuthentication",
                                                                       "MeshConfig"};

std::optional<ObjectKind> weftKind(std::string_view name) {
  for (size_t i = 0; i < kKindNames.size(); ++i) {
    if (kKindNames[i] == name && static_cast<ObjectKind>(i) != ObjectKind::kService) {
      return static_cast<ObjectKind>(i);
    }
  }
  return std::nullopt;
}

// One YAML document's text and where it starts in the file.
struct DocumentText {
  std::string_view text;
  int first_line = 0;  // 0-based
};

// "---" or "..." at the start of a line, alone or followed by blanks or content.
bool isMarker(std::string_view line, std::string_view marker) {
  return line.substr(0, 3) == marker &&
         (line.size() == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '\r');
}

// Whether a line holds YAML content (not blank, a comment or a directive).
bool hasContent(std::string_view line) {
  if (!line.empty() && line.front() == '%') {
    return false;
  }
  const size_t first = line.find_first_not_of(" \t\r");
  return first != std::string_view::npos && line[first] != '#';
}

// Splits a stream into its documents so that each parses on its own: a syntax error in one
// does not lose the others, as it would with yaml-cpp's LoadAll. Per the YAML spec a line that
// starts with "---" or "..." is a document marker wherever it appears (content may not start
// a line with them), so the split needs no parsing. Documents with nothing but comments,
// blanks and directives are left out.
std::vector<DocumentText> splitDocuments(std::string_view text) {
  std::vector<DocumentText> documents;
  size_t start = 0;
  int start_line = 0;
  bool content = false;
  size_t offset = 0;
  int line_number = 0;
  auto close = [&](size_t end, size_t next_start, int next_line) {
    if (content) {
      documents.push_back(DocumentText{text.substr(start, end - start), start_line});
    }
    start = next_start;
    start_line = next_line;
    content = false;
  };
  while (offset < text.size()) {
    const size_t newline = text.find('\n', offset);
    const size_t line_end = newline == std::string_view::npos ? text.size() : newline + 1;
    const std::string_view line =
        text.substr(offset, (newline == std::string_view::npos ? text.size() : newline) - offset);
    if (isMarker(line, "---")) {
      // Ends the document before it; without content before, it starts the chunk instead
      // (comments and directives before it are dropped: yaml-cpp would read a "---" after
      // them as the end of an empty first document).
      close(offset, offset, line_number);
      content = hasContent(line.substr(3));
    } else if (isMarker(line, "...")) {
      close(line_end, line_end, line_number + 1);
    } else if (hasContent(line)) {
      content = true;
    }
    offset = line_end;
    ++line_number;
  }
  close(text.size(), text.size(), line_number);
  return documents;
}

// Walks a whole document before anything reads it, so every later step, hand-written or the
// proto loader, works on input of bounded size: aliases can make a small text a huge tree
// ("billion laughs"), which this stops after limits.max_nodes nodes.
class BoundsCheck {
 public:
  explicit BoundsCheck(const YamlLimits& limits) : limits_(limits) {}

  // False when the document is beyond a limit; then at() and reason() say where and why.
  bool walk(const YAML::Node& node, int depth) {
    if (++visited_ > limits_.max_nodes) {
      return fail(node, "document too large: more than " + std::to_string(limits_.max_nodes) +
                            " nodes (after expanding aliases)");
    }
    if (depth > limits_.max_depth) {
      return fail(node, "nesting deeper than " + std::to_string(limits_.max_depth) + " levels");
    }
    if (node.IsMap()) {
      for (auto it = node.begin(); it != node.end(); ++it) {
        const YAML::Node key = it->first;
        const YAML::Node value = it->second;
        if (key.IsScalar() && key.Scalar().size() > limits_.max_key_bytes) {
          return fail(key, "key of " + std::to_string(key.Scalar().size()) +
                               " bytes is longer than the limit of " +
                               std::to_string(limits_.max_key_bytes));
        }
        if (!walk(key, depth + 1) || !walk(value, depth + 1)) {
          return false;
        }
      }
    } else if (node.IsSequence()) {
      for (const YAML::Node& element : node) {
        if (!walk(element, depth + 1)) {
          return false;
        }
      }
    }
    return true;
  }

  const YAML::Node& at() const { return *at_; }
  const std::string& reason() const { return reason_; }

 private:
  bool fail(const YAML::Node& node, std::string reason) {
    at_.emplace(node);  // not `at_ = node`: assigning to a YAML::Node rebinds what it refers to
    reason_ = std::move(reason);
    return false;
  }

  const YamlLimits& limits_;
  size_t visited_ = 0;
  std::optional<YAML::Node> at_;
  std::string reason_;
};

template <class Spec>
using SpecCheck = ConfigErrors (*)(const Spec&);

// Loads a weft.dev spec and runs its kind's cross-field checks.
template <class Spec>
void loadSpec(const YAML::Node& node, std::string_view source, const std::string& path,
              const YamlLimits& limits, SpecCheck<Spec> check, Spec& spec, DocumentErrors& errors) {
  config::MessageCheck message_check;
  if (check != nullptr) {
    message_check = [check](const google::protobuf::Message& message) {
      return check(static_cast<const Spec&>(message));
    };
  }
  errors.addLoaded(config::loadYamlNode(node, source, path, spec, limits, message_check));
}

// Reads the documents of one file.
class FileReader {
 public:
  FileReader(std::string_view source, const YamlLimits& limits)
      : source_(source), limits_(limits) {}

  ManifestFile read(std::string_view text) {
    ManifestFile file;
    file.source = source_;
    if (text.size() > limits_.max_document_bytes) {
      file.documents.push_back(fileError("file is " + std::to_string(text.size()) +
                                         " bytes, larger than the limit of " +
                                         std::to_string(limits_.max_document_bytes)));
      return file;
    }
    const std::vector<DocumentText> documents = splitDocuments(text);
    for (size_t index = 0; index < documents.size(); ++index) {
      if (file.documents.size() >= kMaxDocumentsPerFile) {
        ManifestDocument stop = newDocument(index, documents[index].first_line + 1, "");
        DocumentErrors errors(source_, 0);
        errors.addLoaded(
            {ConfigError{source_, "", stop.line, 0,
                         "the file has more than " + std::to_string(kMaxDocumentsPerFile) +
                             " documents; this one and the rest were not read "
                             "(split the file)"}});
        reject(stop, errors, file.documents);
        break;
      }
      readDocument(documents[index], index, file.documents);
    }
    return file;
  }

  ManifestDocument fileError(std::string reason) {
    ManifestDocument document;
    document.result = DocumentResult::kRejected;
    document.origin = source_;
    ManifestError error;
    error.file = source_;
    error.reason = std::move(reason);
    document.errors.push_back(std::move(error));
    return document;
  }

 private:
  ManifestDocument newDocument(size_t index, int line, std::string item) {
    ManifestDocument document;
    document.index = index;
    document.line = line;
    document.origin = source_ + "#" + std::to_string(index);
    if (!item.empty()) {
      document.origin += "." + item;
    }
    document.item = std::move(item);
    return document;
  }

  void reject(ManifestDocument& document, DocumentErrors& errors,
              std::vector<ManifestDocument>& out) {
    document.result = DocumentResult::kRejected;
    document.object.reset();
    for (ConfigError& error : errors.take()) {
      ManifestError manifest_error;
      manifest_error.file = source_;
      manifest_error.document = document.index;
      manifest_error.kind = document.kind;
      manifest_error.namespace_ = document.name.empty() ? "" : document.namespace_;
      manifest_error.name = document.name;
      manifest_error.field_path = std::move(error.field_path);
      manifest_error.line = error.line;
      manifest_error.column = error.column;
      manifest_error.reason = std::move(error.reason);
      document.errors.push_back(std::move(manifest_error));
    }
    out.push_back(std::move(document));
  }

  void readDocument(const DocumentText& text, size_t index, std::vector<ManifestDocument>& out) {
    const int offset = text.first_line;
    offset_ = offset;
    ManifestDocument document = newDocument(index, offset + 1, "");
    DocumentErrors errors(source_, offset);
    YAML::Node root;
    try {
      root = YAML::Load(std::string(text.text));
    } catch (const YAML::DeepRecursion& e) {
      // yaml-cpp's own guard against stack exhaustion, far beyond limits.max_depth.
      errors.addLoaded(
          {ConfigError{source_, "", e.mark.line + 1, e.mark.column + 1,
                       "nesting deeper than " + std::to_string(limits_.max_depth) + " levels"}});
      reject(document, errors, out);
      return;
    } catch (const YAML::ParserException& e) {
      // yaml-cpp reports syntax errors only by exception; they stop at this boundary.
      errors.addLoaded({ConfigError{source_, "", e.mark.line + 1, e.mark.column + 1,
                                    "not valid YAML: " + e.msg}});
      reject(document, errors, out);
      return;
    } catch (const YAML::Exception& e) {
      errors.add(YAML::Node(), "", std::string("not valid YAML: ") + e.what());
      reject(document, errors, out);
      return;
    }
    if (root.IsNull()) {
      return;  // An empty document ("---" then "~"), as kubectl skips it.
    }
    if (!root.Mark().is_null()) {
      document.line = root.Mark().line + 1 + offset;
    }
    try {
      if (root.IsMap()) {
        peekIdentity(root, document);  // so that even a document out of bounds names its object
      }
      BoundsCheck bounds(limits_);
      if (!bounds.walk(root, 0)) {
        errors.add(bounds.at(), "", bounds.reason());
        reject(document, errors, out);
        return;
      }
      readObject(root, "", document, errors, /*in_list=*/false, out);
    } catch (const std::exception& e) {
      // yaml-cpp throws on misuse of a node; nothing may escape a reload.
      DocumentErrors failure(source_, offset);
      failure.add(YAML::Node(), "", std::string("cannot read the document: ") + e.what());
      ManifestDocument failed = newDocument(index, offset + 1, "");
      reject(failed, failure, out);
    }
  }

  // Reads the identity (kind, namespace, name) without reporting anything, so errors found
  // anywhere in the document can name the object.
  static void peekIdentity(const YAML::Node& node, ManifestDocument& document) {
    auto scalar = [](const YAML::Node& parent, const char* key) -> std::string {
      // A missing key gives an invalid node, which only IsDefined() may be asked about.
      const YAML::Node value = parent[key];
      return value.IsDefined() && value.IsScalar() ? value.Scalar() : std::string();
    };
    document.api_version = scalar(node, "apiVersion");
    document.kind = scalar(node, "kind");
    const YAML::Node metadata = node["metadata"];
    if (metadata.IsDefined() && metadata.IsMap()) {
      document.name = scalar(metadata, "name");
      document.namespace_ = scalar(metadata, "namespace");
    }
    if (document.namespace_.empty()) {
      document.namespace_ = "default";
    }
  }

  void readObject(const YAML::Node& node, const std::string& prefix, ManifestDocument& document,
                  DocumentErrors& errors, bool in_list, std::vector<ManifestDocument>& out) {
    if (!node.IsMap()) {
      errors.add(node, prefix,
                 "a manifest must be a map with apiVersion, kind, metadata and spec, found " +
                     std::string(nodeKindName(node)));
      reject(document, errors, out);
      return;
    }
    peekIdentity(node, document);
    // Optional, not nodes: a default-constructed YAML::Node counts as defined.
    std::optional<YAML::Node> api_version, kind, metadata, spec, items;
    std::vector<const MapEntry*> unknown;
    const std::vector<MapEntry> entries = mapEntries(node, prefix, errors);
    for (const MapEntry& entry : entries) {
      if (entry.name == "apiVersion") {
        api_version = entry.value;
      } else if (entry.name == "kind") {
        kind = entry.value;
      } else if (entry.name == "metadata") {
        metadata = entry.value;
      } else if (entry.name == "spec") {
        spec = entry.value;
      } else if (entry.name == "items") {
        items = entry.value;
      } else if (entry.name != "status") {
        unknown.push_back(&entry);
      }
    }
    const std::optional<std::string> api_version_text =
        requiredString(node, api_version, appendField(prefix, "apiVersion"), errors,
                       "is required (e.g. weft.dev/v1alpha1, or v1 for a Service)");
    const std::optional<std::string> kind_text =
        requiredString(node, kind, appendField(prefix, "kind"), errors,
                       "is required (e.g. TrafficRoute, or Service)");
    if (!api_version_text || !kind_text) {
      reject(document, errors, out);
      return;
    }
    if (*api_version_text == "v1" && *kind_text == "List") {
      if (in_list) {
        errors.add(node, prefix, "a List inside a List is not supported");
        reject(document, errors, out);
        return;
      }
      if (spec) {
        errors.add(*spec, appendField(prefix, "spec"), "a List has items, not a spec");
      }
      readList(node, items, unknown, document, errors, out);
      return;
    }
    const size_t slash = api_version_text->find('/');
    const std::string group = slash == std::string::npos ? "" : api_version_text->substr(0, slash);
    std::optional<ObjectKind> object_kind;
    if (group == kWeftGroup) {
      object_kind = weftKind(*kind_text);
      if (api_version_text->substr(slash + 1) != kWeftVersion) {
        errors.add(*api_version, appendField(prefix, "apiVersion"),
                   "version " + quoted(api_version_text->substr(slash + 1)) +
                       " of weft.dev is not served: this control plane reads weft.dev/" +
                       std::string(kWeftVersion));
      }
      if (!object_kind) {
        errors.add(*kind, appendField(prefix, "kind"),
                   "unknown weft.dev kind " + quoted(*kind_text) +
                       " (expected one of: TrafficRoute, DestinationPolicy, "
                       "AuthorizationPolicy, PeerAuthentication, MeshConfig, Workload)");
      }
      if (!errors.empty()) {
        reject(document, errors, out);
        return;
      }
    } else if (*api_version_text == "v1" && *kind_text == "Service") {
      object_kind = ObjectKind::kService;
    } else {
      // Not a mesh kind: the Deployments and ConfigMaps next to the mesh's manifests. Their
      // contents are not the mesh's to judge.
      document.result = DocumentResult::kIgnored;
      out.push_back(std::move(document));
      return;
    }
    for (const MapEntry* entry : unknown) {
      errors.add(entry->key, prefix,
                 unknownFieldReason(entry->name, "a " + *kind_text + " manifest",
                                    {"apiVersion", "kind", "metadata", "spec", "status"}));
    }
    if (items) {
      errors.add(*items, prefix,
                 unknownFieldReason("items", "a " + *kind_text + " manifest",
                                    {"apiVersion", "kind", "metadata", "spec", "status"}));
    }
    ObjectMeta meta;
    if (!metadata) {
      errors.add(node, appendField(prefix, "metadata"), "is required (with at least a name)");
    } else {
      meta = readMetadata(*metadata, appendField(prefix, "metadata"), *object_kind, errors);
    }
    ManifestObject object = makeObject(*object_kind);
    if (!spec || spec->IsNull()) {
      errors.add(spec ? *spec : node, appendField(prefix, "spec"),
                 "is required: the " + *kind_text + "'s settings (an empty one is {})");
    } else {
      readSpec(*spec, appendField(prefix, "spec"), object, errors);
    }
    if (*object_kind == ObjectKind::kMeshConfig && !meta.name.empty() &&
        (meta.name != "default" || meta.namespace_ != kRootNamespace)) {
      errors.add(
          metadata ? *metadata : node,
          appendField(prefix, meta.name != "default" ? "metadata.name" : "metadata.namespace"),
          "only the MeshConfig named \"default\" in namespace \"" + std::string(kRootNamespace) +
              "\" is used; this one (" + meta.namespace_ + "/" + meta.name +
              ") would have no effect");
    }
    if (!errors.empty()) {
      reject(document, errors, out);
      return;
    }
    meta.origin = document.origin;
    std::visit([&meta](auto& value) { value.meta = std::move(meta); }, object.value);
    document.result = DocumentResult::kAccepted;
    document.object = std::move(object);
    out.push_back(std::move(document));
  }

  static std::optional<std::string> requiredString(const YAML::Node& parent,
                                                   const std::optional<YAML::Node>& value,
                                                   const std::string& path, DocumentErrors& errors,
                                                   const std::string& missing) {
    if (!value) {
      errors.add(parent, path, missing);
      return std::nullopt;
    }
    std::optional<std::string> text = readString(*value, path, errors);
    if (text && text->empty()) {
      errors.add(*value, path, missing);
      return std::nullopt;
    }
    return text;
  }

  // A `kind: List` document (what `kubectl get -o yaml` writes): each item is read like a
  // document of its own. Its metadata (a resourceVersion) means nothing here.
  void readList(const YAML::Node& node, const std::optional<YAML::Node>& items,
                const std::vector<const MapEntry*>& unknown, ManifestDocument& document,
                DocumentErrors& errors, std::vector<ManifestDocument>& out) {
    for (const MapEntry* entry : unknown) {
      errors.add(
          entry->key, "",
          unknownFieldReason(entry->name, "a List", {"apiVersion", "kind", "metadata", "items"}));
    }
    if (!items) {
      errors.add(node, "items", "is required in a List");
    } else if (!items->IsSequence() && !items->IsNull()) {
      errors.add(*items, "items", "expected a list, found " + std::string(nodeKindName(*items)));
    }
    if (!errors.empty()) {
      reject(document, errors, out);
      return;
    }
    size_t position = 0;
    for (const YAML::Node& item : *items) {
      const std::string item_path = appendIndex("items", position);
      const int line = item.Mark().is_null() ? document.line : item.Mark().line + 1 + offset_;
      ManifestDocument item_document = newDocument(document.index, line, item_path);
      DocumentErrors item_errors(source_, offset_);
      ++position;
      if (out.size() >= kMaxDocumentsPerFile) {
        item_errors.add(item, item_path,
                        "the file has more than " + std::to_string(kMaxDocumentsPerFile) +
                            " documents and items; this one and the rest were not read");
        reject(item_document, item_errors, out);
        return;
      }
      if (item.IsNull()) {
        item_errors.add(item, item_path, "list entry has no value");
        reject(item_document, item_errors, out);
        continue;
      }
      readObject(item, item_path, item_document, item_errors, /*in_list=*/true, out);
    }
  }

  ObjectMeta readMetadata(const YAML::Node& node, const std::string& path, ObjectKind kind,
                          DocumentErrors& errors) {
    ObjectMeta meta;
    if (!node.IsMap()) {
      errors.add(node, path, "expected a map, found " + std::string(nodeKindName(node)));
      return meta;
    }
    bool has_generate_name = false;
    bool has_name = false;
    for (const MapEntry& entry : mapEntries(node, path, errors)) {
      const std::string field_path = appendField(path, entry.name);
      if (entry.name == "name") {
        has_name = true;
        if (auto name = readString(entry.value, field_path, errors)) {
          const std::string problem = kind == ObjectKind::kService ? checkDns1035Label(*name)
                                                                   : checkDns1123Subdomain(*name);
          if (!problem.empty()) {
            errors.add(entry.value, field_path, "name " + problem);
          }
          meta.name = std::move(*name);
        }
      } else if (entry.name == "namespace") {
        if (auto namespace_ = readString(entry.value, field_path, errors)) {
          if (std::string problem = checkDns1123Label(*namespace_); !problem.empty()) {
            errors.add(entry.value, field_path, "namespace " + problem);
          }
          meta.namespace_ = std::move(*namespace_);
        }
      } else if (entry.name == "labels") {
        for (StringEntry& label : readStringMap(entry.value, field_path, errors)) {
          const std::string label_path = appendKey(field_path, label.key);
          if (std::string problem = checkQualifiedName(label.key); !problem.empty()) {
            errors.add(label.key_node, label_path, "label " + problem);
          } else if (std::string value_problem = checkLabelValue(label.value);
                     !value_problem.empty()) {
            errors.add(label.key_node, label_path, "label " + value_problem);
          }
          meta.labels.emplace(std::move(label.key), std::move(label.value));
        }
      } else if (entry.name == "annotations") {
        size_t total = 0;
        for (StringEntry& annotation : readStringMap(entry.value, field_path, errors)) {
          if (std::string problem = checkQualifiedName(annotation.key); !problem.empty()) {
            errors.add(annotation.key_node, appendKey(field_path, annotation.key),
                       "annotation " + problem);
          }
          total += annotation.key.size() + annotation.value.size();
          meta.annotations.emplace(std::move(annotation.key), std::move(annotation.value));
        }
        if (total > kMaxAnnotationBytes) {
          errors.add(entry.value, field_path,
                     "annotations take " + std::to_string(total) +
                         " bytes, more than Kubernetes' limit of " +
                         std::to_string(kMaxAnnotationBytes));
        }
      } else if (entry.name == "generation") {
        if (auto generation = readInteger(entry.value, field_path, 0,
                                          std::numeric_limits<int64_t>::max(), errors)) {
          meta.generation = *generation;
        }
      } else if (entry.name == "generateName") {
        has_generate_name = true;
      } else if (!isServerSetField(entry.name)) {
        errors.add(entry.key, path,
                   unknownFieldReason(entry.name, "metadata",
                                      {"name", "namespace", "labels", "annotations",
                                       "generation (fields the API server sets are ignored)"}));
      }
    }
    if (!has_name) {
      errors.add(node, appendField(path, "name"),
                 has_generate_name ? "is required (generateName needs an API server to pick "
                                     "the name; a directory source cannot)"
                                   : "is required");
    }
    if (meta.namespace_.empty()) {
      meta.namespace_ = "default";
    }
    return meta;
  }

  // Set by the API server, present in manifests exported with `kubectl get -o yaml`.
  static bool isServerSetField(std::string_view name) {
    static constexpr std::array<std::string_view, 9> kFields = {
        "uid",           "resourceVersion",   "creationTimestamp",
        "managedFields", "selfLink",          "ownerReferences",
        "finalizers",    "deletionTimestamp", "deletionGracePeriodSeconds"};
    for (std::string_view field : kFields) {
      if (field == name) {
        return true;
      }
    }
    return false;
  }

  static ManifestObject makeObject(ObjectKind kind) {
    switch (kind) {
      case ObjectKind::kService:
        return ManifestObject{Service{}};
      case ObjectKind::kWorkload:
        return ManifestObject{Workload{}};
      case ObjectKind::kTrafficRoute:
        return ManifestObject{TrafficRoute{}};
      case ObjectKind::kDestinationPolicy:
        return ManifestObject{DestinationPolicy{}};
      case ObjectKind::kAuthorizationPolicy:
        return ManifestObject{AuthorizationPolicy{}};
      case ObjectKind::kPeerAuthentication:
        return ManifestObject{PeerAuthentication{}};
      case ObjectKind::kMeshConfig:
        return ManifestObject{MeshConfig{}};
    }
    return ManifestObject{Service{}};
  }

  void readSpec(const YAML::Node& node, const std::string& path, ManifestObject& object,
                DocumentErrors& errors) {
    std::visit(
        [&](auto& value) {
          using T = std::decay_t<decltype(value)>;
          if constexpr (std::is_same_v<T, Service>) {
            readServiceSpec(node, path, value, errors);
          } else if constexpr (std::is_same_v<T, Workload>) {
            loadSpec(node, source_, path, limits_, &checkWorkload, value.spec, errors);
          } else if constexpr (std::is_same_v<T, TrafficRoute>) {
            loadSpec(node, source_, path, limits_, &checkTrafficRoute, value.spec, errors);
          } else if constexpr (std::is_same_v<T, DestinationPolicy>) {
            loadSpec(node, source_, path, limits_, &checkDestinationPolicy, value.spec, errors);
          } else if constexpr (std::is_same_v<T, AuthorizationPolicy>) {
            loadSpec<weft::mesh::v1alpha1::AuthorizationPolicySpec>(node, source_, path, limits_,
                                                                    nullptr, value.spec, errors);
          } else if constexpr (std::is_same_v<T, PeerAuthentication>) {
            loadSpec(node, source_, path, limits_, &checkPeerAuthentication, value.spec, errors);
          } else {
            loadSpec(node, source_, path, limits_, &checkMeshConfig, value.spec, errors);
          }
        },
        object.value);
  }

  std::string source_;
  const YamlLimits& limits_;
  // 0-based line of the current document's first line in the file.
  int offset_ = 0;
};

}  // namespace

std::string_view kindName(ObjectKind kind) {
  return kKindNames[static_cast<size_t>(kind)];
}

const ObjectMeta& ManifestObject::meta() const {
  return std::visit([](const auto& object) -> const ObjectMeta& { return object.meta; }, value);
}

std::string ManifestError::toString() const {
  std::string out = file;
  if (line > 0) {
    out += ":" + std::to_string(line);
    if (column > 0) {
      out += ":" + std::to_string(column);
    }
  }
  out += ": ";
  if (document) {
    out += "document #" + std::to_string(*document);
    if (!kind.empty() || !name.empty()) {
      out += " (";
      out += kind.empty() ? "?" : kind;
      if (!name.empty()) {
        out += " " + namespace_ + "/" + name;
      }
      out += ")";
    }
    out += ": ";
  }
  if (!field_path.empty()) {
    out += field_path + ": ";
  }
  return out + reason;
}

ManifestFile readManifests(std::string_view text, std::string_view source_name,
                           const YamlLimits& limits) {
  return FileReader(source_name, limits).read(text);
}

ManifestFile readManifestFile(const std::string& path, std::string_view source_name,
                              const YamlLimits& limits) {
  std::string text;
  ConfigErrors errors = config::readConfigFile(path, text, limits);
  if (!errors.empty()) {
    FileReader reader(source_name, limits);
    ManifestFile file;
    file.source = source_name;
    file.documents.push_back(reader.fileError(errors.front().reason));
    return file;
  }
  return readManifests(text, source_name, limits);
}

}  // namespace weft::controlplane
