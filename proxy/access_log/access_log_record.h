#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace weft::proxy {

// What one finished HTTP request or TCP connection leaves in the access log. Filled by the
// session that served it, only when a line is going to be written (sampled, and a failure when
// the log takes only failures); every text is a view into state the session still holds, so
// building a record copies nothing.
struct AccessLogRecord {
  std::chrono::system_clock::time_point start_time;
  std::chrono::steady_clock::duration duration{};
  // From the start to the upstream's response header; unset when no upstream answered.
  std::optional<std::chrono::steady_clock::duration> upstream_service_time;
  std::string_view protocol;  // "HTTP/1.1", "HTTP/1.0", "HTTP/2", "TCP"
  std::string_view method;
  std::string_view authority;
  std::string_view path;
  std::string_view user_agent;
  std::string_view request_id;
  std::string_view traceparent;     // as forwarded upstream
  std::string_view trace_id;        // the trace this request belongs to (32 hex digits)
  unsigned response_code = 0;       // 0: the client got no response
  int grpc_status = -1;             // -1: not a gRPC response
  std::string_view response_flags;  // "-", a local reply's reason, ... (the metrics label)
  uint64_t bytes_received = 0;      // body bytes from the client (TCP: all bytes)
  uint64_t bytes_sent = 0;          // body bytes to the client
  std::string_view upstream_cluster;
  std::optional<boost::asio::ip::tcp::endpoint> upstream_host;
  std::string_view route_name;
  boost::asio::ip::tcp::endpoint downstream_peer;
  std::string_view downstream_principal;  // the client's SPIFFE id over mTLS
  std::string_view upstream_principal;    // the SPIFFE id required of the upstream
  uint32_t retries = 0;
  std::string_view authz;  // an AUDIT policy that matched, or the policy that denied
  // The route's metadata, sorted by key (TEXT %ROUTE_METADATA(key)%); null: no route.
  const std::vector<std::pair<std::string, std::string>>* route_metadata = nullptr;
};

// The wall-clock time of `started`, a steady-clock time taken earlier, given both clocks' `now`:
// a request keeps one clock reading, and the log line pays for the conversion.
inline std::chrono::system_clock::time_point systemTimeOf(
    std::chrono::steady_clock::time_point started, std::chrono::steady_clock::time_point now) {
  return std::chrono::system_clock::now() -
         std::chrono::duration_cast<std::chrono::system_clock::duration>(now - started);
}

// The trace id of a W3C traceparent ("00-<32 hex trace id>-<16 hex span id>-<2 hex flags>"),
// or empty when it is not one.
inline std::string_view traceIdOf(std::string_view traceparent) {
  if (traceparent.size() < 55 || traceparent[2] != '-' || traceparent[35] != '-') {
    return {};
  }
  return traceparent.substr(3, 32);
}

}  // namespace weft::proxy
