#include "controlplane/source/mesh_model_builder.h"

#include <google/protobuf/util/message_differencer.h>

#include <algorithm>
#include <optional>
#include <set>

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

ModelBuild MeshModelBuilder::build(std::vector<ManifestFile> files) {
  std::sort(files.begin(), files.end(),
            [](const ManifestFile& a, const ManifestFile& b) { return a.source < b.source; });
  ModelBuild result;
  std::map<ObjectId, Entry> objects;
  // Where each object of this build was defined, for the message about a second definition.
  std::map<ObjectId, std::string> defined_at;
  std::set<ObjectId> broken_objects;
  std::set<std::string> broken_files;
  for (ManifestFile& file : files) {
    for (ManifestDocument& document : file.documents) {
      DocumentCounts& counts = result.documents[countedKind(document)];
      switch (document.result) {
        case DocumentResult::kIgnored:
          ++counts.ignored;
          break;
        case DocumentResult::kRejected: {
          ++counts.rejected;
          const std::optional<ObjectKind> kind = meshKind(document);
          if (kind && !document.name.empty()) {
            broken_objects.insert(ObjectId{*kind, document.namespace_, document.name});
          } else {
            broken_files.insert(file.source);
          }
          std::move(document.errors.begin(), document.errors.end(),
                    std::back_inserter(result.errors));
          break;
        }
        case DocumentResult::kAccepted: {
          const ObjectId id = idOf(*document.object);
          const std::string place =
              document.origin + " (line " + std::to_string(document.line) + ")";
          const auto [first, inserted] = defined_at.emplace(id, place);
          if (!inserted) {
            ++counts.rejected;
            ManifestError error;
            error.file = file.source;
            error.document = document.index;
            error.kind = document.kind;
            error.namespace_ = document.namespace_;
            error.name = document.name;
            error.field_path =
                document.item.empty() ? "metadata.name" : document.item + ".metadata.name";
            error.line = document.line;
            error.reason = id.toString() + " is defined twice: here and first at " + first->second +
                           "; the first definition is used";
            result.errors.push_back(std::move(error));
            break;
          }
          ++counts.accepted;
          objects.emplace(id, Entry{std::move(*document.object), file.source});
          break;
        }
      }
    }
  }
  // A source ending in '/' is a directory that could not be read: it covers its files.
  auto in_broken_file = [&broken_files](const std::string& file) {
    return std::any_of(
        broken_files.begin(), broken_files.end(), [&file](const std::string& broken) {
          return broken == file ||
                 (!broken.empty() && broken.back() == '/' && file.rfind(broken, 0) == 0);
        });
  };
  for (const auto& [id, entry] : last_good_) {
    if (objects.count(id) == 0 && (broken_objects.count(id) != 0 || in_broken_file(entry.file))) {
      result.kept.push_back(id.toString() + " (" + entry.object.meta().origin + ")");
      objects.emplace(id, entry);
    }
  }
  if (built_ && sameObjects(objects, last_good_)) {
    result.model = current_;
    return result;
  }
  current_ = makeModel(objects);
  last_good_ = std::move(objects);
  built_ = true;
  result.model = current_;
  result.changed = true;
  return result;
}

bool MeshModelBuilder::sameObjects(const std::map<ObjectId, Entry>& a,
                                   const std::map<ObjectId, Entry>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const auto& x, const auto& y) {
    return x.first == y.first && sameObject(x.second.object, y.second.object);
  });
}

MeshModelPtr MeshModelBuilder::makeModel(const std::map<ObjectId, Entry>& objects) {
  auto model = std::make_shared<MeshModel>();
  for (const auto& [id, entry] : objects) {
    const std::string key = objectKey(id.namespace_, id.name);
    std::visit(
        [&](const auto& object) {
          using T = std::decay_t<decltype(object)>;
          if constexpr (std::is_same_v<T, Service>) {
            model->services.emplace(key, object);
          } else if constexpr (std::is_same_v<T, Workload>) {
            model->workloads.emplace(key, object);
          } else if constexpr (std::is_same_v<T, TrafficRoute>) {
            model->traffic_routes.emplace(key, object);
          } else if constexpr (std::is_same_v<T, DestinationPolicy>) {
            model->destination_policies.emplace(key, object);
          } else if constexpr (std::is_same_v<T, AuthorizationPolicy>) {
            model->authorization_policies.emplace(key, object);
          } else if constexpr (std::is_same_v<T, PeerAuthentication>) {
            model->peer_authentications.emplace(key, object);
          } else {
            // The reader accepts only weft-system/default, so there is at most one.
            model->mesh_config = std::make_shared<const MeshConfig>(object);
          }
        },
        entry.object.value);
  }
  return model;
}

}  // namespace weft::controlplane
