// weft-loadgen: an open-loop (constant-rate) HTTP/1.1 latency generator.
//
// Sends GET requests over N keep-alive connections on a fixed schedule of R requests/s for D
// seconds and measures each latency from the request's intended send time, so a stalled
// response shows up in the latency of every request scheduled behind it (no coordinated
// omission, unlike closed-loop tools such as wrk). A due request goes to an idle connection,
// or waits in a FIFO until one frees up; it is never sent early and never skipped.
//
// One thread, Asio callbacks. Everything a run needs (request bytes, read buffers, the queue
// of waiting requests, the histogram) is allocated before the first request; the process
// counts operator new calls during the run and prints them, to show the timing loop does not
// allocate. Prints one JSON object.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/prctl.h>

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "bench/loadgen/latency_histogram.h"
#include "bench/loadgen/open_loop_schedule.h"
#include "bench/loadgen/response_framer.h"

namespace {

std::atomic<std::uint64_t> g_allocations{0};

}  // namespace

// Counting replacements of the global allocation functions.
void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) {
    return p;
  }
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
  return operator new(size);
}
void* operator new(std::size_t size, std::align_val_t align) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  const auto alignment = static_cast<std::size_t>(align);
  if (void* p = std::aligned_alloc(alignment, (size + alignment - 1) / alignment * alignment)) {
    return p;
  }
  throw std::bad_alloc();
}
void* operator new[](std::size_t size, std::align_val_t align) {
  return operator new(size, align);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}

namespace weft::loadgen {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::string path = "/";
  std::string authority;  // Host header; default host:port
  unsigned connections = 16;
  double rate = 1000;
  double duration_seconds = 5;
  double drain_seconds = 2;  // after the last send, how long answers may still arrive
  std::string label;
};

constexpr std::string_view kUsage =
    "usage: weft-loadgen --port P [--host 127.0.0.1] [--path /] [--authority NAME]\n"
    "                    [--rate 1000] [--duration 5] [--connections 16] [--drain 2]\n"
    "                    [--label NAME]\n";

bool parseOptions(int argc, char** argv, Options& options) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (i + 1 >= argc) {
      return false;
    }
    const char* value = argv[++i];
    char* end = nullptr;
    if (flag == "--host") {
      options.host = value;
    } else if (flag == "--port") {
      const long port = std::strtol(value, &end, 10);
      if (*end != '\0' || port <= 0 || port > 65535)
        return false;
      options.port = static_cast<std::uint16_t>(port);
    } else if (flag == "--path") {
      options.path = value;
    } else if (flag == "--authority") {
      options.authority = value;
    } else if (flag == "--connections") {
      const long n = std::strtol(value, &end, 10);
      if (*end != '\0' || n <= 0 || n > 10000)
        return false;
      options.connections = static_cast<unsigned>(n);
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

class Run;

// One keep-alive connection: sends one request at a time and frames the responses.
class Connection {
 public:
  Connection(asio::io_context& context, Run& run) : socket_(context), run_(run) {}

  bool connect(const tcp::endpoint& endpoint);
  bool busy() const { return busy_; }
  bool open() const { return open_; }
  void send(Clock::time_point intended);
  void startReading();

 private:
  void onRead(const boost::system::error_code& error, std::size_t bytes);
  void fail();

  tcp::socket socket_;
  Run& run_;
  std::array<char, 64 * 1024> buffer_{};
  std::size_t begin_ = 0;  // unconsumed bytes are buffer_[begin_, end_)
  std::size_t end_ = 0;
  ResponseFramer framer_;
  Clock::time_point intended_{};
  bool busy_ = false;
  bool open_ = false;
};

// The run: schedule, queue of due requests waiting for a connection, results.
class Run {
 public:
  Run(const Options& options, const OpenLoopSchedule& schedule)
      : options_(options), schedule_(schedule), timer_(context_), waiting_(schedule.total() + 1) {
    const std::string authority = options.authority.empty()
                                      ? options.host + ":" + std::to_string(options.port)
                                      : options.authority;
    request_ = "GET " + options.path + " HTTP/1.1\r\nHost: " + authority +
               "\r\nUser-Agent: weft-loadgen\r\n\r\n";
    idle_.reserve(options.connections);
    for (unsigned i = 0; i < options.connections; ++i) {
      connections_.push_back(std::make_unique<Connection>(context_, *this));
    }
  }

  int execute() {
    boost::system::error_code error;
    const auto address = asio::ip::make_address(options_.host, error);
    if (error) {
      std::fprintf(stderr, "weft-loadgen: bad --host '%s'\n", options_.host.c_str());
      return 2;
    }
    const tcp::endpoint endpoint(address, options_.port);
    for (auto& connection : connections_) {
      if (!connection->connect(endpoint)) {
        std::fprintf(stderr, "weft-loadgen: cannot connect to %s:%u\n", options_.host.c_str(),
                     options_.port);
        return 1;
      }
      connection->startReading();
      idle_.push_back(connection.get());
    }
    start_ = Clock::now();
    const std::uint64_t allocations_before = g_allocations.load(std::memory_order_relaxed);
    armTimer();
    context_.run();
    const std::uint64_t allocations =
        g_allocations.load(std::memory_order_relaxed) - allocations_before;
    const double elapsed = std::chrono::duration<double>(finished_ - start_).count();
    report(allocations, elapsed);
    return 0;
  }

  std::string_view request() const { return request_; }

  // A connection finished a response (or failed, when status is 0).
  void onResponse(Connection& connection, Clock::time_point intended, int status) {
    const auto now = Clock::now();
    --outstanding_;
    if (status >= 200 && status < 400) {
      histogram_.record(static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::microseconds>(now - intended).count()));
    } else {
      ++errors_;
    }
    if (connection.open() && !connection.busy()) {
      dispatchTo(connection);
    }
    finishIfDone();
  }

  void onConnectionLost() {
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
      if (!idle_.empty()) {
        Connection* connection = idle_.back();
        idle_.pop_back();
        connection->send(intended);
      } else {
        waiting_[waiting_tail_++] = intended;
      }
    }
    armTimer();
  }

  // A connection became free: it takes the oldest waiting request, or goes idle.
  void dispatchTo(Connection& connection) {
    if (waiting_head_ < waiting_tail_) {
      connection.send(waiting_[waiting_head_++]);
    } else {
      idle_.push_back(&connection);
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
    const unsigned long long unanswered = outstanding_;
    std::printf(
        "{\"label\": \"%s\", \"rate\": %.1f, \"duration_s\": %.3f, \"connections\": %u, "
        "\"scheduled\": %llu, \"count\": %llu, \"errors\": %llu, \"connection_errors\": %llu, "
        "\"unanswered\": %llu, \"achieved_rate\": %.1f, "
        "\"latency_us\": {\"p50\": %llu, \"p90\": %llu, \"p99\": %llu, \"p99_9\": %llu, "
        "\"max\": %llu, \"mean\": %.1f}, \"allocations_during_run\": %llu}\n",
        options_.label.c_str(), options_.rate, options_.duration_seconds, options_.connections,
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
  std::vector<std::unique_ptr<Connection>> connections_;
  std::vector<Connection*> idle_;
  // Intended send times of due requests no connection was free for: a FIFO sized for the
  // whole run, so it never grows.
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

bool Connection::connect(const tcp::endpoint& endpoint) {
  boost::system::error_code error;
  socket_.connect(endpoint, error);
  if (error) {
    return false;
  }
  socket_.set_option(tcp::no_delay(true), error);
  open_ = true;
  return true;
}

void Connection::send(Clock::time_point intended) {
  intended_ = intended;
  busy_ = true;
  if (!open_) {
    fail();
    return;
  }
  const std::string_view request = run_.request();
  // Requests are small: one non-blocking write normally takes the whole request.
  boost::system::error_code error;
  const std::size_t written =
      asio::write(socket_, asio::buffer(request.data(), request.size()), error);
  if (error || written != request.size()) {
    fail();
  }
}

void Connection::startReading() {
  if (end_ == buffer_.size()) {
    if (begin_ == 0) {
      fail();  // a header block larger than the buffer
      return;
    }
    std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  socket_.async_read_some(
      asio::buffer(buffer_.data() + end_, buffer_.size() - end_),
      [this](const boost::system::error_code& error, std::size_t bytes) { onRead(error, bytes); });
}

void Connection::onRead(const boost::system::error_code& error, std::size_t bytes) {
  if (error) {
    fail();
    return;
  }
  end_ += bytes;
  while (begin_ < end_) {
    std::size_t consumed = 0;
    const auto result =
        framer_.feed(std::string_view(buffer_.data() + begin_, end_ - begin_), consumed);
    begin_ += consumed;
    if (result == ResponseFramer::Result::kNeedMore) {
      break;
    }
    if (result == ResponseFramer::Result::kError || !busy_) {
      fail();  // garbage, or a response nobody asked for
      return;
    }
    busy_ = false;
    const bool close = framer_.closeAfter();
    run_.onResponse(*this, intended_, framer_.status());
    if (close) {
      fail();
      return;
    }
  }
  if (begin_ == end_) {
    begin_ = end_ = 0;
  }
  startReading();
}

// The connection is unusable: the request on it (if any) fails and the connection stays
// closed; later requests go to the remaining connections (a reconnect would allocate and
// distort the run, and a benchmark target that drops connections has failed anyway).
void Connection::fail() {
  if (open_) {
    boost::system::error_code ignored;
    socket_.close(ignored);
    open_ = false;
    run_.onConnectionLost();
  }
  if (busy_) {
    busy_ = false;
    run_.onResponse(*this, intended_, 0);
  }
}

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
