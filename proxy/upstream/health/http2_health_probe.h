#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "proxy/upstream/health/health_probe.h"

namespace weft::proxy {

// The HTTP/2 half of probeEndpoint: on `connection`, already connected (and through TLS, with
// the mesh's HTTP/2 ALPN id), one stream of its own session: a GET of config.path, or a gRPC
// grpc.health.v1.Health/Check. Ends by `deadline`.
boost::asio::awaitable<ProbeResult> probeOverHttp2(UpstreamConnection& connection,
                                                   const HealthCheckConfig& config, bool tls,
                                                   std::chrono::steady_clock::time_point deadline);

// The gRPC message of a HealthCheckRequest naming `service`: the 5-byte length prefix and the
// protobuf encoding (field 1, a string).
std::string grpcHealthCheckRequest(std::string_view service);

// The status (field 1 of HealthCheckResponse: 1 is SERVING) in the first gRPC message of a
// response body; nothing when the body is not one well-formed, uncompressed message.
std::optional<uint64_t> grpcServingStatus(std::string_view body);

}  // namespace weft::proxy
