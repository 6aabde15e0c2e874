#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <optional>
#include <string>

#include "weft/v1/bootstrap.pb.h"

namespace weft::proxy::admin {

// The admin endpoint's address from the bootstrap: Admin.address, or 127.0.0.1:15000 when
// unset. The admin endpoint has no authentication, so the address must be a loopback IP
// literal (127.0.0.0/8 or ::1). Returns an error message naming the field, empty on success.
std::string adminAddress(const weft::v1::Bootstrap& bootstrap,
                         boost::asio::ip::tcp::endpoint& address);

// The status endpoint's address (/healthz/ready and /metrics for the kubelet and Prometheus):
// StatusServer.address, 0.0.0.0:15020 when the message is there without one, nullopt when
// the bootstrap has no status_server (no status endpoint). Returns an error message naming the
// field, empty on success.
std::string statusAddress(const weft::v1::Bootstrap& bootstrap,
                          std::optional<boost::asio::ip::tcp::endpoint>& address);

}  // namespace weft::proxy::admin
