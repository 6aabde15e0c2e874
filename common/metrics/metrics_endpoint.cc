#include "common/metrics/metrics_endpoint.h"

#include <prometheus/text_serializer.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <list>
#include <sstream>

#include "common/log/logger.h"

namespace weft::metrics {

namespace http = boost::beast::http;
using boost::asio::ip::tcp;

namespace {

constexpr auto kIoTimeout = std::chrono::seconds(10);
constexpr uint32_t kMaxHeadBytes = 8 * 1024;

spdlog::logger& metricsLog() {
  static spdlog::logger& logger = weft::log::logger("metrics");
  return logger;
}

}  // namespace

struct MetricsEndpoint::State {
  explicit State(boost::asio::io_context& io_context) : loop(io_context), acceptor(io_context) {}

  boost::asio::io_context& loop;
  tcp::acceptor acceptor;
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables;
  std::function<std::string()> not_ready_reason;
  // Open connections, to close on stop().
  std::list<boost::beast::tcp_stream*> connections;
  bool stopped = false;

  std::string render() const {
    std::vector<prometheus::MetricFamily> families;
    for (const auto& collectable : collectables) {
      std::vector<prometheus::MetricFamily> more = collectable->Collect();
      families.insert(families.end(), std::make_move_iterator(more.begin()),
                      std::make_move_iterator(more.end()));
    }
    std::ostringstream out;
    prometheus::TextSerializer().Serialize(out, families);
    return out.str();
  }

  http::response<http::string_body> answer(const http::request<http::empty_body>& request) const {
    http::response<http::string_body> response;
    response.version(11);
    response.keep_alive(request.keep_alive());
    response.set(http::field::server, "weft-controlplane");
    const bool head = request.method() == http::verb::head;
    if (request.method() != http::verb::get && !head) {
      response.result(http::status::method_not_allowed);
      response.set(http::field::allow, "GET, HEAD");
      response.set(http::field::content_type, "text/plain; charset=utf-8");
      response.body() = "only GET and HEAD are served here\n";
    } else if (request.target() == "/healthz") {
      response.result(http::status::ok);
      response.set(http::field::content_type, "text/plain; charset=utf-8");
      response.body() = "ok\n";
    } else if (request.target() == "/ready") {
      const std::string reason = not_ready_reason ? not_ready_reason() : std::string();
      response.result(reason.empty() ? http::status::ok : http::status::service_unavailable);
      response.set(http::field::content_type, "text/plain; charset=utf-8");
      response.body() = reason.empty() ? "ready\n" : "not ready: " + reason + "\n";
    } else if (request.target() != "/metrics" && request.target().rfind("/metrics?", 0) != 0) {
      response.result(http::status::not_found);
      response.set(http::field::content_type, "text/plain; charset=utf-8");
      response.body() = "not found; the metrics are at /metrics (probes: /healthz, /ready)\n";
    } else {
      response.result(http::status::ok);
      response.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
      response.body() = render();
    }
    response.prepare_payload();
    if (head) {
      response.body().clear();  // Content-Length still says what GET would send
    }
    return response;
  }
};

namespace {

boost::asio::awaitable<void> serve(std::shared_ptr<MetricsEndpoint::State> state,
                                   tcp::socket socket);

}  // namespace

MetricsEndpoint::MetricsEndpoint(boost::asio::io_context& loop)
    : state_(std::make_shared<State>(loop)) {}

void MetricsEndpoint::addCollectable(std::shared_ptr<prometheus::Collectable> collectable) {
  state_->collectables.push_back(std::move(collectable));
}

void MetricsEndpoint::setReadiness(std::function<std::string()> not_ready_reason) {
  state_->not_ready_reason = std::move(not_ready_reason);
}

MetricsEndpoint::~MetricsEndpoint() {
  stop();
}

std::string MetricsEndpoint::listen(const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) {
    return "\"" + address + "\" is not host:port";
  }
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  unsigned port = 0;
  const std::string port_text = address.substr(colon + 1);
  if (port_text.empty() || port_text.size() > 5 ||
      port_text.find_first_not_of("0123456789") != std::string::npos ||
      (port = static_cast<unsigned>(std::stoul(port_text))) > 65535) {
    return "\"" + address + "\" has no valid port";
  }
  boost::system::error_code error;
  const auto ip = boost::asio::ip::make_address(host, error);
  if (error) {
    return "\"" + host + "\" is not an IP address";
  }
  const tcp::endpoint endpoint(ip, static_cast<uint16_t>(port));
  tcp::acceptor& acceptor = state_->acceptor;
  if (acceptor.open(endpoint.protocol(), error);
      !error && (acceptor.set_option(tcp::acceptor::reuse_address(true), error), !error) &&
      (acceptor.bind(endpoint, error), !error)) {
    acceptor.listen(boost::asio::socket_base::max_listen_connections, error);
  }
  if (error) {
    boost::system::error_code ignored;
    acceptor.close(ignored);
    return error.message();
  }
  boost::asio::co_spawn(
      state_->loop,
      [state = state_]() -> boost::asio::awaitable<void> {
        for (;;) {
          auto [accept_error, socket] = co_await state->acceptor.async_accept(
              boost::asio::as_tuple(boost::asio::use_awaitable));
          if (state->stopped) {
            co_return;
          }
          if (accept_error) {
            // Out of descriptors, most likely: pause instead of spinning on the error.
            metricsLog().warn("accepting a metrics connection failed: {}", accept_error.message());
            boost::asio::steady_timer pause(state->loop, std::chrono::milliseconds(100));
            co_await pause.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
            continue;
          }
          boost::asio::co_spawn(state->loop, serve(state, std::move(socket)),
                                boost::asio::detached);
        }
      },
      boost::asio::detached);
  return {};
}

uint16_t MetricsEndpoint::port() const {
  boost::system::error_code error;
  const auto endpoint = state_->acceptor.local_endpoint(error);
  return error ? 0 : endpoint.port();
}

void MetricsEndpoint::stop() {
  if (state_->stopped) {
    return;
  }
  state_->stopped = true;
  boost::system::error_code ignored;
  state_->acceptor.close(ignored);
  for (boost::beast::tcp_stream* connection : state_->connections) {
    connection->socket().close(ignored);
  }
}

namespace {

boost::asio::awaitable<void> serve(std::shared_ptr<MetricsEndpoint::State> state,
                                   tcp::socket socket) {
  boost::beast::tcp_stream stream(std::move(socket));
  state->connections.push_front(&stream);
  const auto registered = state->connections.begin();
  boost::beast::flat_buffer buffer(kMaxHeadBytes);
  for (;;) {
    http::request_parser<http::empty_body> parser;
    parser.header_limit(kMaxHeadBytes);
    stream.expires_after(kIoTimeout);
    auto [read_error, read_bytes] = co_await http::async_read(
        stream, buffer, parser, boost::asio::as_tuple(boost::asio::use_awaitable));
    if (read_error) {
      // A clean close between requests is how keep-alive ends; the rest is worth a line.
      if (read_error != http::error::end_of_stream && !state->stopped) {
        metricsLog().debug("metrics request not read: {}", read_error.message());
        if (read_error == http::error::header_limit || read_error == http::error::unexpected_body) {
          http::response<http::string_body> refused{http::status::bad_request, 11};
          refused.set(http::field::content_type, "text/plain; charset=utf-8");
          refused.body() = read_error == http::error::header_limit
                               ? "request head larger than 8 KiB\n"
                               : "a metrics request has no body\n";
          refused.keep_alive(false);
          refused.prepare_payload();
          co_await http::async_write(stream, refused,
                                     boost::asio::as_tuple(boost::asio::use_awaitable));
        }
      }
      break;
    }
    auto response = state->answer(parser.get());
    stream.expires_after(kIoTimeout);
    auto [write_error, written] = co_await http::async_write(
        stream, response, boost::asio::as_tuple(boost::asio::use_awaitable));
    if (write_error || !response.keep_alive() || state->stopped) {
      break;
    }
  }
  boost::beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  state->connections.erase(registered);
}

}  // namespace

}  // namespace weft::metrics
