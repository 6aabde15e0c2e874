#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bench/xds_sim/call_registry.h"
#include "bench/xds_sim/control_commands.h"
#include "bench/xds_sim/simulated_proxy.h"
#include "common/backoff/exponential_backoff.h"
#include "weft/v1/discovery.grpc.pb.h"

namespace weft::xds_sim {

struct SimulatorOptions {
  // host:port of the control plane's xDS server.
  std::string server;
  Mode mode = Mode::kStateOfTheWorld;
  // Streams share channels, this many per channel; each channel is its own TCP connection.
  // Real proxies have one connection each; sharing keeps the simulator's file descriptors and
  // gRPC threads bounded while the control plane still sees many connections.
  size_t streams_per_channel = 100;
  BackoffOptions backoff;
  // One simulated proxy per node.
  std::vector<weft::v1::Node> nodes;
};

// Runs the simulated proxies and answers the control protocol (control_commands.h) with JSON
// lines. Everything happens on the loop thread: gRPC's threads only post to it.
//
// Times in the answers are CLOCK_MONOTONIC nanoseconds (fields ending in _ns), the clock of
// Python's time.monotonic_ns(), so a driver can subtract its own timestamps from them.
class Simulator final : public ProxyObserver {
 public:
  using Output = std::function<void(const std::string& line)>;

  // `output` gets each answer; `on_quit` is called once after the quit command was answered
  // and every stream ended.
  Simulator(boost::asio::io_context& loop, SimulatorOptions options, Output output,
            std::function<void()> on_quit);
  ~Simulator() override;

  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  // Opens every proxy's stream at once (as after a control plane restart: no ramp).
  void start();
  // One line of the control protocol.
  void command(std::string_view line);

  void proxySynced(SimulatedProxy& proxy) override;
  void proxyUnsynced(SimulatedProxy& proxy) override;
  void endpointsReceived(SimulatedProxy& proxy, const EndpointsUpdate& update) override;

 private:
  // Who of the proxies expected to see an endpoint change did.
  struct Watch {
    std::string cluster;
    std::string address;
    uint32_t port = 0;
    Clock::time_point created;
    std::vector<bool> expected;  // by proxy index
    std::vector<bool> observed;
    size_t expected_count = 0;
    size_t observed_count = 0;
    Clock::time_point first_received{};
    Clock::time_point last_received{};
    Clock::time_point last_acked{};
  };

  void pump();
  void execute(const ControlCommand& command);
  // Answers the waiting command if its condition holds (or it timed out).
  void finishWaitIf(bool timed_out);
  bool waitSatisfied() const;
  void shutdown();
  void emit(boost::json::object object);
  boost::json::object status(std::string_view event) const;
  boost::json::object syncedAnswer(bool ok, Clock::time_point since) const;
  boost::json::object changeAnswer(const std::string& id, const Watch& watch, bool ok) const;

  boost::asio::io_context& loop_;
  SimulatorOptions options_;
  Output output_;
  std::function<void()> on_quit_;
  CallRegistry calls_;
  std::vector<std::shared_ptr<grpc::Channel>> channels_;
  std::vector<std::unique_ptr<weft::v1::AggregatedDiscoveryService::Stub>> stubs_;
  std::vector<std::unique_ptr<SimulatedProxy>> proxies_;
  size_t synced_ = 0;
  Clock::time_point started_{};
  std::map<std::string, Watch> watches_;

  std::deque<ControlCommand> queue_;
  std::optional<ControlCommand> waiting_;
  Clock::time_point waiting_since_{};
  boost::asio::steady_timer wait_timer_;
  uint64_t wait_generation_ = 0;
  bool quit_ = false;
};

}  // namespace weft::xds_sim
