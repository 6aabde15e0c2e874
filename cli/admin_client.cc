#include "cli/admin_client.h"

#include "cli/http_client.h"

namespace weft::cli {

std::string adminGet(const std::string& address, const std::string& target, std::string& body,
                     std::chrono::milliseconds timeout) {
  HttpResponse response;
  HttpGetOptions options;
  options.timeout = timeout;
  options.peer = "the admin endpoint";
  options.connect_hint = "is the proxy running, and is this its admin port?";
  if (std::string error = httpGet(address, target, response, options); !error.empty()) {
    return error;
  }
  if (response.status != 200) {
    return "the admin endpoint " + address + " answered " + std::to_string(response.status) + ": " +
           response.body;
  }
  body = std::move(response.body);
  return {};
}

}  // namespace weft::cli
