#pragma once

#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

namespace weft::proxy {

// What a family's `# TYPE` line says.
enum class MetricType : uint8_t { kCounter, kGauge, kHistogram, kSummary, kUntyped };

// One label of a sample. Views: the writer copies them into its output at once.
struct MetricLabel {
  std::string_view name;   // [a-zA-Z_][a-zA-Z0-9_]*, a constant of the caller's
  std::string_view value;  // any UTF-8 text; escaped on output
};

// A sample's value. Integers are written exactly (a double holds 53 bits, a counter 64);
// doubles in their shortest round-trip form, NaN and the infinities as the format spells them.
// Converts implicitly, so that a sample reads `sample(count)`.
class MetricValue {
 public:
  template <std::integral T>
  constexpr MetricValue(T value)
      : kind_(std::signed_integral<T> ? Kind::kSigned : Kind::kUnsigned) {
    if constexpr (std::signed_integral<T>) {
      signed_ = value;
    } else {
      unsigned_ = value;
    }
  }
  constexpr MetricValue(double value) : kind_(Kind::kDouble), double_(value) {}

  // Appends the value's text.
  void appendTo(std::string& out) const;

 private:
  enum class Kind : uint8_t { kUnsigned, kSigned, kDouble };
  Kind kind_;
  union {
    uint64_t unsigned_;
    int64_t signed_;
    double double_;
  };
};

// Appends metrics to a string in the Prometheus text exposition format, version 0.0.4
// (served as `text/plain; version=0.0.4`): a family's `# HELP` and `# TYPE` lines, then its
// samples, one per line. The format wants each family once per exposition with its samples
// together; that order is the caller's part. Family and label names are the caller's constants
// and are only checked by assertion; help texts and label values may be anything and are
// escaped. It allocates nothing itself: the string grows (reserve it once per scrape) and
// numbers are formatted on the stack.
class PrometheusTextWriter {
 public:
  explicit PrometheusTextWriter(std::string& out) : out_(out) {}

  PrometheusTextWriter(const PrometheusTextWriter&) = delete;
  PrometheusTextWriter& operator=(const PrometheusTextWriter&) = delete;

  // Begins a family: `# HELP <name> <help>` and `# TYPE <name> <type>`. The samples written
  // next belong to it. A counter's name ends in `_total` (the name samples carry).
  void beginFamily(std::string_view name, MetricType type, std::string_view help);

  // A sample of the current family: `<family>{<labels>} <value>` (no braces without labels).
  void sample(MetricValue value) { sample({}, {}, value); }
  void sample(std::initializer_list<MetricLabel> labels, MetricValue value) {
    sample({}, std::span<const MetricLabel>(labels.begin(), labels.size()), value);
  }
  // The same with a suffix on the family's name: "_sum", "_count", "_bucket" of a summary or
  // histogram.
  void sample(std::string_view suffix, std::span<const MetricLabel> labels, MetricValue value);

  // A histogram's samples for one label set: a cumulative `_bucket` per bound, `le` added to
  // `labels` ("+Inf" last), then `_sum` and `_count`. `bucket_counts` are per bucket, not
  // cumulative: bounds.size() + 1 of them, the last for observations above the highest bound.
  // Bounds ascend.
  void histogram(std::span<const MetricLabel> labels, std::span<const double> bounds,
                 std::span<const uint64_t> bucket_counts, double sum);

  // Whether a name is a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*) or label name
  // ([a-zA-Z_][a-zA-Z0-9_]*, not starting with "__", which Prometheus reserves).
  static bool isMetricName(std::string_view name);
  static bool isLabelName(std::string_view name);

 private:
  // `<family><suffix>{<labels>,<extra>} <value>`; `extra` may be null.
  void writeSample(std::string_view suffix, std::span<const MetricLabel> labels,
                   const MetricLabel* extra, MetricValue value);

  std::string& out_;
  // Where the current family's name is in out_ (in its # TYPE line), so samples copy it from
  // there and the caller's name need not outlive beginFamily().
  size_t family_at_ = 0;
  size_t family_size_ = 0;
};

// `text` escaped for a `# HELP` line: backslash and line feed as \\ and \n.
void appendEscapedHelp(std::string& out, std::string_view text);
// `text` escaped for a label value: backslash, double quote and line feed as \\, \" and \n.
void appendEscapedLabelValue(std::string& out, std::string_view text);

}  // namespace weft::proxy
