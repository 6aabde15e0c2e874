#include "proxy/stats/prometheus_text.h"

#include <array>
#include <cassert>
#include <charconv>
#include <cmath>

namespace weft::proxy {
namespace {

// Long enough for any int64, uint64 or shortest double ("-1.7976931348623157e+308": 24).
using NumberText = std::array<char, 32>;

template <typename T>
std::string_view format(T value, NumberText& text) {
  const auto result = std::to_chars(text.data(), text.data() + text.size(), value);
  return std::string_view(text.data(), static_cast<size_t>(result.ptr - text.data()));
}

std::string_view formatDouble(double value, NumberText& text) {
  if (std::isnan(value)) {
    return "NaN";
  }
  if (std::isinf(value)) {
    return value > 0 ? "+Inf" : "-Inf";
  }
  return format(value, text);  // shortest form that reads back as the same double
}

// A bucket bound for the `le` label: plain decimals ("0.0001", not "1e-04") as Prometheus's
// own client libraries write them, so that queries and dashboards naming a bucket match; the
// shortest such form that reads back as the same double. Bounds are limited to 1e-6..86400
// by the config, well within what fits.
std::string_view formatBound(double value, NumberText& text) {
  const auto result =
      std::to_chars(text.data(), text.data() + text.size(), value, std::chars_format::fixed);
  if (result.ec != std::errc()) {
    return formatDouble(value, text);
  }
  return std::string_view(text.data(), static_cast<size_t>(result.ptr - text.data()));
}

std::string_view typeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
    case MetricType::kSummary:
      return "summary";
    case MetricType::kUntyped:
      return "untyped";
  }
  return "untyped";
}

// Appends `text` with each byte found in `special` as a backslash escape: "\n" for a line
// feed, the byte itself after the backslash otherwise. Unescaped runs are appended whole.
void appendEscaped(std::string& out, std::string_view text, std::string_view special) {
  size_t start = 0;
  for (size_t at = text.find_first_of(special); at != std::string_view::npos;
       at = text.find_first_of(special, start)) {
    out.append(text.substr(start, at - start));
    out += '\\';
    out += text[at] == '\n' ? 'n' : text[at];
    start = at + 1;
  }
  out.append(text.substr(start));
}

bool isAsciiLetter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool isAsciiDigit(char c) {
  return c >= '0' && c <= '9';
}

}  // namespace

void MetricValue::appendTo(std::string& out) const {
  NumberText text;
  switch (kind_) {
    case Kind::kUnsigned:
      out.append(format(unsigned_, text));
      return;
    case Kind::kSigned:
      out.append(format(signed_, text));
      return;
    case Kind::kDouble:
      out.append(formatDouble(double_, text));
      return;
  }
}

void appendEscapedHelp(std::string& out, std::string_view text) {
  appendEscaped(out, text, "\\\n");
}

void appendEscapedLabelValue(std::string& out, std::string_view text) {
  appendEscaped(out, text, "\\\"\n");
}

bool PrometheusTextWriter::isMetricName(std::string_view name) {
  if (name.empty() || isAsciiDigit(name.front())) {
    return false;
  }
  for (char c : name) {
    if (!isAsciiLetter(c) && !isAsciiDigit(c) && c != '_' && c != ':') {
      return false;
    }
  }
  return true;
}

bool PrometheusTextWriter::isLabelName(std::string_view name) {
  if (name.empty() || isAsciiDigit(name.front()) || name.starts_with("__")) {
    return false;
  }
  for (char c : name) {
    if (!isAsciiLetter(c) && !isAsciiDigit(c) && c != '_') {
      return false;
    }
  }
  return true;
}

void PrometheusTextWriter::beginFamily(std::string_view name, MetricType type,
                                       std::string_view help) {
  assert(isMetricName(name));
  out_.append("# HELP ").append(name) += ' ';
  appendEscapedHelp(out_, help);
  out_.append("\n# TYPE ");
  family_at_ = out_.size();
  family_size_ = name.size();
  out_.append(name) += ' ';
  out_.append(typeName(type)) += '\n';
}

void PrometheusTextWriter::sample(std::string_view suffix, std::span<const MetricLabel> labels,
                                  MetricValue value) {
  writeSample(suffix, labels, nullptr, value);
}

void PrometheusTextWriter::histogram(std::span<const MetricLabel> labels,
                                     std::span<const double> bounds,
                                     std::span<const uint64_t> bucket_counts, double sum) {
  assert(bucket_counts.size() == bounds.size() + 1);
  uint64_t cumulative = 0;
  NumberText text;
  for (size_t i = 0; i <= bounds.size(); ++i) {
    cumulative += i < bucket_counts.size() ? bucket_counts[i] : 0;
    const MetricLabel le{"le", i < bounds.size() ? formatBound(bounds[i], text) : "+Inf"};
    writeSample("_bucket", labels, &le, cumulative);
  }
  writeSample("_sum", labels, nullptr, sum);
  writeSample("_count", labels, nullptr, cumulative);
}

void PrometheusTextWriter::writeSample(std::string_view suffix, std::span<const MetricLabel> labels,
                                       const MetricLabel* extra, MetricValue value) {
  assert(family_size_ != 0 && "beginFamily() first");
  // The family's name, copied from its # TYPE line (appending part of a string to itself is
  // well-defined, also when the string grows).
  out_.append(out_, family_at_, family_size_).append(suffix);
  if (!labels.empty() || extra != nullptr) {
    char separator = '{';
    const auto append = [&](const MetricLabel& label) {
      assert(isLabelName(label.name));
      out_ += separator;
      separator = ',';
      out_.append(label.name).append("=\"");
      appendEscapedLabelValue(out_, label.value);
      out_ += '"';
    };
    for (const MetricLabel& label : labels) {
      append(label);
    }
    if (extra != nullptr) {
      append(*extra);
    }
    out_ += '}';
  }
  out_ += ' ';
  value.appendTo(out_);
  out_ += '\n';
}

}  // namespace weft::proxy
