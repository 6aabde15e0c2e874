#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
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
//
// The builder holds what each file defines, so a change is applied file by file (update()):
// only the objects the changed files define, or defined before, are looked at again, and the
// new model shares every other object with the previous one. With 10,000 files and one
// changed, that is the difference between milliseconds and a good part of a second.
// build() is the same with the whole set of files. Not thread-safe; one owner builds.
class MeshModelBuilder {
 public:
  MeshModelBuilder();
  ~MeshModelBuilder();
  MeshModelBuilder(const MeshModelBuilder&) = delete;
  MeshModelBuilder& operator=(const MeshModelBuilder&) = delete;

  // `files` is every file there is now: files the builder holds that are not among them are
  // gone. Errors and counts cover every file.
  ModelBuild build(std::vector<ManifestFile> files);

  // `changed` files are new or have new content; `removed` names (sources) are gone; every
  // other file is as in the last build or update. Errors and counts cover the changed files,
  // and the duplicate definitions of the objects they define.
  ModelBuild update(std::vector<ManifestFile> changed, const std::vector<std::string>& removed);

  // The last build's model; an empty model before the first build.
  MeshModelPtr current() const { return current_; }

  // Errors in the files as they are now: the errors of every rejected document, and one per
  // duplicate definition.
  size_t errorCount() const;

 private:
  struct FileRecord;
  struct Definition;
  struct Effective;

  void removeFile(const std::string& source, std::set<ObjectId>& affected);
  void addFile(ManifestFile file, std::set<ObjectId>& affected, ModelBuild& result,
               std::vector<std::pair<std::string, size_t>>& counted_definitions);
  void affectObjectsOfBrokenFile(const std::string& source, std::set<ObjectId>& affected) const;
  bool inBrokenFile(const std::string& file) const;

  std::map<std::string, FileRecord> files_;
  // Every accepted definition of each object, by (file, document position): the first wins.
  std::map<ObjectId, std::map<std::pair<std::string, size_t>, Definition>> definitions_;
  // How many files hold a rejected document that names the object.
  std::map<ObjectId, size_t> broken_references_;
  // Files that hold a document too broken to name its object.
  std::set<std::string> broken_files_;
  // The objects of the current model, with the file each came from.
  std::map<ObjectId, Effective> effective_;
  // effective_ by file, to find what a file that broke keeps.
  std::map<std::string, std::set<ObjectId>> effective_by_file_;
  size_t document_errors_ = 0;
  size_t duplicate_definitions_ = 0;
  MeshModelPtr current_ = std::make_shared<const MeshModel>();
  bool built_ = false;
};

}  // namespace weft::controlplane
