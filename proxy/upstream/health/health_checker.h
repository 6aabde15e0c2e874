#pragma once

#include <boost/asio/io_context.hpp>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <utility>

#include "proxy/snapshot/snapshot.h"
#include "proxy/tls/tls_session_cache.h"

namespace weft::proxy {

// Active health checking for the whole proxy, on the main thread: one probe loop per endpoint
// of every cluster with a health_check, however many workers there are (probing per worker
// would multiply the load on every endpoint by the worker count). Verdicts go to the workers
// through the snapshot's ActiveHealthVerdicts.
//
// Endpoints are known by cluster name, address and the port probed (health_check_port, else
// the address's), so a config update that keeps an endpoint keeps its probe loop, its counts
// and its verdict: an update never sends traffic to an endpoint known to be down, nor holds
// back a healthy one until it is probed again. An address listed twice with different check
// ports gets a loop and a verdict per port.
class HealthChecker {
 public:
  explicit HealthChecker(boost::asio::io_context& context);
  ~HealthChecker();
  HealthChecker(const HealthChecker&) = delete;
  HealthChecker& operator=(const HealthChecker&) = delete;

  // Checks the endpoints of `snapshot` from now on: call before the workers get it, on the
  // main thread. Known endpoints write their verdict into it at once; new ones are probed at
  // once; endpoints no longer named stop being probed.
  void adopt(const SnapshotPtr& snapshot);

  // Ends every probe loop, including probes in flight, for good (shutdown): later snapshots
  // are not checked.
  void stop();

  size_t endpointCount() const { return probers_.size(); }

 private:
  struct Prober;
  using Key = std::tuple<std::string, std::string, uint16_t>;  // cluster, "ip:port", port probed

  boost::asio::awaitable<void> run(std::shared_ptr<Prober> prober);
  std::chrono::milliseconds nextInterval(const HealthCheckConfig& config);
  static void publish(const Prober& prober);
  static void retire(Prober& prober);

  boost::asio::io_context& context_;
  std::map<Key, std::shared_ptr<Prober>> probers_;
  TlsSessionCache tls_sessions_;
  std::mt19937_64 random_;
  bool stopped_ = false;
};

}  // namespace weft::proxy
