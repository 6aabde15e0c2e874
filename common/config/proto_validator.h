#pragma once

#include <google/protobuf/message.h>

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/config/config_error.h"

namespace re2 {
class RE2;
}

namespace weft::config {

// Checks a message against the rules declared on its fields with
// (weft.v1.rules) and on its oneofs with (weft.v1.oneof_required); see
// proto/weft/v1/options.proto. Recurses into every set sub-message, list entry,
// map value and google.protobuf.Any whose type this binary knows. Enum fields must
// hold a declared value (binary input can carry any number).
//
// The same check runs on bootstrap files, on every xDS resource before it is
// accepted (a failure is a NACK whose detail is the first error), and on
// manifests in the control plane, so one rule is enforced the same way everywhere.
//
// Returns the violations (at most kMaxReportedErrors), each with its field path;
// empty when the message is valid. `source` is copied into each error.
class PatternCache;
ConfigErrors validateMessage(const google::protobuf::Message& message, std::string_view source = {},
                             PatternCache* patterns = nullptr);

// Compiled (weft.v1.rules) patterns kept across validations, for a long-running caller that
// validates many small messages of the same types (the control plane checks every
// DiscoveryRequest; compiling the type_url pattern for each ACK would dominate). Without one,
// patterns are compiled per validation, which keeps a one-off load's memory transient.
// Not thread-safe: one per thread.
class PatternCache {
 public:
  PatternCache();
  ~PatternCache();
  PatternCache(const PatternCache&) = delete;
  PatternCache& operator=(const PatternCache&) = delete;

  const re2::RE2* compiled(const google::protobuf::FieldDescriptor& field,
                           const std::string& pattern);

 private:
  std::unordered_map<const google::protobuf::FieldDescriptor*, std::unique_ptr<re2::RE2>> patterns_;
};

}  // namespace weft::config
