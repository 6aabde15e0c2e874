#include "cli/prometheus_query_client.h"

#include <algorithm>
#include <boost/json.hpp>

#include "cli/http_client.h"

namespace weft::cli {

namespace json = boost::json;

namespace {

std::string urlEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if ((byte >= 'a' && byte <= 'z') || (byte >= 'A' && byte <= 'Z') ||
        (byte >= '0' && byte <= '9') || c == '-' || c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 0xF];
    }
  }
  return out;
}

const json::string* stringMember(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value && value->is_string() ? &value->as_string() : nullptr;
}

}  // namespace

std::string parsePrometheusUrl(std::string_view url, PrometheusServer& server) {
  std::string_view rest = url;
  if (rest.starts_with("https://")) {
    return "\"" + std::string(url) + "\": weftctl reaches Prometheus over plain HTTP only";
  }
  if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else if (rest.find("://") != std::string_view::npos) {
    return "\"" + std::string(url) + "\" is not an http:// URL";
  }
  const size_t slash = rest.find('/');
  server.address = std::string(rest.substr(0, slash));
  server.path_prefix = slash == std::string_view::npos ? "" : std::string(rest.substr(slash));
  while (!server.path_prefix.empty() && server.path_prefix.back() == '/') {
    server.path_prefix.pop_back();
  }
  if (server.address.empty()) {
    return "\"" + std::string(url) + "\" names no host";
  }
  if (server.address.find(':') == std::string::npos || server.address.back() == ']') {
    server.address += ":80";
  }
  return {};
}

std::string parseInstantVector(std::string_view text, std::vector<MetricSample>& samples) {
  boost::system::error_code ec;
  const json::value document = json::parse(text, ec);
  if (ec || !document.is_object()) {
    return "the answer is not a Prometheus API document (JSON object)";
  }
  const json::object& root = document.as_object();
  const json::string* status = stringMember(root, "status");
  if (status == nullptr) {
    return "the answer is not a Prometheus API document (no status)";
  }
  if (*status != "success") {
    const json::string* error = stringMember(root, "error");
    return "Prometheus refused the query: " +
           (error ? std::string(*error) : std::string("no reason given"));
  }
  const json::value* data = root.if_contains("data");
  if (data == nullptr || !data->is_object()) {
    return "the answer has no data";
  }
  const json::string* type = stringMember(data->as_object(), "resultType");
  const json::value* result = data->as_object().if_contains("result");
  if (type == nullptr || *type != "vector" || result == nullptr || !result->is_array()) {
    return "the answer is not an instant vector";
  }
  samples.clear();
  for (const json::value& series : result->as_array()) {
    const json::object* object = series.if_object();
    const json::value* metric = object ? object->if_contains("metric") : nullptr;
    const json::value* value = object ? object->if_contains("value") : nullptr;
    if (metric == nullptr || !metric->is_object() || value == nullptr || !value->is_array() ||
        value->as_array().size() != 2 || !value->as_array()[1].is_string()) {
      return "a series of the answer has no labels or no [time, \"value\"]";
    }
    MetricSample sample;
    for (const auto& [key, label] : metric->as_object()) {
      if (!label.is_string()) {
        return "label " + std::string(key) + " of a series is not a string";
      }
      if (key == "__name__") {
        sample.name = std::string(label.as_string());
      } else {
        sample.labels.emplace_back(std::string(key), std::string(label.as_string()));
      }
    }
    std::sort(sample.labels.begin(), sample.labels.end());
    const json::string& number = value->as_array()[1].as_string();
    if (!parseSampleValue(number, sample.value)) {
      return "\"" + std::string(number) + "\" is not a sample value";
    }
    samples.push_back(std::move(sample));
  }
  return {};
}

std::string queryPrometheus(const PrometheusServer& server, std::string_view promql,
                            std::vector<MetricSample>& samples, std::chrono::milliseconds timeout) {
  HttpGetOptions options;
  options.timeout = timeout;
  options.body_limit = 256 * 1024 * 1024;
  options.peer = "Prometheus at";
  options.connect_hint = "is --prometheus its address?";
  HttpResponse response;
  const std::string target = server.path_prefix + "/api/v1/query?query=" + urlEncode(promql);
  if (std::string error = httpGet(server.address, target, response, options); !error.empty()) {
    return error;
  }
  if (response.status != 200) {
    // A refused query (400, 422, 503) says why in the API's error document.
    boost::system::error_code ec;
    const json::value document = json::parse(response.body, ec);
    const json::string* reason =
        !ec && document.is_object() ? stringMember(document.as_object(), "error") : nullptr;
    return "Prometheus at " + server.address + " answered " + std::to_string(response.status) +
           (reason ? ": " + std::string(*reason) : " to " + server.path_prefix + "/api/v1/query");
  }
  if (std::string error = parseInstantVector(response.body, samples); !error.empty()) {
    return "Prometheus at " + server.address + ": " + error;
  }
  return {};
}

}  // namespace weft::cli
