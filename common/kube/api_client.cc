#include "common/kube/api_client.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <exception>

#include "common/kube/async_api_client.h"

namespace weft::kube {

namespace asio = boost::asio;
using boost::system::error_code;

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
  ApiResponse response;
  try {
    asio::io_context loop(1);
    AsyncApiClient client(loop.get_executor(), server_);
    // The call holds references to these until loop.run() returns.
    const std::string method_text(method);
    const std::string content_type = "application/json";
    asio::co_spawn(loop, client.call(method_text, target, body, timeout_, content_type),
                   [&response](std::exception_ptr failure, ApiResponse answer) {
                     if (!failure) {
                       response = std::move(answer);
                     }
                   });
    loop.run();
  } catch (const std::exception& failure) {
    response.error = std::string("request to the Kubernetes API failed: ") + failure.what();
  }
  if (response.status == 0 && response.error.empty()) {
    response.error = "no answer from " + server_.url();  // never expected; never silent
  }
  return response;
}

}  // namespace weft::kube
