#include "proxy/upstream/http1_upstream_io.h"

#include "proxy/http1/beast_header_lookup.h"
#include "proxy/http1/buffered_parse.h"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/read.hpp>
#include <charconv>

namespace weft::proxy {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

}  // namespace

asio::awaitable<std::string> connectUpstream(UpstreamConnection& connection,
                                             const asio::ip::tcp::endpoint& endpoint,
                                             const UpstreamTransport& transport,
                                             TlsSessionCache& tls_sessions,
                                             std::chrono::milliseconds connect_timeout,
                                             std::chrono::steady_clock::time_point deadline,
                                             std::string_view mesh_alpn) {
  connection.stream.expires_at(
      std::min(deadline, std::chrono::steady_clock::now() + connect_timeout));
  auto [error] = co_await connection.stream.async_connect(endpoint, kUseTuple);
  if (error) {
    co_return "connecting to " + endpoint.address().to_string() + ":" +
        std::to_string(endpoint.port()) + " failed: " + error.message();
  }
  boost::system::error_code ignored;
  connection.stream.socket().set_option(asio::ip::tcp::no_delay(true), ignored);
  if (transport.tls != nullptr) {
    std::string failure = co_await startUpstreamTls(
        connection.stream, transport, alpnOffer(transport, mesh_alpn), endpoint, tls_sessions);
    if (!failure.empty()) {
      co_return failure;
    }
    connection.transport_key = transport.pool_key;
  }
  co_return std::string();
}

asio::awaitable<ResponseHeadRead> readFinalResponseHeader(UpstreamConnection& connection,
                                                          bool head_request) {
  std::optional<UpstreamResponseParser>& response = connection.response;
  ResponseHeadRead read;
  for (;;) {
    response.emplace();
    response->header_limit(kMaxUpstreamHeaderBytes);
    response->body_limit(boost::none);
    response->skip(head_request);
    const boost::system::error_code error =
        co_await readHeaderParsed(connection.stream, connection.buffer, *response);
    read.got_bytes = read.got_bytes || response->got_some();
    if (error) {
      read.error = error;
      co_return read;
    }
    const unsigned status = response->get().result_int();
    if (status >= 200 || status == 101) {
      co_return read;
    }
    // An interim response has no body: the next header follows.
  }
}

bool mayRetryOnFreshConnection(bool retry_allowed, const ResponseHeadRead& read,
                               const UpstreamConnection& connection) {
  return retry_allowed && !read.got_bytes && connection.buffer.size() == 0 &&
         read.error != beast::error::timeout;
}

int headerGrpcStatus(const UpstreamResponseParser::value_type& header) {
  const auto field = header.find("grpc-status");
  if (field == header.end()) {
    return -1;
  }
  int status = -1;
  const std::string_view value = field->value();
  std::from_chars(value.data(), value.data() + value.size(), status);
  return status;
}

RetryDecision retryAfterAttempt(UpstreamRetry& retry, const AttemptResult& attempt,
                                const UpstreamConnection* responded) {
  const auto now = std::chrono::steady_clock::now();
  if (responded == nullptr || !responded->response) {
    return retry.decide(attempt, nullptr, now);
  }
  const BeastHeaderLookup lookup(responded->response->get().base());
  const RequestView view{{}, {}, {}, {}, &lookup, {}};
  return retry.decide(attempt, &view, now);
}

}  // namespace weft::proxy
