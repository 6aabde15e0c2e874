#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "proxy/tracing/trace_context.h"

namespace weft::proxy {

// Where spans go: Bootstrap.tracing's exporter settings, read by every worker's exporter from
// the snapshot it is exporting under.
struct SpanExportConfig {
  enum class Format : uint8_t { kOtlpJson, kZipkinJson };
  Format format = Format::kOtlpJson;
  std::string collector_cluster;
  std::string collector_path;
  std::string service_name;
  std::chrono::milliseconds flush_interval{1000};
  uint32_t max_batch = 512;
};

// An HTTP chain's tracing: the formats it reads and writes, its sampling share, the kind of
// span it makes, and its static tags. Present on a chain only when the bootstrap has `tracing`
// or the chain has its own; a chain without it leaves trace headers alone.
struct ChainTracingConfig {
  uint8_t formats = kTraceW3c | kTraceB3;
  // A new trace is sampled when a uniformly random 32-bit number is below this.
  uint64_t sample_threshold = (uint64_t{1} << 32) / 100;
  bool server_spans = false;  // inbound listener: SERVER spans; otherwise CLIENT
  bool export_spans = false;  // the bootstrap has an exporter
  std::vector<std::pair<std::string, std::string>> tags;
};

}  // namespace weft::proxy
