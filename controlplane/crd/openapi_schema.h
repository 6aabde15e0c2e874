#pragma once

#include <google/protobuf/descriptor.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "controlplane/crd/crd_kinds.h"
#include "controlplane/crd/proto_comments.h"
#include "controlplane/crd/yaml_writer.h"
#include "weft/v1/options.pb.h"

namespace weft::controlplane::crd {

// The pattern of a google.protobuf.Duration written as text: exactly what
// common/config/duration_text.h accepts ("250ms", "1.5s", "1h30m", "0"; no sign but "+", no
// spaces). Every text it matches is also a valid Go duration, so CEL's duration() can read it.
inline constexpr std::string_view kDurationPattern =
    "^\\+?(0|(([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(ns|us|\xC2\xB5s|ms|s|m|h))+)$";

// Longest duration text accepted. The control plane has no such limit, but CEL's cost
// estimate needs one for the duration() bounds checks, and no sensible duration comes close.
inline constexpr size_t kDurationMaxLength = 64;

// How often the API server may evaluate a schema node's CEL rules for one object: the
// product of the maxItems of the lists and maps above it. It multiplies a rule's estimated
// cost by this number and refuses a CRD when the product of one rule passes 10 million.
inline constexpr uint64_t kUnboundedCardinality = UINT64_MAX;

// A oneof's CEL rule costs about 20 units per member. Below this many evaluations it is
// comfortably inside the budget; above it (header matchers nested in three lists) the oneof
// is stated as an OpenAPI oneOf instead, which has no CEL cost.
inline constexpr uint64_t kMaxOneofRuleCardinality = 20'000;

// Translates proto messages into structural OpenAPI v3 schemas (what a Kubernetes CRD
// accepts), following protobuf's JSON mapping as the control plane's loader reads it:
// lowerCamelCase keys, enums by name, wrappers as plain scalars, Durations as text.
//
// The (weft.v1.rules) of each field become the matching schema keywords and the
// (weft.v1.oneof_required) oneofs CEL rules, so the API server and the control plane's
// validator (common/config/proto_validator.h) enforce the same contract. Where they cannot
// be equal the schema is the stricter one, e.g. an explicit 0 or "" for a bounded field
// without presence, which the validator takes as "unset".
class OpenApiSchemaBuilder {
 public:
  OpenApiSchemaBuilder(const ProtoComments& comments, const std::vector<MessageCelRule>& rules)
      : comments_(comments), rules_(rules) {}

  // The schema of `message`'s JSON form. `description` replaces the message's own comment
  // when not empty. Returns an empty string, or why the message cannot be expressed (a
  // recursive type, an unsupported well-known type, a pattern that is not portable).
  std::string messageSchema(const google::protobuf::Descriptor& message,
                            const std::string& description, YamlValue& out);

 private:
  // Where a value sits; the validator applies `required` and bounds slightly differently
  // to each.
  enum class Position { kSingular, kListItem, kMapValue };

  // The schema of one field: an object with additionalProperties for a map, an array for a
  // repeated field, else its value's schema.
  std::string fieldSchema(const google::protobuf::FieldDescriptor& field, YamlValue& out);
  // The schema of one value of `field` (the map value field for maps), under the rules the
  // validator applies at that position. `description` is given to message schemas, which
  // extend it with their oneofs; other schemas get theirs from the caller.
  std::string valueSchema(const google::protobuf::FieldDescriptor& field,
                          const weft::v1::FieldRules& rules, Position position,
                          const std::string& description, YamlValue& out);
  // A scalar of `type_field`'s type (a wrapper's `value` field, or `field` itself), bounded
  // by the rules declared on `field`.
  std::string scalarSchema(const google::protobuf::FieldDescriptor& type_field,
                           const google::protobuf::FieldDescriptor& field,
                           const weft::v1::FieldRules& rules, Position position, bool has_presence,
                           YamlValue& out);
  std::string fieldDescription(const google::protobuf::FieldDescriptor& field) const;
  // Adds a CEL rule to `schema`, or returns why it cannot go there (`where` names the field
  // or message for the message).
  std::string addRule(YamlValue& schema, const std::string& where, std::string_view rule,
                      std::string_view message) const;

  const ProtoComments& comments_;
  const std::vector<MessageCelRule>& rules_;
  // Messages being expanded, to refuse recursive types (a structural schema has no $ref).
  std::vector<const google::protobuf::Descriptor*> stack_;
  // Evaluations per object of the schema being built (see kUnboundedCardinality).
  uint64_t cardinality_ = 1;
};

// Appends a CEL rule to a schema's x-kubernetes-validations.
void addCelRule(YamlValue& schema, std::string_view rule, std::string_view message);

// Puts a schema's keywords in the order the generator writes them (description first,
// validations last), so output does not depend on the order they were added in.
void orderSchemaKeys(YamlValue& schema);

}  // namespace weft::controlplane::crd
