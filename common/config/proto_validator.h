#pragma once

#include <google/protobuf/message.h>

#include <string_view>

#include "common/config/config_error.h"

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
ConfigErrors validateMessage(const google::protobuf::Message& message,
                             std::string_view source = {});

}  // namespace weft::config
