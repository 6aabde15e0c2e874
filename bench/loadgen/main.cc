// weft-loadgen: an open-loop (constant-rate) HTTP latency generator.
//
// Sends GET requests over N connections (HTTP/1.1 keep-alive, or h2c with S streams each) on
// a fixed schedule of R requests/s for D seconds and measures each latency from the request's
// intended send time, so a stalled response shows up in the latency of every request
// scheduled behind it (no coordinated omission, unlike closed-loop tools such as wrk). A due
// request goes to a free slot (an idle HTTP/1.1 connection, a free HTTP/2 stream), or waits in
// a FIFO until one frees up; it is never sent early and never skipped.
//
// One thread, Asio callbacks. Everything a run needs (request bytes, read buffers, the queue
// of waiting requests, the histogram) is allocated before the first request; the process
// counts heap allocations during the run and prints them, to show the timing loop does not
// allocate (in h2c mode nghttp2's allocations go through a recycling pool and its misses are
// counted too).
// Prints one JSON object.
#include <sys/prctl.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bench/loadgen/allocation_count.h"
#include "bench/loadgen/connection.h"
#include "bench/loadgen/h2c_connection.h"
#include "bench/loadgen/http1_connection.h"
#include "bench/loadgen/latency_histogram.h"
#include "bench/loadgen/open_loop_schedule.h"

namespace weft::loadgen {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

struct Options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::string path = "/";
  std::string authority;  // Host / :authority; default host:port
  bool h2c = false;
  unsigned connections = 16;
  unsigned streams = 10;  // per h2c connection
  double rate = 1000;
  double duration_seconds = 5;
  double drain_seconds = 2;  // after the last send, how long answers may still arrive
  std::string label;
};

constexpr std::string_view kUsage =
    "usage: weft-loadgen --port P [--host 127.0.0.1] [--path /] [--authority NAME]\n"
    "                    [--protocol http1|h2c] [--connections 16] [--streams 10]\n"
    "                    [--rate 1000] [--duration 5] [--drain 2] [--label NAME]\n";

bool parseCount(const char* value, long low, long high, long& out) {
  char* end = nullptr;
  out = std::strtol(value, &end, 10);
  return *end == '\0' && out >= low && out <= high;
}

bool parseOptions(int argc, char** argv, Options& options) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (i + 1 >= argc) {
      return false;
    }
    const char* value = argv[++i];
    char* end = nullptr;
    long count = 0;
    if (flag == "--host") {
      options.host = value;
    } else if (flag == "--port") {
      if (!parseCount(value, 1, 65535, count))
        return false;
      options.port = static_cast<std::uint16_t>(count);
    } else if (flag == "--path") {
      options.path = value;
    } else if (flag == "--authority") {
      options.authority = value;
    } else if (flag == "--protocol") {
      if (std::string_view(value) != "http1" && std::string_view(value) != "h2c")
        return false;
      options.h2c = std::string_view(value) == "h2c";
    } else if (flag == "--connections") {
      if (!parseCount(value, 1, 10000, count))
        return false;
      options.connections = static_cast<unsigned>(count);
    } else if (flag == "--streams") {
      if (!parseCount(value, 1, 1000, count))
        return false;
      options.streams = static_cast<unsigned>(count);
    } else if (flag == "--rate") {
      options.rate = std::strtod(value, &end);
      if (*end != '\0' || options.rate <= 0)
        return false;
    } else if (flag == "--duration") {
      options.duration_seconds = std::strtod(value, &end);
      if (*end != '\0' || options.duration_seconds <= 0)
        return false;
    } else if (flag == "--drain") {
      options.drain_seconds = std::strtod(value, &end);
      if (*end != '\0' || options.drain_seconds < 0)
        return false;
    } else if (flag == "--label") {
      options.label = value;
    } else {
      return false;
    }
  }
  return options.port != 0;
}

// The run: schedule, free slots, queue of due requests waiting for a slot, results.
class Run final : public RunCallbacks {
 public:
  Run(const Options& options, const OpenLoopSchedule& schedule)
      : options_(options), schedule_(schedule), timer_(context_), waiting_(schedule.total() + 1) {
    const std::string authority = options.authority.empty()
                                      ? options.host + ":" + std::to_string(options.port)
                                      : options.authority;
    request_ = "GET " + options.path + " HTTP/1.1\r\nHost: " + authority +
               "\r\nUser-Agent: weft-loadgen\r\n\r\n";
    authority_ = authority;
  }

  int execute() {
    boost::system::error_code error;
    const auto address = asio::ip::make_address(options_.host, error);
    if (error) {
      std::fprintf(stderr, "weft-loadgen: bad --host '%s'\n", options_.host.c_str());
      return 2;
    }
    const tcp::endpoint endpoint(address, options_.port);
    for (unsigned i = 0; i < options_.connections; ++i) {
      bool connected = false;
      if (options_.h2c) {
        auto connection = std::make_unique<H2cConnection>(context_, *this, authority_,
                                                          options_.path, options_.streams);
        connected = connection->connect(endpoint);
        connections_.push_back(std::move(connection));
      } else {
        auto connection = std::make_unique<Http1Connection>(context_, *this, request_);
        connected = connection->connect(endpoint);
        connections_.push_back(std::move(connection));
      }
      if (!connected) {
        std::fprintf(stderr, "weft-loadgen: cannot connect to %s:%u\n", options_.host.c_str(),
                     options_.port);
        return 1;
      }
    }
    // Free slots, interleaved across connections so that load spreads over all of them.
    const unsigned slots = connections_.front()->slots();
    free_slots_.reserve(static_cast<std::size_t>(slots) * connections_.size());
    for (unsigned slot = 0; slot < slots; ++slot) {
      for (auto it = connections_.rbegin(); it != connections_.rend(); ++it) {
        free_slots_.push_back(it->get());
      }
    }
    context_.poll();  // settings exchange, before the clock starts
    start_ = Clock::now();
    const std::uint64_t allocations_before = allocationCount();
    armTimer();
    context_.run();
    const std::uint64_t allocations = allocationCount() - allocations_before;
    report(allocations, std::chrono::duration<double>(finished_ - start_).count());
    return 0;
  }

  void onResponse(Connection& connection, Clock::time_point intended, int status) override {
    const auto now = Clock::now();
    --outstanding_;
    if (status >= 200 && status < 400) {
      histogram_.record(static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::microseconds>(now - intended).count()));
    } else {
      ++errors_;
    }
    if (connection.open()) {
      slotFreed(connection);
    }
    finishIfDone();
  }

  void onConnectionLost() override {
    ++connection_errors_;
    finishIfDone();
  }

 private:
  void armTimer() {
    if (issued_ == schedule_.total()) {
      // Everything sent: give the last answers drain_seconds, then stop.
      timer_.expires_at(start_ + schedule_.offsetOf(schedule_.total()) +
                        std::chrono::duration_cast<Clock::duration>(
                            std::chrono::duration<double>(options_.drain_seconds)));
      timer_.async_wait([this](const boost::system::error_code& error) {
        if (!error) {
          finish();
        }
      });
      return;
    }
    timer_.expires_at(start_ + schedule_.offsetOf(issued_));
    timer_.async_wait([this](const boost::system::error_code& error) {
      if (!error) {
        onTick();
      }
    });
  }

  void onTick() {
    const std::uint64_t due = schedule_.dueBy(Clock::now() - start_);
    for (; issued_ < due; ++issued_) {
      const Clock::time_point intended = start_ + schedule_.offsetOf(issued_);
      ++outstanding_;
      if (!free_slots_.empty()) {
        Connection* connection = free_slots_.back();
        free_slots_.pop_back();
        connection->send(intended);
      } else {
        waiting_[waiting_tail_++] = intended;
      }
    }
    armTimer();
  }

  // A slot of `connection` became free: it takes the oldest waiting request, or waits.
  void slotFreed(Connection& connection) {
    if (waiting_head_ < waiting_tail_) {
      connection.send(waiting_[waiting_head_++]);
    } else {
      free_slots_.push_back(&connection);
    }
  }

  void finishIfDone() {
    if (issued_ == schedule_.total() && outstanding_ == 0) {
      finish();
    }
  }

  void finish() {
    if (finished_ == Clock::time_point{}) {
      finished_ = Clock::now();
    }
    context_.stop();
  }

  void report(std::uint64_t allocations, double elapsed) const {
    const auto p = [this](double q) {
      return static_cast<unsigned long long>(histogram_.valueAtQuantile(q));
    };
    // Requests still unanswered when the drain time ran out count as errors.
    const auto unanswered = static_cast<unsigned long long>(outstanding_);
    std::printf(
        "{\"label\": \"%s\", \"protocol\": \"%s\", \"rate\": %.1f, \"duration_s\": %.3f, "
        "\"connections\": %u, \"streams\": %u, \"scheduled\": %llu, \"count\": %llu, "
        "\"errors\": %llu, \"connection_errors\": %llu, \"unanswered\": %llu, "
        "\"achieved_rate\": %.1f, \"latency_us\": {\"p50\": %llu, \"p90\": %llu, \"p99\": %llu, "
        "\"p99_9\": %llu, \"max\": %llu, \"mean\": %.1f}, \"allocations_during_run\": %llu}\n",
        options_.label.c_str(), options_.h2c ? "h2c" : "http1", options_.rate,
        options_.duration_seconds, options_.connections, options_.h2c ? options_.streams : 1,
        static_cast<unsigned long long>(schedule_.total()),
        static_cast<unsigned long long>(histogram_.count()),
        static_cast<unsigned long long>(errors_) + unanswered,
        static_cast<unsigned long long>(connection_errors_), unanswered,
        elapsed > 0 ? static_cast<double>(histogram_.count()) / elapsed : 0.0, p(0.5), p(0.9),
        p(0.99), p(0.999), static_cast<unsigned long long>(histogram_.max()), histogram_.mean(),
        static_cast<unsigned long long>(allocations));
  }

  const Options& options_;
  const OpenLoopSchedule& schedule_;
  asio::io_context context_{1};
  asio::steady_timer timer_;
  std::string request_;
  std::string authority_;
  std::vector<std::unique_ptr<Connection>> connections_;
  std::vector<Connection*> free_slots_;  // one entry per free request slot
  // Intended send times of due requests no slot was free for: a FIFO sized for the whole run,
  // so it never grows.
  std::vector<Clock::time_point> waiting_;
  std::size_t waiting_head_ = 0;
  std::size_t waiting_tail_ = 0;
  LatencyHistogram histogram_;
  Clock::time_point start_{};
  Clock::time_point finished_{};
  std::uint64_t issued_ = 0;
  std::uint64_t outstanding_ = 0;
  std::uint64_t errors_ = 0;
  std::uint64_t connection_errors_ = 0;
};

}  // namespace
}  // namespace weft::loadgen

int main(int argc, char** argv) {
  weft::loadgen::Options options;
  if (!weft::loadgen::parseOptions(argc, argv, options)) {
    std::fputs(weft::loadgen::kUsage.data(), stderr);
    return 2;
  }
  // The default 50 us timer slack would delay every scheduled send; latency counts from the
  // intended time, so slack would show up as latency of every target alike.
  ::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
  const weft::loadgen::OpenLoopSchedule schedule(
      options.rate, std::chrono::duration_cast<std::chrono::nanoseconds>(
                        std::chrono::duration<double>(options.duration_seconds)));
  weft::loadgen::Run run(options, schedule);
  return run.execute();
}
