#include "proxy/admin/admin_server.h"

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <unordered_set>

#include "common/log/logger.h"
#include "proxy/admin/admin_endpoints.h"

namespace weft::proxy::admin {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
// After an error response, how long to read and discard what the client still sends, so
// closing with unread data does not reset the connection before it has read the response.
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr size_t kLingerBytes = 64 * 1024;

spdlog::logger& adminLog() {
  static spdlog::logger& logger = weft::log::logger("admin");
  return logger;
}

bool isDisconnect(const error_code& error) {
  return error == http::error::end_of_stream || error == asio::error::eof ||
         error == asio::error::connection_reset || error == asio::error::broken_pipe ||
         error == asio::error::operation_aborted;
}

// The answer to a request that could not be read.
AdminResponse rejection(const error_code& error, const AdminOptions& options) {
  AdminResponse response;
  response.close = true;
  if (error == http::error::header_limit) {
    response.status = 431;
    response.body = "request line and headers are larger than " +
                    std::to_string(options.max_request_header_bytes) + " bytes\n";
  } else if (error == http::error::body_limit) {
    response.status = 413;
    response.body = "request body is larger than " +
                    std::to_string(options.max_request_body_bytes) +
                    " bytes (admin endpoints take no body)\n";
  } else if (error == beast::error::timeout) {
    response.status = 408;
    response.body = "the request did not arrive within " +
                    std::to_string(options.request_timeout.count()) + " ms\n";
  } else {
    response.status = 400;
    response.body = "malformed HTTP/1.1 request: " + error.message() + "\n";
  }
  return response;
}

asio::awaitable<error_code> writeResponse(beast::tcp_stream& stream, AdminResponse& response,
                                          unsigned version, bool keep_alive, bool head) {
  http::response<http::string_body> message{static_cast<http::status>(response.status),
                                            version == 10 ? 10u : 11u};
  message.set(http::field::content_type, response.content_type);
  // Admin answers describe a moment; a browser or proxy must not reuse them.
  message.set(http::field::cache_control, "no-store");
  message.set("X-Content-Type-Options", "nosniff");
  if (!response.allow.empty()) {
    message.set(http::field::allow, response.allow);
  }
  message.keep_alive(keep_alive);
  message.body() = std::move(response.body);
  message.prepare_payload();
  error_code error;
  if (head) {
    // Content-Length of the GET answer, no body (RFC 9110 section 9.3.2).
    http::response_serializer<http::string_body> serializer(message);
    std::tie(error, std::ignore) = co_await http::async_write_header(stream, serializer, kUseTuple);
  } else {
    std::tie(error, std::ignore) = co_await http::async_write(stream, message, kUseTuple);
  }
  co_return error;
}

// One admin connection: its stream and the deadline for the request being read. Shared with
// the deadline timer's handler, which may run after the connection's coroutine has ended.
struct AdminConnection : std::enable_shared_from_this<AdminConnection> {
  explicit AdminConnection(tcp::socket socket)
      : stream(std::move(socket)), deadline(stream.get_executor()) {}

  // Unlike tcp_stream's own timeout, which closes the socket, expiry only cancels the pending
  // read and leaves the socket open, so the client can still be told 408.
  void armDeadline(std::chrono::milliseconds timeout) {
    timed_out = false;
    const uint64_t armed = ++generation;
    deadline.expires_after(timeout);
    deadline.async_wait([self = shared_from_this(), armed](error_code error) {
      // A newer generation means the read finished first and this expiry is stale.
      if (!error && self->generation == armed) {
        self->timed_out = true;
        error_code ignored;
        self->stream.socket().cancel(ignored);
      }
    });
  }

  void disarmDeadline() {
    ++generation;
    deadline.cancel();
  }

  beast::tcp_stream stream;
  asio::steady_timer deadline;
  uint64_t generation = 0;
  bool timed_out = false;
};

}  // namespace

struct AdminServer::Impl {
  Impl(asio::io_context& context, AdminOptions server_options, AdminCallbacks callbacks)
      : options(std::move(server_options)),
        endpoints(std::move(callbacks), options.provider_timeout, options.role),
        acceptor(context) {}

  static asio::awaitable<void> acceptLoop(std::shared_ptr<Impl> self);
  static asio::awaitable<void> serveConnection(std::shared_ptr<Impl> self, tcp::socket socket);
  static asio::awaitable<void> lingerAndClose(beast::tcp_stream& stream);
  void refuseOverload(tcp::socket& socket);

  AdminOptions options;
  AdminEndpoints endpoints;
  tcp::acceptor acceptor;
  uint16_t port = 0;
  bool stopped = false;
  std::unordered_set<AdminConnection*> connections;
  std::chrono::steady_clock::time_point last_warning{};
};

AdminServer::AdminServer(asio::io_context& io_context, AdminOptions options,
                         AdminCallbacks callbacks)
    : impl_(std::make_shared<Impl>(io_context, std::move(options), std::move(callbacks))) {}

AdminServer::~AdminServer() {
  stop();
}

std::string AdminServer::listen() {
  const tcp::endpoint& address = impl_->options.address;
  tcp::acceptor& acceptor = impl_->acceptor;
  error_code error;
  acceptor.open(address.protocol(), error);
  if (!error) {
    // A restarted proxy rebinds at once despite connections of its predecessor in TIME_WAIT.
    acceptor.set_option(asio::socket_base::reuse_address(true), error);
  }
  if (!error) {
    acceptor.bind(address, error);
  }
  if (!error) {
    acceptor.listen(asio::socket_base::max_listen_connections, error);
  }
  if (!error) {
    impl_->port = acceptor.local_endpoint(error).port();
  }
  if (error) {
    error_code ignored;
    acceptor.close(ignored);
    return "admin endpoint: cannot listen on " + address.address().to_string() + ":" +
           std::to_string(address.port()) + ": " + error.message();
  }
  asio::co_spawn(acceptor.get_executor(), Impl::acceptLoop(impl_), asio::detached);
  adminLog().info("admin endpoint listening on {}{}{}:{}", address.address().is_v6() ? "[" : "",
                  address.address().to_string(), address.address().is_v6() ? "]" : "", impl_->port);
  return {};
}

uint16_t AdminServer::port() const {
  return impl_->port;
}

void AdminServer::stop() {
  Impl& impl = *impl_;
  if (impl.stopped) {
    return;
  }
  impl.stopped = true;
  error_code ignored;
  impl.acceptor.close(ignored);
  for (AdminConnection* connection : impl.connections) {
    connection->disarmDeadline();
    connection->stream.cancel();
  }
  impl.endpoints.cancelWaits();
}

asio::awaitable<void> AdminServer::Impl::acceptLoop(std::shared_ptr<Impl> self) {
  while (!self->stopped) {
    auto [error, socket] = co_await self->acceptor.async_accept(kUseTuple);
    if (self->stopped || error == asio::error::operation_aborted) {
      co_return;
    }
    if (error) {
      // Out of descriptors or memory: retrying at once would spin.
      const auto now = std::chrono::steady_clock::now();
      if (now - self->last_warning > std::chrono::seconds(1)) {
        self->last_warning = now;
        adminLog().warn("admin accept failed: {}; pausing accepts", error.message());
      }
      asio::steady_timer pause(self->acceptor.get_executor(), std::chrono::milliseconds(100));
      co_await pause.async_wait(kUseTuple);
      continue;
    }
    if (self->connections.size() >= self->options.max_connections) {
      self->refuseOverload(socket);
      continue;
    }
    const auto executor = socket.get_executor();
    asio::co_spawn(executor, serveConnection(self, std::move(socket)),
                   [](std::exception_ptr exception) {
                     if (!exception) {
                       return;
                     }
                     try {
                       std::rethrow_exception(exception);
                     } catch (const std::exception& e) {
                       adminLog().error("admin connection ended by an exception: {}", e.what());
                     }
                   });
  }
}

void AdminServer::Impl::refuseOverload(tcp::socket& socket) {
  const auto now = std::chrono::steady_clock::now();
  if (now - last_warning > std::chrono::seconds(1)) {
    last_warning = now;
    adminLog().warn("admin endpoint: {} connections open; refusing more", connections.size());
  }
  static constexpr std::string_view kBusy =
      "HTTP/1.1 503 Service Unavailable\r\n"
      "Content-Type: text/plain; charset=utf-8\r\n"
      "Connection: close\r\n"
      "Content-Length: 49\r\n"
      "\r\n"
      "too many admin connections open; try again later\n";
  static_assert(kBusy.size() - kBusy.find("\r\n\r\n") - 4 == 49);
  // Best effort and never blocking: a fresh socket's send buffer takes this at once.
  error_code ignored;
  socket.non_blocking(true, ignored);
  socket.write_some(asio::buffer(kBusy), ignored);
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
}

asio::awaitable<void> AdminServer::Impl::lingerAndClose(beast::tcp_stream& stream) {
  error_code error;
  stream.socket().shutdown(tcp::socket::shutdown_send, error);
  if (error) {
    co_return;
  }
  stream.expires_after(kLingerTime);
  std::array<char, 4096> discard;
  size_t discarded = 0;
  while (discarded < kLingerBytes) {
    auto [read_error, bytes] = co_await stream.async_read_some(asio::buffer(discard), kUseTuple);
    if (read_error) {
      break;
    }
    discarded += bytes;
  }
}

asio::awaitable<void> AdminServer::Impl::serveConnection(std::shared_ptr<Impl> self,
                                                         tcp::socket socket) {
  const auto connection = std::make_shared<AdminConnection>(std::move(socket));
  beast::tcp_stream& stream = connection->stream;
  self->connections.insert(connection.get());
  struct Unregister {
    Impl& impl;
    AdminConnection& connection;
    ~Unregister() {
      connection.disarmDeadline();
      impl.connections.erase(&connection);
    }
  } unregister{*self, *connection};

  const AdminOptions& options = self->options;
  beast::flat_buffer buffer;
  bool linger = false;
  while (!self->stopped) {
    if (buffer.size() == 0) {
      // Waiting for the next request: the idle timeout applies, and silence is no error.
      stream.expires_after(options.idle_timeout);
      auto [error, bytes] = co_await stream.async_read_some(buffer.prepare(2048), kUseTuple);
      if (error || self->stopped) {
        break;
      }
      buffer.commit(bytes);
    }
    http::request_parser<http::string_body> parser;
    parser.header_limit(options.max_request_header_bytes);
    parser.body_limit(options.max_request_body_bytes);
    stream.expires_never();
    connection->armDeadline(options.request_timeout);
    auto [read_error, read_bytes] = co_await http::async_read(stream, buffer, parser, kUseTuple);
    const bool timed_out = connection->timed_out;
    connection->disarmDeadline();
    if (self->stopped) {
      break;
    }
    if (read_error) {
      if (!timed_out && isDisconnect(read_error)) {
        break;
      }
      AdminResponse response =
          rejection(timed_out ? error_code(beast::error::timeout) : read_error, options);
      adminLog().debug("admin request refused: {} {}", response.status, response.body);
      stream.expires_after(options.request_timeout);
      co_await writeResponse(stream, response, 11, false, false);
      linger = true;
      break;
    }
    const http::request<http::string_body>& request = parser.get();
    const AdminRequest admin_request{request.method(), request.target(), request[http::field::host],
                                     request[http::field::origin]};
    AdminResponse response;
    try {
      response = co_await self->endpoints.handle(admin_request);
    } catch (const std::exception& e) {
      adminLog().error("admin {} {} failed: {}", std::string(request.method_string()),
                       std::string(request.target()), e.what());
      response = AdminResponse{};
      response.status = 500;
      response.body = std::string("internal error: ") + e.what() + "\n";
      response.close = true;
    }
    adminLog().debug("admin {} {} -> {}", std::string(request.method_string()),
                     std::string(request.target()), response.status);
    const bool keep_alive = request.keep_alive() && !response.close && !self->stopped;
    stream.expires_after(options.request_timeout);
    const error_code write_error = co_await writeResponse(
        stream, response, request.version(), keep_alive, request.method() == http::verb::head);
    if (response.after_response) {
      response.after_response();
    }
    if (write_error || !keep_alive) {
      linger = !write_error && response.close;
      break;
    }
  }
  if (linger && !self->stopped) {
    co_await lingerAndClose(stream);
  } else {
    error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }
}

}  // namespace weft::proxy::admin
