#include "proxy/admin/admin_endpoints.h"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/json/object.hpp>
#include <memory>

#include "common/log/log_level.h"
#include "common/log/logger.h"
#include "common/version/version.h"
#include "proxy/admin/json_text.h"
#include "proxy/admin/prometheus_stats.h"

namespace weft::proxy::admin {

namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace {

spdlog::logger& adminLog() {
  static spdlog::logger& logger = weft::log::logger("admin");
  return logger;
}

enum class Methods {
  kGet,        // GET and HEAD: reads only
  kPost,       // POST: changes the proxy's state
  kGetOrPost,  // GET reads, POST changes
};

std::string_view allowHeader(Methods methods) {
  switch (methods) {
    case Methods::kGet:
      return "GET, HEAD";
    case Methods::kPost:
      return "POST";
    case Methods::kGetOrPost:
      return "GET, HEAD, POST";
  }
  return "";
}

bool isRead(http::verb method) {
  return method == http::verb::get || method == http::verb::head;
}

bool allows(Methods methods, http::verb method) {
  switch (methods) {
    case Methods::kGet:
      return isRead(method);
    case Methods::kPost:
      return method == http::verb::post;
    case Methods::kGetOrPost:
      return isRead(method) || method == http::verb::post;
  }
  return false;
}

AdminResponse text(unsigned status, std::string body) {
  AdminResponse response;
  response.status = status;
  response.body = std::move(body);
  if (response.body.empty() || response.body.back() != '\n') {
    response.body += '\n';
  }
  // A client error may leave the connection in a state we do not want to reason about.
  response.close = status == 400;
  return response;
}

AdminResponse json(std::string body) {
  AdminResponse response;
  response.content_type = kApplicationJson;
  response.body = std::move(body);
  return response;
}

std::string validLevels() {
  std::string names;
  for (int level = spdlog::level::trace; level <= spdlog::level::off; ++level) {
    names += names.empty() ? "" : " ";
    names += weft::log::logLevelName(static_cast<spdlog::level::level_enum>(level));
  }
  return names;
}

// Strips an optional ":port" from a host (not a bracketed IPv6 literal). Returns nullopt if
// the port is not all digits.
std::optional<std::string_view> withoutPort(std::string_view host) {
  const size_t colon = host.rfind(':');
  if (colon == std::string_view::npos) {
    return host;
  }
  const std::string_view port = host.substr(colon + 1);
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string_view::npos) {
    return std::nullopt;
  }
  return host.substr(0, colon);
}

// An IP literal (IPv6 in brackets) or "localhost", with an optional port; the address, if
// there is one, in `address`.
bool parseLocalAuthority(std::string_view authority, std::optional<asio::ip::address>& address,
                         bool& is_localhost) {
  is_localhost = false;
  boost::system::error_code error;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return false;
    }
    const std::string_view port = authority.substr(close + 1);
    if (!port.empty() && (port.front() != ':' || !withoutPort(port))) {
      return false;
    }
    const auto v6 = asio::ip::make_address_v6(std::string(authority.substr(1, close - 1)), error);
    if (error) {
      return false;
    }
    address = v6;
    return true;
  }
  const auto host = withoutPort(authority);
  if (!host || host->empty()) {
    return false;
  }
  if (boost::beast::iequals(*host, "localhost")) {
    is_localhost = true;
    return true;
  }
  const auto v4 = asio::ip::make_address_v4(std::string(*host), error);
  if (error) {
    return false;
  }
  address = v4;
  return true;
}

// An answer for a query parameter other than `accepted` (empty: the endpoint takes none), or
// nullopt if there is none. Strict, so a typo is reported rather than silently ignored.
std::optional<AdminResponse> unknownParameter(const RequestTarget& target,
                                              std::string_view accepted) {
  for (const auto& [name, value] : target.params) {
    if (accepted.empty() || name != accepted) {
      return text(
          400, "unknown query parameter '" + name + "' for " + target.path +
                   (accepted.empty() ? "; it takes none" : "; it takes " + std::string(accepted)));
    }
  }
  return std::nullopt;
}

}  // namespace

struct AdminEndpoints::Endpoint {
  std::string_view path;
  Methods methods;
  std::string_view param;  // the one query parameter it takes, if any
  std::string_view usage;  // the index line
  Handler handler;
  bool prefix = false;  // `path` is a prefix: the rest of the request's path is an argument
};

namespace {

constexpr std::string_view kAppHealthPrefix = "/app-health/";

}  // namespace

const std::vector<AdminEndpoints::Endpoint>& AdminEndpoints::statusEndpoints() {
  // What the kubelet and Prometheus reach on the pod IP: nothing that changes state or shows
  // configuration.
  static const std::vector<Endpoint> kEndpoints = {
      {"/", Methods::kGet, "", "GET  /                  this list", &AdminEndpoints::index},
      {"/healthz/ready", Methods::kGet, "",
       "GET  /healthz/ready     200 LIVE when the proxy serves its configuration, else 503 "
       "and why (the readiness probe)",
       &AdminEndpoints::ready},
      {"/metrics", Methods::kGet, "",
       "GET  /metrics           the golden request metrics and the proxy's counters, "
       "Prometheus text format",
       &AdminEndpoints::prometheusStats},
      {kAppHealthPrefix, Methods::kGet, "",
       "GET  /app-health/<key>  runs the application's probe <key> now: 200 when it passes, "
       "503 and why when it fails, 404 for an unknown key",
       &AdminEndpoints::appHealth, true},
  };
  return kEndpoints;
}

const std::vector<AdminEndpoints::Endpoint>& AdminEndpoints::adminEndpoints() {
  static const std::vector<Endpoint> kEndpoints = {
      {"/", Methods::kGet, "", "GET  /                  this list", &AdminEndpoints::index},
      {"/config_dump", Methods::kGet, "",
       "GET  /config_dump       the active configuration as JSON, with its version (secrets "
       "redacted)",
       &AdminEndpoints::configDump},
      {"/clusters", Methods::kGet, "format",
       "GET  /clusters          every cluster's endpoints: weight, health, active requests "
       "(?format=json)",
       &AdminEndpoints::clusters},
      {"/certs", Methods::kGet, "",
       "GET  /certs             the workload certificate: SPIFFE id, serial, validity, next "
       "renewal, last error (JSON)",
       &AdminEndpoints::certs},
      {"/stats/prometheus", Methods::kGet, "",
       "GET  /stats/prometheus  golden request metrics, security and traffic-policy counters, "
       "certificate metrics, Prometheus text format (also /metrics on the status port)",
       &AdminEndpoints::prometheusStats},
      {"/ready", Methods::kGet, "",
       "GET  /ready             200 LIVE when the proxy serves its configuration, else 503 "
       "and why",
       &AdminEndpoints::ready},
      {"/healthz", Methods::kGet, "", "GET  /healthz           200 while up and not draining",
       &AdminEndpoints::healthz},
      {"/server_info", Methods::kGet, "",
       "GET  /server_info       version, state, uptime and concurrency as JSON",
       &AdminEndpoints::serverInfo},
      {"/logging", Methods::kGetOrPost, "level",
       "GET  /logging           the active log level; POST /logging?level=<level> sets it",
       &AdminEndpoints::logging},
      {"/drain_listeners", Methods::kPost, "",
       "POST /drain_listeners   stop accepting, let connections finish (also POST /drain)",
       &AdminEndpoints::drain},
      {"/drain", Methods::kPost, "", "", &AdminEndpoints::drain},
      {"/quitquitquit", Methods::kPost, "", "POST /quitquitquit      drain, then exit",
       &AdminEndpoints::quit},
  };
  return kEndpoints;
}

AdminEndpoints::AdminEndpoints(AdminCallbacks callbacks, std::chrono::milliseconds provider_timeout,
                               AdminRole role)
    : role_(role),
      callbacks_(std::move(callbacks)),
      provider_timeout_(provider_timeout),
      started_(std::chrono::steady_clock::now()) {}

void AdminEndpoints::cancelWaits() {
  for (asio::steady_timer* timer : provider_waits_) {
    timer->cancel();
  }
}

asio::awaitable<AdminResponse> AdminEndpoints::handle(const AdminRequest& request) {
  std::string error;
  const std::optional<RequestTarget> target = parseRequestTarget(request.target, error);
  if (!target) {
    co_return text(400, error);
  }
  // The status port is reached on the pod IP by Prometheus and the kubelet, under any name;
  // it changes nothing, so DNS rebinding gains an attacker nothing there.
  if (role_ == AdminRole::kAdmin && !isAcceptableAdminHost(request.host)) {
    co_return text(403,
                   "the admin endpoint answers requests addressed to an IP address or "
                   "localhost only, not to Host '" +
                       std::string(request.host) + "'");
  }
  const Endpoint* endpoint = nullptr;
  for (const Endpoint& candidate : endpoints()) {
    if (candidate.prefix ? target->path.starts_with(candidate.path)
                         : candidate.path == target->path) {
      endpoint = &candidate;
      break;
    }
  }
  if (endpoint == nullptr) {
    co_return text(404, "nothing at " + target->path + "; GET / lists what this port serves");
  }
  if (!allows(endpoint->methods, request.method)) {
    const std::string path(endpoint->path);
    AdminResponse response =
        text(405, endpoint->methods == Methods::kPost
                      ? path +
                            " changes the proxy's state and needs POST (so that a browser "
                            "prefetch or a stray GET cannot trigger it)"
                      : path + " accepts " + std::string(allowHeader(endpoint->methods)));
    response.allow = allowHeader(endpoint->methods);
    co_return response;
  }
  if (request.method == http::verb::post && !request.origin.empty() &&
      !isLoopbackOrigin(request.origin)) {
    adminLog().warn("refused POST {} from origin '{}'", target->path, request.origin);
    co_return text(403, "POST from a web page of origin '" + std::string(request.origin) +
                            "' refused: state-changing admin requests are accepted from local "
                            "tools only");
  }
  if (auto refusal = unknownParameter(*target, endpoint->param)) {
    co_return std::move(*refusal);
  }
  co_return co_await (this->*(endpoint->handler))(request, *target);
}

asio::awaitable<AdminResponse> AdminEndpoints::index(const AdminRequest&, const RequestTarget&) {
  std::string body = "weft-proxy " + std::string(weft::version()) +
                     (role_ == AdminRole::kStatus ? " status endpoint\n\n" : " admin endpoint\n\n");
  for (const Endpoint& endpoint : endpoints()) {
    if (!endpoint.usage.empty()) {
      body += std::string(endpoint.usage) + "\n";
    }
  }
  co_return text(200, std::move(body));
}

asio::awaitable<AdminResponse> AdminEndpoints::configDump(const AdminRequest&,
                                                          const RequestTarget&) {
  if (!callbacks_.config_dump) {
    co_return text(501, "this process does not provide a configuration dump");
  }
  const std::optional<ConfigDump> dump = callbacks_.config_dump();
  if (!dump) {
    co_return text(503, "no configuration is active yet");
  }
  std::string body;
  std::string error;
  if (!renderConfigDump(*dump, body, error)) {
    adminLog().error("/config_dump: {}", error);
    co_return text(500, error);
  }
  co_return json(std::move(body));
}

template <typename Answer>
asio::awaitable<std::optional<Answer>> AdminEndpoints::awaitProvider(
    const std::function<void(std::function<void(Answer)>)>& provider) {
  // The provider may answer from any thread; its answer is posted back here, so `pending`
  // and the timer are only touched on this thread.
  struct Pending {
    std::optional<Answer> answer;
    asio::steady_timer* timer = nullptr;
  };
  const auto executor = co_await asio::this_coro::executor;
  auto pending = std::make_shared<Pending>();
  provider([pending, executor](Answer answer) {
    asio::post(executor, [pending, answer = std::move(answer)]() mutable {
      if (pending->timer == nullptr) {
        return;  // too late, or a second answer
      }
      pending->answer = std::move(answer);
      pending->timer->cancel();
    });
  });
  asio::steady_timer timer(executor, provider_timeout_);
  pending->timer = &timer;
  provider_waits_.insert(&timer);
  struct Forget {
    Pending& pending;
    std::unordered_set<asio::steady_timer*>& waits;
    asio::steady_timer* timer;
    ~Forget() {
      pending.timer = nullptr;
      waits.erase(timer);
    }
  } forget{*pending, provider_waits_, &timer};
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  co_return std::move(pending->answer);
}

asio::awaitable<AdminResponse> AdminEndpoints::clusters(const AdminRequest&,
                                                        const RequestTarget& target) {
  const std::string_view format = target.param("format").value_or("text");
  if (format != "text" && format != "json") {
    co_return text(400, "format must be text or json, not '" + std::string(format) + "'");
  }
  if (!callbacks_.clusters) {
    co_return text(501, "this process does not report cluster state");
  }
  const auto clusters = co_await awaitProvider(callbacks_.clusters);
  if (!clusters) {
    adminLog().warn("/clusters: no cluster state within {} ms", provider_timeout_.count());
    co_return text(503, "the workers did not report cluster state within " +
                            std::to_string(provider_timeout_.count()) + " ms");
  }
  if (format == "json") {
    co_return json(renderClustersJson(*clusters));
  }
  co_return text(200, renderClustersText(*clusters));
}

asio::awaitable<AdminResponse> AdminEndpoints::certs(const AdminRequest&, const RequestTarget&) {
  if (!callbacks_.certificates) {
    co_return text(404,
                   "this proxy requests no workload certificate (dynamic_resources.ca is not "
                   "set); /config_dump shows static secrets");
  }
  co_return json(renderCertificateStatusJson(callbacks_.certificates()));
}

asio::awaitable<AdminResponse> AdminEndpoints::prometheusStats(const AdminRequest& request,
                                                               const RequestTarget&) {
  ProxyMetrics metrics;
  if (callbacks_.traffic_counters) {
    metrics.traffic = callbacks_.traffic_counters();
  }
  if (callbacks_.security_counters) {
    metrics.security = callbacks_.security_counters();
  }
  if (callbacks_.certificates) {
    metrics.certificate = callbacks_.certificates();
  }
  metrics.access_logs = AccessLogFile::allCounts();
  if (callbacks_.cluster_gauges) {
    metrics.clusters = callbacks_.cluster_gauges();
  }
  AdminResponse response;
  response.content_type = kPrometheusText;
  response.body = renderPrometheusStats(metrics);
  if (callbacks_.request_metrics) {
    // The workers hand over their counts first; one that does not answer in time leaves its
    // latest counts for the next scrape, and the rest are shown.
    std::optional<std::string> golden = co_await awaitProvider(callbacks_.request_metrics);
    if (!golden) {
      adminLog().warn("{}: the workers did not hand over their request metrics within {} ms",
                      request.target, provider_timeout_.count());
    } else {
      response.body.append(*golden);
    }
  }
  co_return response;
}

ProxyStatus AdminEndpoints::currentStatus() const {
  ProxyStatus status;
  if (callbacks_.status) {
    status = callbacks_.status();
  } else {
    status.reason = "this process does not report readiness";
  }
  if (drain_requested_) {
    status.state = ServerState::kDraining;
    status.reason = quit_requested_ ? "quitting on request (/quitquitquit)"
                                    : "draining on request (/drain_listeners)";
  }
  if (status.reason.empty()) {
    switch (status.state) {
      case ServerState::kInitializing:
        status.reason = "waiting for the first configuration";
        break;
      case ServerState::kDraining:
        status.reason = "draining";
        break;
      case ServerState::kLive:
        break;
    }
  }
  return status;
}

asio::awaitable<AdminResponse> AdminEndpoints::ready(const AdminRequest&, const RequestTarget&) {
  const ProxyStatus status = currentStatus();
  if (status.state == ServerState::kLive) {
    co_return text(200, "LIVE");
  }
  co_return text(503, std::string(serverStateName(status.state)) + ": " + status.reason);
}

asio::awaitable<AdminResponse> AdminEndpoints::healthz(const AdminRequest&, const RequestTarget&) {
  const ProxyStatus status = currentStatus();
  if (status.state == ServerState::kDraining) {
    co_return text(503, "DRAINING: " + status.reason);
  }
  co_return text(200, "OK");
}

asio::awaitable<AdminResponse> AdminEndpoints::serverInfo(const AdminRequest&,
                                                          const RequestTarget&) {
  const ProxyStatus status = currentStatus();
  const auto uptime =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_);
  boost::json::object info{
      {"version", weft::version()},
      {"commit", weft::gitCommit()},
      {"state", serverStateName(status.state)},
      {"uptime_seconds", uptime.count()},
      {"concurrency", status.concurrency},
      {"log_level", weft::log::logLevelName(weft::log::logLevel())},
  };
  if (!status.config_source.empty()) {
    info["config_source"] = status.config_source;
  }
  if (status.state != ServerState::kLive) {
    info["reason"] = status.reason;
  }
  co_return json(prettyJson(info));
}

asio::awaitable<AdminResponse> AdminEndpoints::logging(const AdminRequest& request,
                                                       const RequestTarget& target) {
  const std::string_view active = weft::log::logLevelName(weft::log::logLevel());
  const std::optional<std::string_view> requested = target.param("level");
  if (request.method != http::verb::post) {
    if (requested) {
      AdminResponse response = text(405, "setting the log level needs POST /logging?level=<level>");
      response.allow = "POST";
      co_return response;
    }
    co_return text(200,
                   "active level: " + std::string(active) + "\nvalid levels: " + validLevels());
  }
  if (!requested) {
    co_return text(400, "POST /logging needs ?level=<level>; valid levels: " + validLevels());
  }
  const auto level = weft::log::parseLogLevel(*requested);
  if (!level) {
    co_return text(
        400, "unknown log level '" + std::string(*requested) + "'; valid levels: " + validLevels());
  }
  const std::string previous(active);
  // Logged before the change, so it is visible at the old level even when the new one is
  // quieter.
  adminLog().info("log level {} -> {} (admin request)", previous, weft::log::logLevelName(*level));
  weft::log::setLogLevel(*level);
  co_return text(200, "log level set to " + std::string(weft::log::logLevelName(*level)) +
                          " (was " + previous + ")");
}

asio::awaitable<AdminResponse> AdminEndpoints::drain(const AdminRequest&, const RequestTarget&) {
  if (!callbacks_.drain) {
    co_return text(501, "this process cannot drain on request");
  }
  if (drain_requested_) {
    co_return text(200, "already draining");
  }
  drain_requested_ = true;
  adminLog().info("draining listeners (admin request)");
  callbacks_.drain();
  co_return text(200, "draining: listeners closed, open connections finish their requests");
}

asio::awaitable<AdminResponse> AdminEndpoints::quit(const AdminRequest&, const RequestTarget&) {
  if (!callbacks_.quit) {
    co_return text(501, "this process cannot quit on request");
  }
  if (quit_requested_) {
    co_return text(200, "already quitting");
  }
  quit_requested_ = true;
  drain_requested_ = true;
  adminLog().info("quitting: drain, then exit (admin request)");
  AdminResponse response = text(200, "OK: draining, then exiting");
  response.close = true;
  response.after_response = callbacks_.quit;
  co_return response;
}

asio::awaitable<AdminResponse> AdminEndpoints::appHealth(const AdminRequest&,
                                                         const RequestTarget& target) {
  const std::string key = target.path.substr(kAppHealthPrefix.size());
  std::optional<AppProbeOutcome> outcome;
  if (callbacks_.app_probe) {
    outcome = co_await callbacks_.app_probe(key);
  }
  if (!outcome) {
    co_return text(404, "no application probe named '" + key +
                            "' (status_server.app_probes lists the probes)");
  }
  if (!outcome->passed) {
    // One line, whatever the failure said.
    std::string reason = outcome->reason.empty() ? "the probe failed" : outcome->reason;
    std::replace_if(
        reason.begin(), reason.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
    co_return text(503, key + ": " + reason);
  }
  co_return text(200, key + ": OK");
}

std::string_view serverStateName(ServerState state) {
  switch (state) {
    case ServerState::kInitializing:
      return "INITIALIZING";
    case ServerState::kLive:
      return "LIVE";
    case ServerState::kDraining:
      return "DRAINING";
  }
  return "UNKNOWN";
}

bool isAcceptableAdminHost(std::string_view host) {
  if (host.empty()) {
    return true;  // HTTP/1.0 without Host: a local tool
  }
  std::optional<asio::ip::address> address;
  bool is_localhost = false;
  return parseLocalAuthority(host, address, is_localhost);
}

bool isLoopbackOrigin(std::string_view origin) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (origin.size() > scheme.size() &&
        boost::beast::iequals(origin.substr(0, scheme.size()), scheme)) {
      std::optional<asio::ip::address> address;
      bool is_localhost = false;
      if (!parseLocalAuthority(origin.substr(scheme.size()), address, is_localhost)) {
        return false;
      }
      return is_localhost || (address && address->is_loopback());
    }
  }
  return false;  // includes "null" (sandboxed frames, file:// pages)
}

}  // namespace weft::proxy::admin
