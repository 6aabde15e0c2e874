#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http/verb.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "proxy/admin/admin_callbacks.h"
#include "proxy/admin/request_target.h"

namespace weft::proxy::admin {

inline constexpr std::string_view kTextPlain = "text/plain; charset=utf-8";
inline constexpr std::string_view kApplicationJson = "application/json";
// The Prometheus text exposition format, as scrapers expect it.
inline constexpr std::string_view kPrometheusText = "text/plain; version=0.0.4; charset=utf-8";

// The parts of a request the endpoints look at; views into the request being served.
struct AdminRequest {
  boost::beast::http::verb method = boost::beast::http::verb::get;
  std::string_view target;
  std::string_view host;    // the Host header, empty when absent
  std::string_view origin;  // the Origin header, empty when absent
};

struct AdminResponse {
  unsigned status = 200;
  std::string content_type{kTextPlain};
  std::string body;
  std::string allow;   // the Allow header of a 405
  bool close = false;  // close the connection after this response
  // Runs once the response has been written (or writing it failed): /quitquitquit acts only
  // after the client has its answer.
  std::function<void()> after_response;
};

// The admin endpoints: maps a request to a response, calling into the proxy through
// AdminCallbacks. Knows nothing of sockets, so the HTTP side (AdminServer) stays small.
// Runs on one thread, the admin io_context's.
class AdminEndpoints {
 public:
  AdminEndpoints(AdminCallbacks callbacks, std::chrono::milliseconds provider_timeout,
                 AdminRole role = AdminRole::kAdmin);

  AdminEndpoints(const AdminEndpoints&) = delete;
  AdminEndpoints& operator=(const AdminEndpoints&) = delete;

  // Answers one request. HEAD is answered like GET (the server leaves the body out).
  boost::asio::awaitable<AdminResponse> handle(const AdminRequest& request);

  // Whether a drain or quit was requested through the admin endpoint.
  bool drainRequested() const { return drain_requested_; }

  // Ends every wait for a provider at once (each such request gets 503): used when the server
  // stops, so the io_context is not kept busy until provider_timeout.
  void cancelWaits();

  struct Endpoint;

 private:
  using Handler = boost::asio::awaitable<AdminResponse> (AdminEndpoints::*)(const AdminRequest&,
                                                                            const RequestTarget&);

  boost::asio::awaitable<AdminResponse> index(const AdminRequest&, const RequestTarget&);
  boost::asio::awaitable<AdminResponse> configDump(const AdminRequest&, const RequestTarget&);
  boost::asio::awaitable<AdminResponse> clusters(const AdminRequest&, const RequestTarget&);
  boost::asio::awaitable<AdminResponse> certs(const AdminRequest&, const RequestTarget&);
  boost::asio::awaitable<AdminResponse> prometheusStats(const AdminRequest&, const RequestTarget&);
  boost::asio::awaitable<AdminResponse> ready(const AdminRequest&, const RequestTarget&);
  boost::asio::awaitable<AdminResponse> healthz(const AdminRequest&, const RequestTarget&);
  boost::asio::awaitable<AdminResponse> serverInfo(const AdminRequest&, const RequestTarget&);
  boost::asio::awaitable<AdminResponse> logging(const AdminRequest&, const RequestTarget&);
  boost::asio::awaitable<AdminResponse> drain(const AdminRequest&, const RequestTarget&);
  boost::asio::awaitable<AdminResponse> quit(const AdminRequest&, const RequestTarget&);
  boost::asio::awaitable<AdminResponse> appHealth(const AdminRequest&, const RequestTarget&);

  // Asks `provider` and waits for its answer, at most AdminOptions::provider_timeout.
  template <typename Answer>
  boost::asio::awaitable<std::optional<Answer>> awaitProvider(
      const std::function<void(std::function<void(Answer)>)>& provider);

  // The provider's status, with DRAINING forced once a drain was requested here.
  ProxyStatus currentStatus() const;

  static const std::vector<Endpoint>& adminEndpoints();
  static const std::vector<Endpoint>& statusEndpoints();
  const std::vector<Endpoint>& endpoints() const {
    return role_ == AdminRole::kStatus ? statusEndpoints() : adminEndpoints();
  }

  AdminRole role_;
  AdminCallbacks callbacks_;
  std::chrono::milliseconds provider_timeout_;
  std::chrono::steady_clock::time_point started_;
  bool drain_requested_ = false;
  bool quit_requested_ = false;
  std::unordered_set<boost::asio::steady_timer*> provider_waits_;
};

// Whether a Host header value names this machine the way an operator would: an IP literal or
// "localhost", with an optional port. A DNS name is refused: a web page that rebinds its own
// name to 127.0.0.1 would otherwise reach the admin endpoint as if same-origin.
bool isAcceptableAdminHost(std::string_view host);

// Whether an Origin header value is a page served from loopback (http(s)://127.x.x.x, [::1] or
// localhost). State-changing requests from any other origin are refused, so a page in the
// operator's browser cannot drain the proxy or change its log level.
bool isLoopbackOrigin(std::string_view origin);

}  // namespace weft::proxy::admin
