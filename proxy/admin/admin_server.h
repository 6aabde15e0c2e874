#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "proxy/admin/admin_callbacks.h"

namespace weft::proxy::admin {

struct AdminOptions {
  AdminRole role = AdminRole::kAdmin;
  // Where to listen. Port 0 asks the kernel for a free port (tests); see port().
  boost::asio::ip::tcp::endpoint address{boost::asio::ip::make_address_v4("127.0.0.1"), 15000};
  // Open connections; one more is answered 503 and closed.
  size_t max_connections = 64;
  // Request line and headers.
  uint32_t max_request_header_bytes = 8 * 1024;
  // The admin endpoints take no body; a small one is read and ignored.
  uint64_t max_request_body_bytes = 16 * 1024;
  // From the first byte of a request to its last.
  std::chrono::milliseconds request_timeout{10'000};
  // A keep-alive connection waiting for its next request is closed after this.
  std::chrono::milliseconds idle_timeout{60'000};
  // How long /clusters waits for AdminCallbacks::clusters to answer.
  std::chrono::milliseconds provider_timeout{5'000};
};

// The proxy's local admin endpoint: plain HTTP/1.1 (Boost.Beast) on the main thread's
// io_context, one coroutine per connection, keep-alive. It has no authentication, so it binds
// loopback (adminAddress() enforces that for the bootstrap's address) and refuses DNS Host
// names and cross-origin POSTs (see admin_endpoints.h). Endpoints and the callbacks they use
// are described in admin_callbacks.h; GET / lists them.
//
// Threading: construct, listen(), stop() and destroy on the io_context's thread, or while it
// is not running. The io_context must outlive the server.
class AdminServer {
 public:
  AdminServer(boost::asio::io_context& io_context, AdminOptions options, AdminCallbacks callbacks);
  // Stops the server (see stop()).
  ~AdminServer();

  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Binds the address and starts accepting. Returns an error message, empty on success.
  std::string listen();

  // The bound port (the chosen one when the address asked for port 0); 0 before listen().
  uint16_t port() const;

  // Stops accepting and ends every connection and pending wait, so that the io_context runs
  // out of admin work promptly. Idempotent. A /quitquitquit callback may call it.
  void stop();

 private:
  struct Impl;
  // Shared with the server's coroutines, so a connection that is still unwinding when the
  // server object goes away finds its state alive.
  std::shared_ptr<Impl> impl_;
};

}  // namespace weft::proxy::admin
