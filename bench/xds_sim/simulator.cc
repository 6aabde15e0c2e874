#include "bench/xds_sim/simulator.h"

#include <sys/resource.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

namespace weft::xds_sim {

namespace {

int64_t nanoseconds(Clock::time_point at) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(at.time_since_epoch()).count();
}

double secondsOf(const timeval& value) {
  return static_cast<double>(value.tv_sec) + static_cast<double>(value.tv_usec) / 1e6;
}

bool holdsEndpoint(const weft::v1::ClusterLoadAssignment& assignment, const std::string& address,
                   uint32_t port) {
  for (const weft::v1::LocalityLbEndpoints& group : assignment.endpoints()) {
    for (const weft::v1::LbEndpoint& endpoint : group.lb_endpoints()) {
      const weft::v1::SocketAddress& socket = endpoint.endpoint().address();
      if (socket.port() == port && socket.address() == address) {
        return true;
      }
    }
  }
  return false;
}

// Seconds as a steady_clock duration, capped so a huge timeout cannot overflow the clock.
Clock::duration timeoutOf(double seconds) {
  return std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(std::min(seconds, 1e7)));
}

}  // namespace

Simulator::Simulator(boost::asio::io_context& loop, SimulatorOptions options, Output output,
                     std::function<void()> on_quit)
    : loop_(loop),
      options_(std::move(options)),
      output_(std::move(output)),
      on_quit_(std::move(on_quit)),
      wait_timer_(loop) {}

Simulator::~Simulator() {
  shutdown();
}

void Simulator::start() {
  const size_t per_channel = std::max<size_t>(1, options_.streams_per_channel);
  const size_t channel_count = (options_.nodes.size() + per_channel - 1) / per_channel;
  for (size_t i = 0; i < channel_count; ++i) {
    grpc::ChannelArguments arguments;
    // Channels with equal arguments would share one connection through gRPC's global
    // subchannel pool; a local pool gives each channel its own.
    arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    // The same as weft-proxy: gRPC's own reconnect backoff stays short so the proxies' backoff
    // decides when streams come back.
    arguments.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    arguments.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
    arguments.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    // A scope can be large (mesh-wide visibility); the simulator must not be what fails.
    arguments.SetMaxReceiveMessageSize(-1);
    channels_.push_back(
        grpc::CreateCustomChannel(options_.server, grpc::InsecureChannelCredentials(), arguments));
    stubs_.push_back(weft::v1::AggregatedDiscoveryService::NewStub(channels_.back()));
  }
  started_ = Clock::now();
  proxies_.reserve(options_.nodes.size());
  for (size_t i = 0; i < options_.nodes.size(); ++i) {
    StreamContext context{loop_, *stubs_[i / per_channel], calls_};
    proxies_.push_back(std::make_unique<SimulatedProxy>(
        i, options_.mode, context, options_.nodes[i], options_.backoff, *this));
  }
  for (const auto& proxy : proxies_) {
    proxy->start();
  }
}

void Simulator::command(std::string_view line) {
  if (quit_) {
    return;
  }
  std::string error;
  std::optional<ControlCommand> parsed = parseControlCommand(line, error);
  if (!parsed) {
    if (error.empty()) {
      return;  // blank or a comment
    }
    // Answered in its turn, so answers stay in the order of the commands.
    parsed.emplace();
    parsed->kind = ControlCommand::Kind::kInvalid;
    parsed->error = std::move(error);
  }
  queue_.push_back(std::move(*parsed));
  pump();
}

void Simulator::pump() {
  while (!waiting_ && !queue_.empty() && !quit_) {
    ControlCommand next = std::move(queue_.front());
    queue_.pop_front();
    execute(next);
  }
}

void Simulator::execute(const ControlCommand& command) {
  using Kind = ControlCommand::Kind;
  switch (command.kind) {
    case Kind::kWaitSynced:
    case Kind::kWaitChange: {
      if (command.kind == Kind::kWaitChange && watches_.count(command.id) == 0) {
        emit({{"event", "error"}, {"message", "wait-change: no watch '" + command.id + "'"}});
        return;
      }
      waiting_ = command;
      waiting_since_ = Clock::now();
      const uint64_t generation = ++wait_generation_;
      wait_timer_.expires_after(timeoutOf(command.timeout_seconds));
      wait_timer_.async_wait([this, generation](const boost::system::error_code& error) {
        if (!error && generation == wait_generation_) {
          finishWaitIf(true);
        }
      });
      finishWaitIf(false);
      return;
    }
    case Kind::kWatch: {
      Watch watch;
      watch.cluster = command.cluster;
      watch.address = command.address;
      watch.port = command.port;
      watch.created = Clock::now();
      watch.expected.assign(proxies_.size(), false);
      watch.observed.assign(proxies_.size(), false);
      for (const auto& proxy : proxies_) {
        if (proxy->client().subscribesEndpoints(command.cluster)) {
          watch.expected[proxy->index()] = true;
          ++watch.expected_count;
        }
      }
      emit({{"event", "watching"},
            {"id", command.id},
            {"cluster", command.cluster},
            {"expected", watch.expected_count},
            {"created_ns", nanoseconds(watch.created)}});
      watches_[command.id] = std::move(watch);
      return;
    }
    case Kind::kStatus:
      emit(status("status"));
      return;
    case Kind::kProxy:
      if (command.proxy >= proxies_.size()) {
        emit({{"event", "error"},
              {"message",
               "proxy: index out of range (" + std::to_string(proxies_.size()) + " proxies)"}});
        return;
      }
      emit({{"event", "proxy"}, {"proxy", proxies_[command.proxy]->describe()}});
      return;
    case Kind::kInvalid:
      emit({{"event", "error"}, {"message", command.error}});
      return;
    case Kind::kQuit:
      emit(status("summary"));
      quit_ = true;
      shutdown();
      if (on_quit_) {
        on_quit_();
      }
      return;
  }
}

bool Simulator::waitSatisfied() const {
  if (!waiting_) {
    return false;
  }
  if (waiting_->kind == ControlCommand::Kind::kWaitSynced) {
    return synced_ == proxies_.size();
  }
  auto found = watches_.find(waiting_->id);
  return found != watches_.end() && found->second.observed_count == found->second.expected_count;
}

void Simulator::finishWaitIf(bool timed_out) {
  if (!waiting_) {
    return;
  }
  const bool ok = waitSatisfied();
  if (!ok && !timed_out) {
    return;
  }
  const ControlCommand command = std::move(*waiting_);
  waiting_.reset();
  ++wait_generation_;
  wait_timer_.cancel();
  if (command.kind == ControlCommand::Kind::kWaitSynced) {
    emit(syncedAnswer(ok, waiting_since_));
  } else {
    auto found = watches_.find(command.id);
    emit(changeAnswer(command.id, found->second, ok));
    watches_.erase(found);
  }
  // Not from inside a proxy's event: the next commands may start waits of their own.
  boost::asio::post(loop_, [this] { pump(); });
}

void Simulator::proxySynced(SimulatedProxy&) {
  ++synced_;
  if (waiting_ && waiting_->kind == ControlCommand::Kind::kWaitSynced) {
    finishWaitIf(false);
  }
}

void Simulator::proxyUnsynced(SimulatedProxy&) {
  --synced_;
}

void Simulator::endpointsReceived(SimulatedProxy& proxy, const EndpointsUpdate& update) {
  const size_t index = proxy.index();
  bool completed = false;
  for (auto& [id, watch] : watches_) {
    if (!watch.expected[index] || watch.observed[index]) {
      continue;
    }
    const bool holds = std::any_of(update.assignments.begin(), update.assignments.end(),
                                   [&](const auto& assignment) {
                                     return assignment.cluster_name() == watch.cluster &&
                                            holdsEndpoint(assignment, watch.address, watch.port);
                                   });
    if (!holds) {
      continue;
    }
    watch.observed[index] = true;
    ++watch.observed_count;
    if (watch.first_received == Clock::time_point{} || update.received < watch.first_received) {
      watch.first_received = update.received;
    }
    watch.last_received = std::max(watch.last_received, update.received);
    watch.last_acked = std::max(watch.last_acked, update.acked);
    completed |= watch.observed_count == watch.expected_count;
  }
  if (completed && waiting_ && waiting_->kind == ControlCommand::Kind::kWaitChange) {
    finishWaitIf(false);
  }
}

void Simulator::shutdown() {
  for (const auto& proxy : proxies_) {
    proxy->stop();
  }
  // gRPC finishes cancelled calls on its own threads; the channels must outlive them.
  calls_.waitIdle(std::chrono::seconds(10));
}

void Simulator::emit(boost::json::object object) {
  if (output_) {
    output_(boost::json::serialize(object));
  }
}

boost::json::object Simulator::status(std::string_view event) const {
  DiscoveryCounters total;
  uint64_t reconnects = 0;
  size_t connected = 0;
  for (const auto& proxy : proxies_) {
    const DiscoveryCounters& counters = proxy->client().counters();
    total.streams += counters.streams;
    total.responses += counters.responses;
    total.acks += counters.acks;
    total.nacks += counters.nacks;
    total.subscription_changes += counters.subscription_changes;
    reconnects += proxy->reconnects();
    if (proxy->client().streamOpen() && proxy->client().established() != Clock::time_point{}) {
      ++connected;
    }
  }
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return {{"event", event},
          {"mode", modeName(options_.mode)},
          {"proxies", proxies_.size()},
          {"channels", channels_.size()},
          {"connected", connected},
          {"synced", synced_},
          {"streams", total.streams},
          {"responses", total.responses},
          {"acks", total.acks},
          {"nacks", total.nacks},
          {"subscription_changes", total.subscription_changes},
          {"reconnects", reconnects},
          {"cpu_seconds", secondsOf(usage.ru_utime) + secondsOf(usage.ru_stime)},
          {"max_rss_kib", usage.ru_maxrss},
          {"started_ns", nanoseconds(started_)},
          {"now_ns", nanoseconds(Clock::now())}};
}

boost::json::object Simulator::syncedAnswer(bool ok, Clock::time_point since) const {
  Clock::time_point first_established = Clock::time_point::max();
  Clock::time_point last_established{};
  Clock::time_point first_synced = Clock::time_point::max();
  Clock::time_point last_synced{};
  size_t connected = 0;
  boost::json::array missing;
  for (const auto& proxy : proxies_) {
    const Clock::time_point established = proxy->client().established();
    if (proxy->client().streamOpen() && established != Clock::time_point{}) {
      ++connected;
      first_established = std::min(first_established, established);
      last_established = std::max(last_established, established);
    }
    if (proxy->syncedAt() != Clock::time_point{}) {
      first_synced = std::min(first_synced, proxy->syncedAt());
      last_synced = std::max(last_synced, proxy->syncedAt());
    } else if (missing.size() < 10) {
      missing.emplace_back(proxy->index());
    }
  }
  auto orZero = [](Clock::time_point at) {
    return at == Clock::time_point::max() ? int64_t{0} : nanoseconds(at);
  };
  return {{"event", "synced"},
          {"ok", ok},
          {"proxies", proxies_.size()},
          {"synced", synced_},
          {"connected", connected},
          {"started_ns", nanoseconds(started_)},
          {"first_established_ns", orZero(first_established)},
          {"last_established_ns", nanoseconds(last_established)},
          {"first_synced_ns", orZero(first_synced)},
          {"last_synced_ns", nanoseconds(last_synced)},
          {"waited_seconds", std::chrono::duration<double>(Clock::now() - since).count()},
          {"not_synced", std::move(missing)}};
}

boost::json::object Simulator::changeAnswer(const std::string& id, const Watch& watch,
                                            bool ok) const {
  boost::json::array missing;
  for (size_t i = 0; i < watch.expected.size() && missing.size() < 10; ++i) {
    if (watch.expected[i] && !watch.observed[i]) {
      missing.emplace_back(i);
    }
  }
  return {{"event", "change"},
          {"id", id},
          {"ok", ok},
          {"cluster", watch.cluster},
          {"expected", watch.expected_count},
          {"observed", watch.observed_count},
          {"created_ns", nanoseconds(watch.created)},
          {"first_received_ns", nanoseconds(watch.first_received)},
          {"last_received_ns", nanoseconds(watch.last_received)},
          {"last_acked_ns", nanoseconds(watch.last_acked)},
          {"not_observed", std::move(missing)}};
}

}  // namespace weft::xds_sim
