#pragma once

#include <google/protobuf/duration.pb.h>

#include <string>
#include <string_view>

namespace weft::config {

// Parses a human duration as Kubernetes users write them (Go's time.ParseDuration
// syntax, the form Istio and Linkerd CRDs use): "250ms", "1.5s", "2m", "1h30m",
// "100us". Protobuf's JSON form "0.250s" is a subset. A bare number without a
// unit is rejected because "5" could mean seconds or milliseconds; negative
// durations are rejected because no Weft setting means anything by them.
//
// Returns an empty string on success, else the reason the text is not a duration.
std::string parseDurationText(std::string_view text, google::protobuf::Duration& out);

// The shortest unit-suffixed text for a duration, e.g. "250ms", "1h30m", "0s".
std::string formatDurationText(const google::protobuf::Duration& duration);

}  // namespace weft::config
