#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "proxy/tracing/trace_context.h"

namespace weft::proxy {

// One span the proxy made, kept until it is exported. It owns its texts: it outlives the
// request (and the snapshot) that made it.
struct FinishedSpan {
  RequestTrace trace;
  bool server = false;  // SERVER (inbound: the proxy received the call) or CLIENT (it made one)
  std::string name;     // "<METHOD> <authority>": low cardinality, unlike paths
  std::chrono::system_clock::time_point start;
  std::chrono::nanoseconds duration{0};
  bool error = false;  // a 5xx, no response, or a response flag
  std::vector<std::pair<std::string, std::string>> string_tags;
  std::vector<std::pair<std::string, int64_t>> int_tags;
};

}  // namespace weft::proxy
