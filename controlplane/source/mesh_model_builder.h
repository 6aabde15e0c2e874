#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "controlplane/model/mesh_model.h"
#include "controlplane/source/manifest_reader.h"

namespace weft::controlplane {

// An object's identity across reloads: kind, namespace and name.
struct ObjectId {
  ObjectKind kind = ObjectKind::kService;
  std::string namespace_;
  std::string name;

  auto operator<=>(const ObjectId&) const = default;
  bool operator==(const ObjectId&) const = default;

  // "TrafficRoute default/reviews".
  std::string toString() const;
};

// How many documents were accepted, rejected and ignored.
struct DocumentCounts {
  uint64_t accepted = 0;
  uint64_t rejected = 0;
  uint64_t ignored = 0;

  bool operator==(const DocumentCounts&) const = default;
};

// The kind a document is counted under: a mesh kind's name ("TrafficRoute"), "other" for
// kinds the mesh does not read (and unknown weft.dev kinds), "unknown" when the document names
// none. A fixed set, so it can label a metric.
std::string countedKind(const ManifestDocument& document);

// The outcome of one build.
struct ModelBuild {
  // Never null. The previous build's model when nothing changed.
  MeshModelPtr model;
  // Whether `model` differs in content from the previous build's.
  bool changed = false;
  // Every rejected document's errors and every duplicate definition, in file and document
  // order.
  std::vector<ManifestError> errors;
  // By countedKind(); duplicates count as rejected.
  std::map<std::string, DocumentCounts> documents;
  // Objects whose document is broken now and whose last good version was kept, with where
  // that version came from: "TrafficRoute default/reviews (routes.yaml#0)".
  std::vector<std::string> kept;
};

// Turns the manifests of a set of files into one MeshModel, remembering the last good version
// of every object between builds:
//  - Files are taken in order of their names, documents in file order. An object defined a
//    second time (same kind, namespace and name) is an error on the later definition, which
//    names both places; the first one counts.
//  - A rejected document whose kind and name are readable keeps that object's last good
//    version, so a typo in a route does not delete the route. When even that is unreadable
//    (a YAML syntax error, an unreadable file), every object last read from that file is kept,
//    since none of them can be known to be gone. A file whose source ends in '/' stands for
//    a directory that could not be read, and covers every file under it.
//  - Other objects no file defines any more are dropped.
// Not thread-safe; one owner builds.
class MeshModelBuilder {
 public:
  ModelBuild build(std::vector<ManifestFile> files);

  // The last build's model; an empty model before the first build.
  MeshModelPtr current() const { return current_; }

 private:
  struct Entry {
    ManifestObject object;
    std::string file;
  };

  static MeshModelPtr makeModel(const std::map<ObjectId, Entry>& objects);
  static bool sameObjects(const std::map<ObjectId, Entry>& a, const std::map<ObjectId, Entry>& b);

  std::map<ObjectId, Entry> last_good_;
  MeshModelPtr current_ = std::make_shared<const MeshModel>();
  bool built_ = false;
};

}  // namespace weft::controlplane
