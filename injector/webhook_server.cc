#include "injector/webhook_server.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <chrono>
#include <list>

#include "common/log/logger.h"
#include "common/tls/openssl_error.h"

namespace weft::injector {

namespace http = boost::beast::http;
namespace ssl = boost::asio::ssl;
using boost::asio::ip::tcp;

namespace {

constexpr auto kIoTimeout = std::chrono::seconds(10);
constexpr uint32_t kMaxHeadBytes = 16 * 1024;
constexpr uint64_t kMaxBodyBytes = 8 * 1024 * 1024;
constexpr std::string_view kReviewPath = "/inject";

spdlog::logger& webhookLog() {
  static spdlog::logger& logger = weft::log::logger("webhook");
  return logger;
}

using Stream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

}  // namespace

struct WebhookServer::State {
  State(boost::asio::io_context& io_context, Review review_function, Observer observer_function)
      : loop(io_context),
        acceptor(io_context),
        review(std::move(review_function)),
        observer(std::move(observer_function)) {}

  boost::asio::io_context& loop;
  tcp::acceptor acceptor;
  Review review;
  Observer observer;
  std::shared_ptr<ssl::context> tls;
  std::list<Stream*> connections;
  uint64_t handshake_failures = 0;
  uint64_t bad_requests = 0;
  bool stopped = false;
};

namespace {

http::response<http::string_body> plainResponse(http::status status, std::string body,
                                                bool keep_alive) {
  http::response<http::string_body> response{status, 11};
  response.set(http::field::server, "weft-injector");
  response.set(http::field::content_type, "text/plain; charset=utf-8");
  response.keep_alive(keep_alive);
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

http::response<http::string_body> answerRequest(WebhookServer::State& state,
                                                http::request<http::string_body>& request) {
  const bool keep_alive = request.keep_alive();
  const std::string_view target(request.target().data(), request.target().size());
  const std::string_view path = target.substr(0, target.find('?'));
  if (path != kReviewPath) {
    ++state.bad_requests;
    return plainResponse(
        http::status::not_found,
        "weft-injector serves AdmissionReviews at POST " + std::string(kReviewPath) + "\n",
        keep_alive);
  }
  if (request.method() != http::verb::post) {
    ++state.bad_requests;
    auto response = plainResponse(http::status::method_not_allowed, "AdmissionReviews are POSTed\n",
                                  keep_alive);
    response.set(http::field::allow, "POST");
    return response;
  }
  const auto started = std::chrono::steady_clock::now();
  AdmissionAnswer answer = state.review(request.body());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (answer.http_status != 200) {
    ++state.bad_requests;
  }
  http::response<http::string_body> response{static_cast<http::status>(answer.http_status), 11};
  response.set(http::field::server, "weft-injector");
  response.set(http::field::content_type,
               answer.http_status == 200 ? "application/json" : "text/plain; charset=utf-8");
  response.keep_alive(keep_alive);
  response.body() = std::move(answer.body);
  response.prepare_payload();
  if (state.observer) {
    state.observer(answer, seconds);
  }
  return response;
}

boost::asio::awaitable<void> serve(std::shared_ptr<WebhookServer::State> state,
                                   std::shared_ptr<ssl::context> tls, tcp::socket socket) {
  Stream stream(std::move(socket), *tls);
  state->connections.push_front(&stream);
  const auto registered = state->connections.begin();
  auto& lowest = boost::beast::get_lowest_layer(stream);
  lowest.expires_after(kIoTimeout);
  auto [handshake_error] = co_await stream.async_handshake(
      ssl::stream_base::server, boost::asio::as_tuple(boost::asio::use_awaitable));
  if (handshake_error) {
    if (!state->stopped) {
      ++state->handshake_failures;
      webhookLog().warn(
          "TLS handshake with {} failed: {}",
          [&] {
            boost::system::error_code ignored;
            const auto peer = lowest.socket().remote_endpoint(ignored);
            return ignored ? std::string("a peer")
                           : peer.address().to_string() + ":" + std::to_string(peer.port());
          }(),
          handshake_error.message());
    }
  } else {
    boost::beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(kMaxHeadBytes);
      parser.body_limit(kMaxBodyBytes);
      lowest.expires_after(kIoTimeout);
      auto [read_error, read_bytes] = co_await http::async_read(
          stream, buffer, parser, boost::asio::as_tuple(boost::asio::use_awaitable));
      if (read_error) {
        if (state->stopped || read_error == http::error::end_of_stream ||
            read_error == ssl::error::stream_truncated) {
          break;
        }
        ++state->bad_requests;
        webhookLog().warn("webhook request not read: {}", read_error.message());
        if (read_error == http::error::header_limit || read_error == http::error::body_limit) {
          const bool head = read_error == http::error::header_limit;
          auto refused = plainResponse(
              head ? http::status::request_header_fields_too_large
                   : http::status::payload_too_large,
              head ? "request head larger than 16 KiB\n" : "request body larger than 8 MiB\n",
              false);
          lowest.expires_after(kIoTimeout);
          co_await http::async_write(stream, refused,
                                     boost::asio::as_tuple(boost::asio::use_awaitable));
        }
        break;
      }
      http::request<http::string_body> request = parser.release();
      auto response = answerRequest(*state, request);
      lowest.expires_after(kIoTimeout);
      auto [write_error, written] = co_await http::async_write(
          stream, response, boost::asio::as_tuple(boost::asio::use_awaitable));
      if (write_error || !response.keep_alive() || state->stopped) {
        break;
      }
    }
    if (!state->stopped) {
      lowest.expires_after(std::chrono::seconds(1));
      co_await stream.async_shutdown(boost::asio::as_tuple(boost::asio::use_awaitable));
    }
  }
  boost::system::error_code ignored;
  lowest.socket().close(ignored);
  state->connections.erase(registered);
}

}  // namespace

WebhookServer::WebhookServer(boost::asio::io_context& loop, Review review, Observer observer)
    : state_(std::make_shared<State>(loop, std::move(review), std::move(observer))) {}

WebhookServer::~WebhookServer() {
  stop();
}

void WebhookServer::setTlsContext(std::shared_ptr<ssl::context> context) {
  state_->tls = std::move(context);
}

std::string WebhookServer::listen(const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) {
    return "\"" + address + "\" is not host:port";
  }
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const std::string port_text = address.substr(colon + 1);
  if (port_text.empty() || port_text.size() > 5 ||
      port_text.find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(port_text) > 65535) {
    return "\"" + address + "\" has no valid port";
  }
  boost::system::error_code error;
  const auto ip = boost::asio::ip::make_address(host, error);
  if (error) {
    return "\"" + host + "\" is not an IP address";
  }
  const tcp::endpoint endpoint(ip, static_cast<uint16_t>(std::stoul(port_text)));
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
            webhookLog().warn("accepting a webhook connection failed: {}", accept_error.message());
            boost::asio::steady_timer pause(state->loop, std::chrono::milliseconds(100));
            co_await pause.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
            continue;
          }
          if (!state->tls) {
            ++state->handshake_failures;
            webhookLog().warn("closing a webhook connection: no serving certificate loaded");
            boost::system::error_code ignored;
            socket.close(ignored);
            continue;
          }
          boost::asio::co_spawn(state->loop, serve(state, state->tls, std::move(socket)),
                                boost::asio::detached);
        }
      },
      boost::asio::detached);
  return {};
}

uint16_t WebhookServer::port() const {
  boost::system::error_code error;
  const auto endpoint = state_->acceptor.local_endpoint(error);
  return error ? 0 : endpoint.port();
}

void WebhookServer::stop() {
  if (state_->stopped) {
    return;
  }
  state_->stopped = true;
  boost::system::error_code ignored;
  state_->acceptor.close(ignored);
  for (Stream* connection : state_->connections) {
    boost::beast::get_lowest_layer(*connection).socket().close(ignored);
  }
}

uint64_t WebhookServer::handshakeFailures() const {
  return state_->handshake_failures;
}

uint64_t WebhookServer::badRequests() const {
  return state_->bad_requests;
}

std::shared_ptr<ssl::context> loadServerTlsContext(const std::string& certificate_file,
                                                   const std::string& key_file,
                                                   std::string& error) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = context->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  ERR_clear_error();
  if (SSL_CTX_use_certificate_chain_file(native, certificate_file.c_str()) != 1) {
    error = certificate_file + ": not a PEM certificate chain: " + tls::opensslErrors();
    return nullptr;
  }
  // Read first, then installed: OpenSSL's file call reports a key of another certificate as
  // an unreadable key.
  BIO* file = BIO_new_file(key_file.c_str(), "r");
  EVP_PKEY* key =
      file != nullptr ? PEM_read_bio_PrivateKey(file, nullptr, nullptr, nullptr) : nullptr;
  BIO_free(file);
  if (key == nullptr) {
    error = key_file + ": not a PEM private key: " + tls::opensslErrors();
    return nullptr;
  }
  const bool installed = SSL_CTX_use_PrivateKey(native, key) == 1;
  EVP_PKEY_free(key);
  if (!installed || SSL_CTX_check_private_key(native) != 1) {
    error = key_file + " is not the key of " + certificate_file + ": " + tls::opensslErrors();
    return nullptr;
  }
  return context;
}

}  // namespace weft::injector
