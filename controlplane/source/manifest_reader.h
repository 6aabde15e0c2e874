#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/config/yaml_to_proto.h"
#include "controlplane/model/mesh_model.h"

namespace weft::controlplane {

// Reads Kubernetes manifests, the files users `kubectl apply`, into the typed objects of the
// mesh model. A file holds any number of YAML documents separated by "---" (or one
// `kind: List` with `items`); each document is read on its own, so one broken document costs
// only itself. Every document ends up accepted (a typed object), rejected (errors that name
// the file, document, kind and name, field and reason) or ignored (a kind the mesh does not
// read, such as a Deployment: users point the mesh at the same manifests they deploy).
//
// Kinds read:
//  - weft.dev/v1alpha1 TrafficRoute, DestinationPolicy, AuthorizationPolicy,
//    PeerAuthentication, MeshConfig and Workload: `spec` is loaded strictly into the kind's
//    Spec message (common/config/yaml_to_proto.h), validated against its declared rules and
//    the cross-field rules of spec_checks.h; `status` is ignored. Another weft.dev version or
//    kind is an error.
//  - v1 Service: selector and ports (service_manifest.h).
// metadata: name (required), namespace ("default" when left out), labels, annotations and
// generation are read with Kubernetes' syntax rules; fields the API server sets (uid,
// resourceVersion, managedFields, ...) are ignored; any other field is an error.

enum class ObjectKind : uint8_t {
  kService,
  kWorkload,
  kTrafficRoute,
  kDestinationPolicy,
  kAuthorizationPolicy,
  kPeerAuthentication,
  kMeshConfig,
};

inline constexpr size_t kObjectKindCount = 7;

// "Service", "TrafficRoute", ...: the kind as written in manifests.
std::string_view kindName(ObjectKind kind);

// One object read from a manifest. The alternatives are in ObjectKind's order.
struct ManifestObject {
  std::variant<Service, Workload, TrafficRoute, DestinationPolicy, AuthorizationPolicy,
               PeerAuthentication, MeshConfig>
      value;

  ObjectKind kind() const { return static_cast<ObjectKind>(value.index()); }
  const ObjectMeta& meta() const;
};

// One problem with a document, with everything a user needs to find it.
struct ManifestError {
  std::string file;
  // 0-based index of the document in the file; unset for problems with the file as a whole
  // (unreadable, too large).
  std::optional<size_t> document;
  // As far as the document says; empty when unknown.
  std::string kind;
  std::string namespace_;
  std::string name;
  // Where in the document, e.g. "spec.rules[0].backends[1].weight" (proto field names, as in
  // every Weft config error); "items[2].spec..." inside a List; empty for the whole document.
  std::string field_path;
  // 1-based, in the file; 0 when unknown.
  int line = 0;
  int column = 0;
  std::string reason;

  // "routes.yaml:12:7: document 2 (TrafficRoute default/reviews): spec.rules[0]...: reason".
  std::string toString() const;
};

enum class DocumentResult : uint8_t { kAccepted, kRejected, kIgnored };

// The outcome of one document (or one item of a List document).
struct ManifestDocument {
  size_t index = 0;
  // "items[3]" for an item of a List, else empty.
  std::string item;
  // 1-based line of the document's (or item's) start in the file.
  int line = 0;
  // As written, as far as readable; namespace_ is "default" when the document leaves it out.
  std::string api_version;
  std::string kind;
  std::string namespace_;
  std::string name;
  DocumentResult result = DocumentResult::kIgnored;
  // Set when accepted.
  std::optional<ManifestObject> object;
  // Set when rejected: at least one, at most config::kMaxReportedErrors.
  std::vector<ManifestError> errors;
  // "routes.yaml#2", or "list.yaml#0.items[3]": the ObjectMeta.origin of the object.
  std::string origin;
};

struct ManifestFile {
  std::string source;
  std::vector<ManifestDocument> documents;
};

// A file with more documents is read up to this many and reported: a tiny document can make
// a much larger error, so the count bounds what a hostile file costs. Larger sets of objects
// belong in several files.
inline constexpr size_t kMaxDocumentsPerFile = 10'000;

// Reads the manifests in `text`. `source_name` names the file in errors and origins. Each
// document is bounded by `limits` (nodes after alias expansion, depth, key length); text
// longer than limits.max_document_bytes is one error.
ManifestFile readManifests(std::string_view text, std::string_view source_name,
                           const config::YamlLimits& limits = {});

// Reads the file at `path`; an unreadable or oversized file is one error (checked before
// reading).
ManifestFile readManifestFile(const std::string& path, std::string_view source_name,
                              const config::YamlLimits& limits = {});

}  // namespace weft::controlplane
