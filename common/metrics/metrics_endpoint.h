#pragma once

#include <prometheus/collectable.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace weft::metrics {

// A process's Prometheus endpoint (the control plane's, the injector's): GET (or HEAD) /metrics
// renders every collectable in the text exposition format. It also answers the kubelet's probes:
// /healthz (200 while the loop serves it) and /ready (200 once the process is ready, 503 with the
// reason before). HTTP/1.1 with keep-alive, served by Beast on the owner's loop thread, so stopping
// it is closing sockets (prometheus-cpp's civetweb server took 2 s to stop, polling its listener on
// a thread of its own).
//
// Bounded: request heads over 8 KiB and bodies are refused, and a connection idle or slow for
// 10 s is closed.
class MetricsEndpoint {
 public:
  explicit MetricsEndpoint(boost::asio::io_context& loop);
  ~MetricsEndpoint();

  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;

  // Adds what a scrape collects; call before the loop runs, or on its thread.
  void addCollectable(std::shared_ptr<prometheus::Collectable> collectable);

  // What /ready asks: empty when ready, else why not. Unset: always ready. Called on the
  // loop's thread.
  void setReadiness(std::function<std::string()> not_ready_reason);

  // Listens on "host:port" ("0.0.0.0:15014", "[::]:15014", port 0 for any). Returns an empty
  // string, or why not.
  std::string listen(const std::string& address);

  // The port listened on; 0 before listen().
  uint16_t port() const;

  // Closes the listener and every connection.
  void stop();

  // What the listener and its connections share (internal).
  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace weft::metrics
