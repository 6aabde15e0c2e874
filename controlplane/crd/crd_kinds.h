#pragma once

#include <google/protobuf/descriptor.h>

#include <string_view>
#include <vector>

namespace weft::controlplane::crd {

inline constexpr std::string_view kGroup = "weft.dev";
inline constexpr std::string_view kVersion = "v1alpha1";
inline constexpr std::string_view kCategory = "weft";

// One x-kubernetes-validations entry: a CEL expression and the message shown when it is false.
struct CelRule {
  std::string_view rule;
  std::string_view message;
};

// A CEL rule on every schema of one proto message, wherever the message occurs; `self` is
// that message's object.
struct MessageCelRule {
  std::string_view message;  // full name, e.g. "weft.mesh.v1alpha1.HttpRouteRule"
  CelRule rule;
};

// A column of `kubectl get`.
struct PrinterColumn {
  std::string_view name;
  std::string_view type;
  std::string_view json_path;
  std::string_view description;
  int priority = 0;  // 0: always shown; 1: only with -o wide
};

// One custom resource kind of the mesh API.
struct MeshKind {
  std::string_view kind;
  std::string_view plural;
  std::string_view singular;
  std::string_view short_name;
  const google::protobuf::Descriptor* spec;
  // Columns particular to the kind; Accepted and Age follow on every kind.
  std::vector<PrinterColumn> columns;
  // Rules on the whole object (`self` has apiVersion, kind, metadata.name, spec, status).
  std::vector<CelRule> object_rules;
};

// The six kinds, in a fixed order.
const std::vector<MeshKind>& meshKinds();

// Constraints that span fields, which neither the OpenAPI schema nor the per-field
// (weft.v1.rules) can state; the API server checks them with CEL.
const std::vector<MessageCelRule>& messageCelRules();

}  // namespace weft::controlplane::crd
