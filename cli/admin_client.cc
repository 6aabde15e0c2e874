#include "cli/admin_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

namespace weft::cli {

namespace http = boost::beast::http;

std::string adminGet(const std::string& address, const std::string& target, std::string& body,
                     std::chrono::milliseconds timeout) {
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
  http::response<http::string_body> response;
  http::request<http::empty_body> request(http::verb::get, target, 11);
  request.set(http::field::host, host);
  std::string error;
  stream.expires_after(timeout);
  resolver.async_resolve(host, port, [&](boost::system::error_code ec, auto results) {
    if (ec) {
      error = "cannot resolve " + host + ": " + ec.message();
      return;
    }
    stream.async_connect(results, [&](boost::system::error_code connect_error, auto) {
      if (connect_error) {
        error = "cannot connect to the admin endpoint " + address + ": " + connect_error.message() +
                " (is the proxy running, and is this its admin port?)";
        return;
      }
      http::async_write(stream, request, [&](boost::system::error_code write_error, size_t) {
        if (write_error) {
          error = "cannot send to " + address + ": " + write_error.message();
          return;
        }
        http::async_read(stream, buffer, response,
                         [&](boost::system::error_code read_error, size_t) {
                           if (read_error) {
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
  if (response.result_int() != 200) {
    return "the admin endpoint " + address + " answered " + std::to_string(response.result_int()) +
           ": " + response.body();
  }
  body = std::move(response.body());
  return {};
}

}  // namespace weft::cli
