#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace weft::cli {

// A sample's labels, sorted by name, so that the same series has the same Labels in two
// scrapes whatever order the exporter wrote them in.
using Labels = std::vector<std::pair<std::string, std::string>>;

// The value of label `name`, or "" when the sample has none (as PromQL treats a missing label).
std::string_view labelValue(const Labels& labels, std::string_view name);

struct MetricSample {
  std::string name;
  Labels labels;
  double value = 0;
};

// Bounds on what one exposition may hold: the text comes from a process on the network.
struct TextParseLimits {
  size_t max_samples = 1'000'000;
  size_t max_labels_per_sample = 64;
  size_t max_line_bytes = 64 * 1024;
};

// Parses the Prometheus text exposition format (version 0.0.4): `# HELP`, `# TYPE` and other
// comments are skipped; each other non-blank line is `name{label="value",...} value
// [timestamp]`. Appends to `out` the samples whose metric name `keep` accepts (all when `keep`
// is empty). Returns an empty string, or "line N: what is wrong" at the first malformed line
// (`out` then holds the samples before it).
std::string parsePrometheusText(std::string_view text, std::vector<MetricSample>& out,
                                const std::function<bool(std::string_view)>& keep = {},
                                const TextParseLimits& limits = {});

// A sample value as the exposition format and the Prometheus HTTP API write it: a decimal or
// exponent float, or +Inf, -Inf, NaN. False when `text` is not exactly one of those.
bool parseSampleValue(std::string_view text, double& value);

}  // namespace weft::cli
