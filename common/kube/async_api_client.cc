#include "common/kube/async_api_client.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <memory>
#include <optional>

namespace weft::kube {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using boost::system::error_code;

struct AsyncApiClient::Connection {
  ssl::context context{ssl::context::tls_client};
  std::optional<beast::ssl_stream<beast::tcp_stream>> stream;
  std::shared_ptr<Shared> shared;

  explicit Connection(std::shared_ptr<Shared> client) : shared(std::move(client)) {
    shared->in_flight.insert(this);
  }
  ~Connection() {
    shared->in_flight.erase(this);
    if (handle != nullptr) {
      handle->connection_ = nullptr;
    }
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void cancel() {
    cancelled = true;
    if (stream) {
      beast::get_lowest_layer(*stream).cancel();
    }
  }

  bool cancelled = false;
  AsyncApiClient::RequestHandle* handle = nullptr;
};

void AsyncApiClient::RequestHandle::cancel() {
  if (connection_ != nullptr) {
    connection_->cancel();
  }
}

namespace {

// Opens a verified TLS connection and sends the request; `step` names what was being done for
// the error when something throws.
asio::awaitable<void> sendRequest(AsyncApiClient::Connection& connection, const ApiServer& server,
                                  const std::string& method, const std::string& target,
                                  const std::string& body, const std::string& content_type,
                                  bool streaming, std::chrono::milliseconds timeout,
                                  std::string& step, std::string& error) {
  auto executor = co_await asio::this_coro::executor;
  error_code failure;
  connection.context.set_options(ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                                     ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                                 failure);
  connection.context.load_verify_file(server.ca_file, failure);
  if (failure) {
    error = "cannot read the API server's CA file " + server.ca_file + ": " + failure.message();
    co_return;
  }
  if (!server.client_cert_file.empty()) {
    connection.context.use_certificate_chain_file(server.client_cert_file, failure);
    if (!failure) {
      connection.context.use_private_key_file(server.client_key_file, ssl::context::pem, failure);
    }
    if (failure) {
      error = "cannot use the client certificate " + server.client_cert_file + " and key " +
              server.client_key_file + ": " + failure.message();
      co_return;
    }
  }
  std::string token;
  if (!server.token_file.empty()) {
    auto read = readBearerToken(server.token_file);
    if (!read) {
      error = read.error();
      co_return;
    }
    token = std::move(*read);
  }
  step = "resolving " + server.host;
  asio::ip::tcp::resolver resolver(executor);
  const auto addresses = co_await resolver.async_resolve(server.host, std::to_string(server.port),
                                                         asio::use_awaitable);
  if (connection.cancelled || connection.shared->cancelled) {
    error = step + ": cancelled";
    co_return;
  }
  auto& stream = connection.stream.emplace(executor, connection.context);
  // Bounds the connect, the handshake and the request (and, for call(), the answer).
  beast::get_lowest_layer(stream).expires_after(timeout);
  step = "connecting to " + server.url();
  co_await beast::get_lowest_layer(stream).async_connect(addresses, asio::use_awaitable);
  if (streaming) {
    // A watch is quiet for minutes at a time: keepalive probes find a peer that vanished (a
    // node gone, a load balancer that lost the connection) in about a minute.
    auto& socket = beast::get_lowest_layer(stream).socket();
    socket.set_option(asio::socket_base::keep_alive(true));
    const int fd = socket.native_handle();
    const int idle = 30;
    const int interval = 10;
    const int count = 3;
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof(interval));
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof(count));
  }
  error_code not_an_address;
  asio::ip::make_address(server.host, not_an_address);
  if (not_an_address) {
    // SNI carries DNS names only (RFC 6066 section 3).
    SSL_set_tlsext_host_name(stream.native_handle(), server.host.c_str());
  }
  stream.set_verify_mode(ssl::verify_peer);
  stream.set_verify_callback(ssl::host_name_verification(server.host));
  step = "TLS handshake with " + server.url();
  co_await stream.async_handshake(ssl::stream_base::client, asio::use_awaitable);

  http::request<http::string_body> request;
  request.method_string(method);
  request.target(target);
  request.version(11);
  request.set(http::field::host, server.url().substr(std::string_view("https://").size()));
  request.set(http::field::user_agent, "weft-controlplane");
  request.set(http::field::accept, "application/json");
  if (!token.empty()) {
    request.set(http::field::authorization, "Bearer " + token);
  }
  if (!body.empty()) {
    request.set(http::field::content_type, content_type);
    request.body() = body;
  }
  // One request per connection; a watch ends with the connection anyway.
  request.keep_alive(streaming);
  request.prepare_payload();
  step = "sending " + method + " " + target;
  co_await http::async_write(stream, request, asio::use_awaitable);
}

std::string failureText(const std::string& step, const error_code& code,
                        std::chrono::milliseconds timeout, bool cancelled) {
  if (cancelled) {
    return step + ": cancelled";
  }
  if (code == beast::error::timeout) {
    return step + ": no answer within " + std::to_string(timeout.count()) + " ms";
  }
  return step + ": " + code.message();
}

}  // namespace

AsyncApiClient::AsyncApiClient(asio::any_io_executor executor, ApiServer server)
    : executor_(std::move(executor)), server_(std::move(server)) {}

AsyncApiClient::~AsyncApiClient() = default;

void AsyncApiClient::cancelAll() {
  shared_->cancelled = true;
  for (Connection* connection : shared_->in_flight) {
    connection->cancel();
  }
}

asio::awaitable<ApiResponse> AsyncApiClient::call(
    const std::string& method, const std::string& target, const std::string& body,
    std::chrono::milliseconds timeout, const std::string& content_type, size_t max_body) {
  // The frame keeps what it uses: the client may be gone when a cancelled request resumes.
  const std::shared_ptr<Shared> shared = shared_;
  const ApiServer server = server_;
  ApiResponse response;
  if (shared->cancelled) {
    response.error = method + " " + target + ": the client is stopping";
    co_return response;
  }
  std::string step = "preparing " + method + " " + target;
  try {
    Connection connection(shared);
    std::string error;
    // The resolver is bounded by the system's own timeouts; the rest by `timeout`.
    co_await sendRequest(connection, server, method, target, body, content_type, false, timeout,
                         step, error);
    if (!error.empty()) {
      response.error = std::move(error);
      co_return response;
    }
    step = "reading the answer to " + method + " " + target;
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(max_body);
    co_await http::async_read(*connection.stream, buffer, parser, asio::use_awaitable);
    response.status = parser.get().result_int();
    response.body = std::move(parser.get().body());
  } catch (const boost::system::system_error& failure) {
    response.error = failureText(step, failure.code(), timeout, shared->cancelled);
  } catch (const std::exception& failure) {
    // Memory exhaustion and the like: an exception left in the coroutine would come out of
    // the event loop.
    response.error = step + ": " + failure.what();
  }
  co_return response;
}

asio::awaitable<ApiResponse> AsyncApiClient::stream(const std::string& target,
                                                    std::chrono::milliseconds head_timeout,
                                                    std::chrono::milliseconds idle_timeout,
                                                    const LineHandler& on_line, size_t max_line,
                                                    RequestHandle* handle) {
  const std::shared_ptr<Shared> shared = shared_;
  const ApiServer server = server_;
  ApiResponse response;
  const std::string method = "GET";
  if (shared->cancelled) {
    response.error = method + " " + target + ": the client is stopping";
    co_return response;
  }
  std::string step = "preparing " + method + " " + target;
  try {
    Connection connection(shared);
    if (handle != nullptr) {
      handle->connection_ = &connection;
      connection.handle = handle;
    }
    std::string error;
    const std::string none;
    co_await sendRequest(connection, server, method, target, none, none, true, head_timeout, step,
                         error);
    if (!error.empty()) {
      response.error = std::move(error);
      co_return response;
    }
    auto& stream = *connection.stream;
    step = "reading the answer to " + method + " " + target;
    beast::flat_buffer buffer;
    http::response_parser<http::buffer_body> parser;
    parser.body_limit(boost::none);  // a watch is unbounded in total; each line is bounded
    co_await http::async_read_header(stream, buffer, parser, asio::use_awaitable);
    response.status = parser.get().result_int();
    if (response.status != 200) {
      // A Status object: read it whole, bounded.
      std::string body;
      char chunk[8192];
      while (!parser.is_done() && body.size() < kMaxApiResponseBytes) {
        parser.get().body().data = chunk;
        parser.get().body().size = sizeof(chunk);
        error_code read_error;
        co_await http::async_read_some(stream, buffer, parser,
                                       asio::redirect_error(asio::use_awaitable, read_error));
        if (read_error && read_error != http::error::need_buffer) {
          break;
        }
        body.append(chunk, sizeof(chunk) - parser.get().body().size);
      }
      response.body = std::move(body);
      co_return response;
    }
    step = "watching " + target;
    std::string pending;  // the start of a line whose newline has not arrived
    char chunk[16384];
    while (!parser.is_done()) {
      parser.get().body().data = chunk;
      parser.get().body().size = sizeof(chunk);
      beast::get_lowest_layer(stream).expires_after(idle_timeout);
      error_code read_error;
      co_await http::async_read_some(stream, buffer, parser,
                                     asio::redirect_error(asio::use_awaitable, read_error));
      if (read_error && read_error != http::error::need_buffer) {
        if (read_error == http::error::end_of_stream || read_error == asio::error::eof ||
            read_error == ssl::error::stream_truncated) {
          response.error = step + ": the connection closed before the watch ended";
        } else {
          response.error = failureText(step, read_error, idle_timeout, shared->cancelled);
        }
        co_return response;
      }
      std::string_view data(chunk, sizeof(chunk) - parser.get().body().size);
      while (!data.empty()) {
        const size_t newline = data.find('\n');
        if (newline == std::string_view::npos) {
          if (pending.size() + data.size() > max_line) {
            response.line_too_long = true;
            response.error = step + ": an event longer than " + std::to_string(max_line) +
                             " bytes; the watch was ended";
            co_return response;
          }
          pending.append(data);
          break;
        }
        std::string_view line = data.substr(0, newline);
        data.remove_prefix(newline + 1);
        if (!pending.empty()) {
          if (pending.size() + line.size() > max_line) {
            response.line_too_long = true;
            response.error = step + ": an event longer than " + std::to_string(max_line) +
                             " bytes; the watch was ended";
            co_return response;
          }
          pending.append(line);
          line = pending;
        }
        const bool more = line.empty() || on_line(line);
        pending.clear();
        if (!more) {
          co_return response;
        }
        if (shared->cancelled || connection.cancelled) {
          response.error = step + ": cancelled";
          co_return response;
        }
      }
    }
    if (!pending.empty()) {
      on_line(pending);  // the server ended the stream without a final newline
    }
  } catch (const boost::system::system_error& failure) {
    response.error = failureText(step, failure.code(), idle_timeout, shared->cancelled);
  } catch (const std::exception& failure) {
    response.error = step + ": " + failure.what();
  }
  co_return response;
}

}  // namespace weft::kube
