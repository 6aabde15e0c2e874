#include "proxy/app_health/app_probe_config.h"

#include <algorithm>
#include <cctype>

#include "common/config/field_path.h"
#include "proxy/http2/header_translation.h"

namespace weft::proxy {
namespace {

using config::appendField;
using config::appendIndex;
using config::appendKey;

std::chrono::milliseconds toMillis(const google::protobuf::Duration& duration) {
  return std::chrono::milliseconds(duration.seconds() * 1000 + duration.nanos() / 1'000'000);
}

std::string readHttpGet(const weft::v1::AppProbe::HttpGet& http, const std::string& path,
                        AppProbeConfig& out) {
  out.port = static_cast<uint16_t>(http.port());
  out.https = http.scheme() == weft::v1::AppProbe::HttpGet::HTTPS;
  HealthCheckConfig& check = out.check;
  check.probe = HealthCheckConfig::Probe::kHttp;
  check.path = http.path().empty() ? "/" : http.path();
  check.host = http.host().empty() ? "127.0.0.1:" + std::to_string(out.port) : http.host();
  for (int h = 0; h < http.headers_size(); ++h) {
    const weft::v1::HeaderValue& header = http.headers(h);
    const std::string header_path = appendIndex(appendField(path, "headers"), h);
    std::string name = header.name();
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (name == "host") {
      return header_path + ": set the Host header with http_get.host";
    }
    // The probe frames its own request (one GET, no body, then close): these would contradict
    // it.
    if (name == "content-length" || name == "te" || isConnectionSpecific(name)) {
      return header_path + ": \"" + name + "\" is set by the probe itself";
    }
    // The schema keeps CR, LF and NUL out; no other control character belongs in a value
    // either (RFC 9110 section 5.5).
    if (std::any_of(header.value().begin(), header.value().end(),
                    [](unsigned char c) { return (c < ' ' && c != '\t') || c == 0x7f; })) {
      return appendField(header_path, "value") + ": must not contain control characters";
    }
    if (name == "user-agent") {
      check.user_agent = header.value();
      continue;
    }
    check.request_headers.emplace_back(std::move(name), header.value());
  }
  return {};
}

}  // namespace

std::string readAppProbes(const weft::v1::StatusServer& status, AppProbes& out) {
  out.clear();
  for (const auto& [key, probe] : status.app_probes()) {
    const std::string path = appendKey("status_server.app_probes", key);
    AppProbeConfig config;
    config.check.timeout =
        probe.has_timeout() ? toMillis(probe.timeout()) : std::chrono::milliseconds(1000);
    config.check.user_agent = std::string(kAppProbeUserAgent);
    switch (probe.probe_case()) {
      case weft::v1::AppProbe::kHttpGet:
        if (std::string error =
                readHttpGet(probe.http_get(), appendField(path, "http_get"), config);
            !error.empty()) {
          return error;
        }
        break;
      case weft::v1::AppProbe::kTcpSocket:
        config.port = static_cast<uint16_t>(probe.tcp_socket().port());
        config.check.probe = HealthCheckConfig::Probe::kTcp;
        break;
      case weft::v1::AppProbe::kGrpc:
        config.port = static_cast<uint16_t>(probe.grpc().port());
        config.check.probe = HealthCheckConfig::Probe::kGrpc;
        config.check.grpc_service = probe.grpc().service();
        config.check.host = "127.0.0.1:" + std::to_string(config.port);
        break;
      default:
        return path + ": one of http_get, tcp_socket, grpc is required";
    }
    if (config.port == 0) {
      // The rules require a port; this must not depend on them.
      return path + ": the port is required";
    }
    out.emplace(key, std::move(config));
  }
  return {};
}

}  // namespace weft::proxy
