#include "cli/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

namespace weft::cli {

namespace http = boost::beast::http;

std::string httpGet(const std::string& address, const std::string& target, HttpResponse& response,
                    const HttpGetOptions& options) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 == address.size()) {
    return "\"" + address + "\" is not host:port";
  }
  std::string host = address.substr(0, colon);
  const std::string port = address.substr(colon + 1);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  boost::asio::io_context io;
  boost::beast::tcp_stream stream(io);
  boost::asio::ip::tcp::resolver resolver(io);
  boost::beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(options.body_limit);
  http::request<http::empty_body> request(http::verb::get, target, 11);
  request.set(http::field::host, host);
  std::string error;
  stream.expires_after(options.timeout);
  resolver.async_resolve(host, port, [&](boost::system::error_code ec, auto results) {
    if (ec) {
      error = "cannot resolve " + host + ": " + ec.message();
      return;
    }
    stream.async_connect(results, [&](boost::system::error_code connect_error, auto) {
      if (connect_error) {
        error = "cannot connect to " + (options.peer.empty() ? "" : options.peer + " ") + address +
                ": " + connect_error.message() +
                (options.connect_hint.empty() ? "" : " (" + options.connect_hint + ")");
        return;
      }
      http::async_write(stream, request, [&](boost::system::error_code write_error, size_t) {
        if (write_error) {
          error = "cannot send to " + address + ": " + write_error.message();
          return;
        }
        http::async_read(stream, buffer, parser, [&](boost::system::error_code read_error, size_t) {
          if (read_error == http::error::body_limit) {
            error = "the answer of " + address + target + " is larger than " +
                    std::to_string(options.body_limit) + " bytes";
          } else if (read_error) {
            error = "no answer from " + address + ": " + read_error.message();
          }
        });
      });
    });
  });
  io.run();
  if (!error.empty()) {
    return error;
  }
  response.status = parser.get().result_int();
  response.body = std::move(parser.get().body());
  return {};
}

}  // namespace weft::cli
