#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "common/kube/api_server.h"

namespace weft::kube {

// What one request to the API server came back with.
struct ApiResponse {
  // The HTTP status; 0 when no response arrived (then `error` says why).
  unsigned status = 0;
  std::string body;
  // Transport failure: connecting, TLS (a certificate that does not verify), the token file,
  // the deadline. Empty when a response arrived, whatever its status.
  std::string error;
  // AsyncApiClient::stream(): the stream was ended because one line was longer than allowed.
  bool line_too_long = false;

  // For a log line or a refusal: the transport error, or the status with the message of the
  // Kubernetes Status object in the body ("404: secrets \"x\" not found").
  std::string describe() const;
};

// A minimal client of the Kubernetes REST API: one HTTPS request per call, JSON in and out.
// The callers (the CA's TokenReviews, the CA root's Secret) make a request every few hours per
// workload, so a connection per request costs nothing worth a pool, and reading the token and
// the CA file on every call follows their rotation for free.
//
// The server's certificate must chain to ApiServer::ca_file and carry its host (DNS name or IP
// address). TLS 1.2 or later. Thread-safe: each call has its own event loop and connection.
class ApiClient {
 public:
  ApiClient(ApiServer server, std::chrono::milliseconds timeout);

  // `method` is "GET", "POST", "PUT" or "DELETE"; `target` the path and query
  // ("/api/v1/namespaces/ns/secrets/name"); `body` JSON, empty for none. Blocks for at most the
  // timeout once the server's address is known; a DNS name is resolved first, bounded only by
  // the system resolver's own timeouts (in a pod the server is an IP address). Never throws.
  ApiResponse call(std::string_view method, const std::string& target,
                   const std::string& body = {}) const;

  const ApiServer& server() const { return server_; }

 private:
  ApiServer server_;
  std::chrono::milliseconds timeout_;
};

// Largest response body accepted; a Secret or a TokenReview is a few KiB.
inline constexpr size_t kMaxApiResponseBytes = 4 * 1024 * 1024;

}  // namespace weft::kube
