#include "cli/prometheus_text_parser.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

namespace weft::cli {

namespace {

bool isNameStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

bool isNameChar(char c) {
  return isNameStart(c) || (c >= '0' && c <= '9');
}

bool isBlank(char c) {
  return c == ' ' || c == '\t';
}

bool equalsIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x | 0x20) == (y | 0x20);
         });
}

// A cursor over one line; every read checks the end, so no input reads out of bounds.
class LineReader {
 public:
  explicit LineReader(std::string_view line) : line_(line) {}

  bool atEnd() const { return position_ == line_.size(); }
  char peek() const { return atEnd() ? '\0' : line_[position_]; }
  void skipBlanks() {
    while (!atEnd() && isBlank(line_[position_])) {
      ++position_;
    }
  }
  bool consume(char c) {
    if (peek() != c || atEnd()) {
      return false;
    }
    ++position_;
    return true;
  }
  // A metric name ([a-zA-Z_:][a-zA-Z0-9_:]*) or, without colons, a label name.
  std::string_view name(bool colons) {
    const size_t start = position_;
    while (!atEnd() && (isNameChar(line_[position_]) || (colons && line_[position_] == ':')) &&
           (position_ > start || !(line_[position_] >= '0' && line_[position_] <= '9'))) {
      ++position_;
    }
    return line_.substr(start, position_ - start);
  }
  // A run of non-blank characters: a value or a timestamp.
  std::string_view token() {
    const size_t start = position_;
    while (!atEnd() && !isBlank(line_[position_])) {
      ++position_;
    }
    return line_.substr(start, position_ - start);
  }
  // A label value after its opening quote, unescaped; false on a bad escape or no closing quote.
  bool quoted(std::string& out, std::string& error) {
    while (!atEnd()) {
      const char c = line_[position_++];
      if (c == '"') {
        return true;
      }
      if (c != '\\') {
        out += c;
        continue;
      }
      if (atEnd()) {
        break;
      }
      const char escaped = line_[position_++];
      if (escaped == '\\' || escaped == '"') {
        out += escaped;
      } else if (escaped == 'n') {
        out += '\n';
      } else {
        error = std::string("unknown escape \\") + escaped + " in a label value";
        return false;
      }
    }
    error = "a label value has no closing quote";
    return false;
  }

 private:
  std::string_view line_;
  size_t position_ = 0;
};

std::string parseSample(std::string_view line, const TextParseLimits& limits,
                        MetricSample& sample) {
  LineReader reader(line);
  const std::string_view name = reader.name(/*colons=*/true);
  if (name.empty()) {
    return "a sample must start with a metric name";
  }
  sample.name.assign(name);
  reader.skipBlanks();
  if (reader.consume('{')) {
    while (true) {
      reader.skipBlanks();
      if (reader.consume('}')) {
        break;
      }
      const std::string_view label = reader.name(/*colons=*/false);
      if (label.empty()) {
        return "expected a label name or } in the labels of " + sample.name;
      }
      reader.skipBlanks();
      if (!reader.consume('=')) {
        return "expected = after label " + std::string(label);
      }
      reader.skipBlanks();
      if (!reader.consume('"')) {
        return "expected a quoted value for label " + std::string(label);
      }
      std::string value;
      std::string error;
      if (!reader.quoted(value, error)) {
        return error;
      }
      if (sample.labels.size() == limits.max_labels_per_sample) {
        return sample.name + " has more than " + std::to_string(limits.max_labels_per_sample) +
               " labels";
      }
      sample.labels.emplace_back(label, std::move(value));
      reader.skipBlanks();
      if (reader.consume(',')) {
        continue;
      }
      if (!reader.consume('}')) {
        return "expected , or } after label " + std::string(label);
      }
      break;
    }
    reader.skipBlanks();
  }
  const std::string_view value = reader.token();
  if (value.empty()) {
    return sample.name + " has no value";
  }
  if (!parseSampleValue(value, sample.value)) {
    return "\"" + std::string(value) + "\" is not a sample value";
  }
  reader.skipBlanks();
  if (!reader.atEnd()) {
    const std::string_view timestamp = reader.token();
    int64_t milliseconds = 0;
    const auto [end, ec] =
        std::from_chars(timestamp.data(), timestamp.data() + timestamp.size(), milliseconds);
    if (ec != std::errc() || end != timestamp.data() + timestamp.size()) {
      return "\"" + std::string(timestamp) + "\" is not a timestamp (integer milliseconds)";
    }
    reader.skipBlanks();
    if (!reader.atEnd()) {
      return "unexpected text after the timestamp";
    }
  }
  std::sort(sample.labels.begin(), sample.labels.end());
  for (size_t i = 1; i < sample.labels.size(); ++i) {
    if (sample.labels[i].first == sample.labels[i - 1].first) {
      return "label " + sample.labels[i].first + " appears twice";
    }
  }
  return {};
}

}  // namespace

std::string_view labelValue(const Labels& labels, std::string_view name) {
  for (const auto& [key, value] : labels) {
    if (key == name) {
      return value;
    }
  }
  return {};
}

bool parseSampleValue(std::string_view text, double& value) {
  std::string_view body = text;
  bool negative = false;
  if (!body.empty() && (body.front() == '+' || body.front() == '-')) {
    negative = body.front() == '-';
    body.remove_prefix(1);
  }
  if (equalsIgnoringCase(body, "inf") || equalsIgnoringCase(body, "infinity")) {
    value = negative ? -std::numeric_limits<double>::infinity()
                     : std::numeric_limits<double>::infinity();
    return true;
  }
  if (equalsIgnoringCase(body, "nan")) {
    value = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  // Digits only from here: from_chars would also take "inf" and "nan" spellings we handle above.
  if (body.empty() || !((body.front() >= '0' && body.front() <= '9') || body.front() == '.')) {
    return false;
  }
  double parsed = 0;
  const auto [end, ec] = std::from_chars(body.data(), body.data() + body.size(), parsed);
  if (ec != std::errc() || end != body.data() + body.size()) {
    return false;
  }
  value = negative ? -parsed : parsed;
  return true;
}

std::string parsePrometheusText(std::string_view text, std::vector<MetricSample>& out,
                                const std::function<bool(std::string_view)>& keep,
                                const TextParseLimits& limits) {
  size_t line_number = 0;
  size_t kept = 0;
  while (!text.empty()) {
    ++line_number;
    const size_t newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    if (line.size() > limits.max_line_bytes) {
      return "line " + std::to_string(line_number) + ": longer than " +
             std::to_string(limits.max_line_bytes) + " bytes";
    }
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    while (!line.empty() && isBlank(line.front())) {
      line.remove_prefix(1);
    }
    if (line.empty() || line.front() == '#') {
      continue;  // blank, # HELP, # TYPE or a comment: nothing to count
    }
    MetricSample sample;
    if (std::string error = parseSample(line, limits, sample); !error.empty()) {
      return "line " + std::to_string(line_number) + ": " + error;
    }
    if (keep && !keep(sample.name)) {
      continue;
    }
    if (++kept > limits.max_samples) {
      return "line " + std::to_string(line_number) + ": more than " +
             std::to_string(limits.max_samples) + " samples";
    }
    out.push_back(std::move(sample));
  }
  return {};
}

}  // namespace weft::cli
