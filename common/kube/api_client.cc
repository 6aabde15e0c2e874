#include "common/kube/api_client.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/json.hpp>
#include <fstream>
#include <sstream>

namespace weft::kube {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using boost::system::error_code;

// The token file's content without surrounding whitespace (a file written by hand usually ends
// with a newline, which must not end up in the header).
tls::Result<std::string> readToken(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  if (!in || !(text << in.rdbuf())) {
    return tls::Error{"cannot read the token file " + path};
  }
  std::string token = text.str();
  const size_t first = token.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) {
    return tls::Error{"the token file " + path + " is empty"};
  }
  token = token.substr(first, token.find_last_not_of(" \t\r\n") - first + 1);
  if (token.find_first_of("\r\n") != std::string::npos) {
    return tls::Error{"the token file " + path + " holds more than one line"};
  }
  return token;
}

struct Exchange {
  const ApiServer& server;
  std::string_view method;
  const std::string& target;
  const std::string& body;
  std::chrono::milliseconds timeout;
  ApiResponse response;
};

asio::awaitable<void> run(Exchange& exchange, ssl::context& context) {
  const ApiServer& server = exchange.server;
  auto executor = co_await asio::this_coro::executor;
  std::string step = "resolving " + server.host;
  try {
    asio::ip::tcp::resolver resolver(executor);
    const auto addresses = co_await resolver.async_resolve(server.host, std::to_string(server.port),
                                                           asio::use_awaitable);
    beast::ssl_stream<beast::tcp_stream> stream(executor, context);
    beast::get_lowest_layer(stream).expires_after(exchange.timeout);
    step = "connecting to " + server.url();
    co_await beast::get_lowest_layer(stream).async_connect(addresses, asio::use_awaitable);
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
    request.method_string(exchange.method);
    request.target(exchange.target);
    request.version(11);
    request.set(http::field::host, server.url().substr(std::string_view("https://").size()));
    request.set(http::field::user_agent, "weft-controlplane");
    request.set(http::field::accept, "application/json");
    if (!server.token_file.empty()) {
      auto token = readToken(server.token_file);
      if (!token) {
        exchange.response.error = token.error();
        co_return;
      }
      request.set(http::field::authorization, "Bearer " + *token);
    }
    if (!exchange.body.empty()) {
      request.set(http::field::content_type, "application/json");
      request.body() = exchange.body;
    }
    request.keep_alive(false);
    request.prepare_payload();
    step = "sending " + std::string(exchange.method) + " " + exchange.target;
    co_await http::async_write(stream, request, asio::use_awaitable);

    step = "reading the answer to " + std::string(exchange.method) + " " + exchange.target;
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxApiResponseBytes);
    co_await http::async_read(stream, buffer, parser, asio::use_awaitable);
    exchange.response.status = parser.get().result_int();
    exchange.response.body = std::move(parser.get().body());
    // The connection is not reused: no close_notify exchange to wait for.
  } catch (const boost::system::system_error& failure) {
    const error_code& code = failure.code();
    exchange.response.error =
        step + ": " +
        (code == beast::error::timeout
             ? "no answer within " + std::to_string(exchange.timeout.count()) + " ms"
             : code.message());
  } catch (const std::exception& failure) {
    // Memory exhaustion and the like: call() promises not to throw, and an exception left in
    // the coroutine would come out of the event loop.
    exchange.response.error = step + ": " + failure.what();
  }
}

}  // namespace

std::string ApiResponse::describe() const {
  if (!error.empty()) {
    return error;
  }
  std::string text = std::to_string(status);
  error_code parse_error;
  const boost::json::value parsed = boost::json::parse(body, parse_error);
  if (!parse_error && parsed.is_object()) {
    if (const auto* message = parsed.as_object().if_contains("message");
        message != nullptr && message->is_string()) {
      text += ": " + std::string(message->as_string().subview());
    }
  }
  return text;
}

ApiClient::ApiClient(ApiServer server, std::chrono::milliseconds timeout)
    : server_(std::move(server)), timeout_(timeout) {}

ApiResponse ApiClient::call(std::string_view method, const std::string& target,
                            const std::string& body) const {
  Exchange exchange{server_, method, target, body, timeout_, {}};
  try {
    ssl::context context(ssl::context::tls_client);
    error_code error;
    context.set_options(ssl::context::no_sslv2 | ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                            ssl::context::no_tlsv1_1,
                        error);
    context.load_verify_file(server_.ca_file, error);
    if (error) {
      exchange.response.error =
          "cannot read the API server's CA file " + server_.ca_file + ": " + error.message();
      return exchange.response;
    }
    asio::io_context loop(1);
    asio::co_spawn(loop, run(exchange, context), asio::detached);
    loop.run();
  } catch (const std::exception& failure) {
    exchange.response.error =
        std::string("request to the Kubernetes API failed: ") + failure.what();
  }
  if (exchange.response.status == 0 && exchange.response.error.empty()) {
    exchange.response.error = "no answer from " + server_.url();  // never expected; never silent
  }
  return exchange.response;
}

}  // namespace weft::kube
