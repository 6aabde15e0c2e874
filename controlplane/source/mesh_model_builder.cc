#include "controlplane/source/mesh_model_builder.h"

#include <google/protobuf/util/message_differencer.h>

#include <algorithm>
#include <optional>
#include <set>
#include <type_traits>
#include <utility>
#include <variant>

namespace weft::controlplane {
namespace {

// The kind a document names, if it is one the mesh reads under the API group it gives.
std::optional<ObjectKind> meshKind(const ManifestDocument& document) {
  const bool weft_group = document.api_version.rfind("weft.dev/", 0) == 0;
  for (size_t i = 0; i < kObjectKindCount; ++i) {
    const auto kind = static_cast<ObjectKind>(i);
    if (kindName(kind) == document.kind) {
      const bool service = kind == ObjectKind::kService;
      if ((service && document.api_version == "v1") || (!service && weft_group)) {
        return kind;
      }
    }
  }
  return std::nullopt;
}

ObjectId idOf(const ManifestObject& object) {
  return ObjectId{object.kind(), object.meta().namespace_, object.meta().name};
}

bool sameMeta(const ObjectMeta& a, const ObjectMeta& b) {
  return a.name == b.name && a.namespace_ == b.namespace_ && a.labels == b.labels &&
         a.annotations == b.annotations && a.generation == b.generation && a.origin == b.origin;
}

bool samePorts(const std::vector<ServicePort>& a, const std::vector<ServicePort>& b) {
  return std::equal(
      a.begin(), a.end(), b.begin(), b.end(), [](const ServicePort& x, const ServicePort& y) {
        return x.name == y.name && x.port == y.port && x.target_port == y.target_port &&
               x.target_port_name == y.target_port_name && x.protocol == y.protocol;
      });
}

bool sameObject(const ManifestObject& a, const ManifestObject& b) {
  if (a.value.index() != b.value.index() || !sameMeta(a.meta(), b.meta())) {
    return false;
  }
  return std::visit(
      [&b](const auto& left) {
        using T = std::decay_t<decltype(left)>;
        const T& right = std::get<T>(b.value);
        if constexpr (std::is_same_v<T, Service>) {
          return left.selector == right.selector && samePorts(left.ports, right.ports);
        } else if constexpr (std::is_same_v<T, Workload>) {
          return left.ready == right.ready &&
                 google::protobuf::util::MessageDifferencer::Equals(left.spec, right.spec);
        } else {
          return google::protobuf::util::MessageDifferencer::Equals(left.spec, right.spec);
        }
      },
      a.value);
}

}  // namespace

std::string ObjectId::toString() const {
  return std::string(kindName(kind)) + " " + namespace_ + "/" + name;
}

std::string countedKind(const ManifestDocument& document) {
  if (const std::optional<ObjectKind> kind = meshKind(document)) {
    return std::string(kindName(*kind));
  }
  return document.kind.empty() ? "unknown" : "other";
}

struct MeshModelBuilder::Definition {
  std::shared_ptr<const ManifestObject> object;
  // "a.yaml#0 (line 1)", for the error on a later definition.
  std::string place;
  // The document's, for the error when this is a later definition.
  size_t document = 0;
  std::string kind;
  std::string item;
  int line = 0;
};

struct MeshModelBuilder::FileRecord {
  // The objects the file defines, and at which position (document order) of the file.
  std::vector<std::pair<ObjectId, size_t>> defined;
  // Objects named by its rejected documents.
  std::set<ObjectId> broken_objects;
  // Whether a rejected document of it names no object.
  bool broken = false;
  // Errors of its rejected documents.
  size_t errors = 0;
};

struct MeshModelBuilder::Effective {
  std::shared_ptr<const ManifestObject> object;
  std::string file;
};

namespace {

// The model's map for objects of type T.
template <class T>
ObjectMap<T>* mapFor(MeshModel& model) {
  if constexpr (std::is_same_v<T, Service>) {
    return &model.services;
  } else if constexpr (std::is_same_v<T, Workload>) {
    return &model.workloads;
  } else if constexpr (std::is_same_v<T, TrafficRoute>) {
    return &model.traffic_routes;
  } else if constexpr (std::is_same_v<T, DestinationPolicy>) {
    return &model.destination_policies;
  } else if constexpr (std::is_same_v<T, AuthorizationPolicy>) {
    return &model.authorization_policies;
  } else if constexpr (std::is_same_v<T, PeerAuthentication>) {
    return &model.peer_authentications;
  } else {
    return nullptr;  // MeshConfig: a single pointer
  }
}

// Removes the object `id` from `model`, then adds `object` (which is `id`) when not null. The
// model's pointer shares ownership of the ManifestObject: nothing is copied.
void replaceObject(MeshModel& model, const ObjectId& id,
                   const std::shared_ptr<const ManifestObject>& object) {
  const std::string key = objectKey(id.namespace_, id.name);
  using Kinds = std::variant<Service, Workload, TrafficRoute, DestinationPolicy,
                             AuthorizationPolicy, PeerAuthentication, MeshConfig>;
  static_assert(std::is_same_v<Kinds, decltype(ManifestObject::value)>);
  auto apply = [&]<size_t I>(std::integral_constant<size_t, I>) {
    using T = std::variant_alternative_t<I, Kinds>;
    if (static_cast<size_t>(id.kind) != I) {
      return;
    }
    std::shared_ptr<const T> value;
    if (object) {
      value = std::shared_ptr<const T>(object, &std::get<T>(object->value));
    }
    if constexpr (std::is_same_v<T, MeshConfig>) {
      model.mesh_config = std::move(value);
    } else {
      ObjectMap<T>& map = *mapFor<T>(model);
      if (value) {
        map.insert_or_assign(key, std::move(value));
      } else {
        map.erase(key);
      }
    }
  };
  [&]<size_t... I>(std::index_sequence<I...>) {
    (apply(std::integral_constant<size_t, I>{}), ...);
  }
  (std::make_index_sequence<std::variant_size_v<Kinds>>{});
}

}  // namespace

MeshModelBuilder::MeshModelBuilder() = default;
MeshModelBuilder::~MeshModelBuilder() = default;

size_t MeshModelBuilder::errorCount() const {
  return document_errors_ + duplicate_definitions_;
}

ModelBuild MeshModelBuilder::build(std::vector<ManifestFile> files) {
  std::set<std::string> present;
  for (const ManifestFile& file : files) {
    present.insert(file.source);
  }
  std::vector<std::string> removed;
  for (const auto& [source, record] : files_) {
    if (present.count(source) == 0) {
      removed.push_back(source);
    }
  }
  return update(std::move(files), removed);
}

bool MeshModelBuilder::inBrokenFile(const std::string& file) const {
  if (broken_files_.count(file) != 0) {
    return true;
  }
  return std::any_of(broken_files_.begin(), broken_files_.end(),
                     [&file](const std::string& broken) {
                       return !broken.empty() && broken.back() == '/' && file.rfind(broken, 0) == 0;
                     });
}

void MeshModelBuilder::affectObjectsOfBrokenFile(const std::string& source,
                                                 std::set<ObjectId>& affected) const {
  // A directory ("sub/") covers every file under it; those sort right after it.
  for (auto it = effective_by_file_.lower_bound(source);
       it != effective_by_file_.end() &&
       (it->first == source || (source.back() == '/' && it->first.rfind(source, 0) == 0));
       ++it) {
    affected.insert(it->second.begin(), it->second.end());
  }
}

void MeshModelBuilder::removeFile(const std::string& source, std::set<ObjectId>& affected) {
  auto found = files_.find(source);
  if (found == files_.end()) {
    return;
  }
  const FileRecord& record = found->second;
  for (const auto& [id, position] : record.defined) {
    auto definitions = definitions_.find(id);
    if (definitions == definitions_.end()) {
      continue;
    }
    if (definitions->second.size() > 1) {
      --duplicate_definitions_;
    }
    definitions->second.erase({source, position});
    if (definitions->second.empty()) {
      definitions_.erase(definitions);
    }
    affected.insert(id);
  }
  for (const ObjectId& id : record.broken_objects) {
    auto references = broken_references_.find(id);
    if (references != broken_references_.end() && --references->second == 0) {
      broken_references_.erase(references);
    }
    affected.insert(id);
  }
  if (record.broken) {
    broken_files_.erase(source);
    affectObjectsOfBrokenFile(source, affected);
  }
  document_errors_ -= record.errors;
  files_.erase(found);
}

void MeshModelBuilder::addFile(ManifestFile file, std::set<ObjectId>& affected, ModelBuild& result,
                               std::vector<std::pair<std::string, size_t>>& counted_definitions) {
  removeFile(file.source, affected);  // named twice in one update: the later one counts
  FileRecord record;
  for (size_t position = 0; position < file.documents.size(); ++position) {
    ManifestDocument& document = file.documents[position];
    switch (document.result) {
      case DocumentResult::kIgnored:
        ++result.documents[countedKind(document)].ignored;
        break;
      case DocumentResult::kRejected: {
        ++result.documents[countedKind(document)].rejected;
        const std::optional<ObjectKind> kind = meshKind(document);
        if (kind && !document.name.empty()) {
          const ObjectId id{*kind, document.namespace_, document.name};
          if (record.broken_objects.insert(id).second) {
            ++broken_references_[id];
          }
          affected.insert(id);
        } else {
          record.broken = true;
        }
        record.errors += document.errors.size();
        std::move(document.errors.begin(), document.errors.end(),
                  std::back_inserter(result.errors));
        break;
      }
      case DocumentResult::kAccepted: {
        const ObjectId id = idOf(*document.object);
        Definition definition;
        definition.place = document.origin + " (line " + std::to_string(document.line) + ")";
        definition.document = document.index;
        definition.kind = std::move(document.kind);
        definition.item = std::move(document.item);
        definition.line = document.line;
        definition.object = std::make_shared<const ManifestObject>(std::move(*document.object));
        auto& definitions = definitions_[id];
        if (!definitions.empty()) {
          ++duplicate_definitions_;
        }
        definitions.emplace(std::make_pair(file.source, position), std::move(definition));
        record.defined.emplace_back(id, position);
        affected.insert(id);
        counted_definitions.emplace_back(file.source, record.defined.size() - 1);
        break;
      }
    }
  }
  if (record.broken) {
    broken_files_.insert(file.source);
    affectObjectsOfBrokenFile(file.source, affected);
  }
  document_errors_ += record.errors;
  files_.emplace(std::move(file.source), std::move(record));
}

ModelBuild MeshModelBuilder::update(std::vector<ManifestFile> changed,
                                    const std::vector<std::string>& removed) {
  ModelBuild result;
  std::set<ObjectId> affected;
  for (const std::string& source : removed) {
    removeFile(source, affected);
  }
  std::sort(changed.begin(), changed.end(),
            [](const ManifestFile& a, const ManifestFile& b) { return a.source < b.source; });
  // The old versions go first, so that which definition of an object comes first is decided
  // on the new set of files alone.
  for (const ManifestFile& file : changed) {
    removeFile(file.source, affected);
  }
  // (file, index into its record's `defined`) of each definition read now, to count it as
  // accepted or as a duplicate once every file is in.
  std::vector<std::pair<std::string, size_t>> counted_definitions;
  for (ManifestFile& file : changed) {
    addFile(std::move(file), affected, result, counted_definitions);
  }
  for (const auto& [source, index] : counted_definitions) {
    const auto& [id, position] = files_.at(source).defined[index];
    const auto& definitions = definitions_.at(id);
    const bool first = definitions.begin()->first == std::make_pair(source, position);
    DocumentCounts& counts = result.documents[std::string(kindName(id.kind))];
    ++(first ? counts.accepted : counts.rejected);
  }

  // Decide each affected object anew: its first definition, else its kept last good version,
  // else nothing.
  std::vector<std::pair<ObjectId, std::shared_ptr<const ManifestObject>>> model_changes;
  for (const ObjectId& id : affected) {
    std::optional<Effective> next;
    auto definitions = definitions_.find(id);
    auto current = effective_.find(id);
    if (definitions != definitions_.end()) {
      const auto& [first_place, first] = *definitions->second.begin();
      next = Effective{first.object, first_place.first};
      for (auto later = std::next(definitions->second.begin()); later != definitions->second.end();
           ++later) {
        const Definition& duplicate = later->second;
        ManifestError error;
        error.file = later->first.first;
        error.document = duplicate.document;
        error.kind = duplicate.kind;
        error.namespace_ = id.namespace_;
        error.name = id.name;
        error.field_path =
            duplicate.item.empty() ? "metadata.name" : duplicate.item + ".metadata.name";
        error.line = duplicate.line;
        error.reason = id.toString() + " is defined twice: here and first at " + first.place +
                       "; the first definition is used";
        result.errors.push_back(std::move(error));
      }
    } else if (current != effective_.end() &&
               (broken_references_.count(id) != 0 || inBrokenFile(current->second.file))) {
      result.kept.push_back(id.toString() + " (" + current->second.object->meta().origin + ")");
      continue;  // kept as it is
    }

    if (current == effective_.end() && !next) {
      continue;
    }
    if (current != effective_.end()) {
      effective_by_file_[current->second.file].erase(id);
      if (effective_by_file_[current->second.file].empty()) {
        effective_by_file_.erase(current->second.file);
      }
    }
    if (!next) {
      model_changes.emplace_back(id, nullptr);
      effective_.erase(current);
      continue;
    }
    effective_by_file_[next->file].insert(id);
    if (current != effective_.end() && (current->second.object == next->object ||
                                        sameObject(*current->second.object, *next->object))) {
      current->second.file = next->file;  // same content, maybe from another file now
      continue;
    }
    model_changes.emplace_back(id, next->object);
    effective_.insert_or_assign(id, std::move(*next));
  }
  std::stable_sort(result.errors.begin(), result.errors.end(),
                   [](const ManifestError& a, const ManifestError& b) {
                     return std::make_pair(a.file, a.document.value_or(0)) <
                            std::make_pair(b.file, b.document.value_or(0));
                   });

  if (built_ && model_changes.empty()) {
    result.model = current_;
    return result;
  }
  // The new model shares every unchanged object with the previous one.
  auto model = std::make_shared<MeshModel>(*current_);
  for (const auto& [id, object] : model_changes) {
    replaceObject(*model, id, object);
  }
  current_ = std::move(model);
  built_ = true;
  result.model = current_;
  result.changed = true;
  return result;
}

}  // namespace weft::controlplane
