#include "proxy/wait/wait_command.h"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <iostream>
#include <optional>
#include <string>
#include <thread>

#include "common/app/command_line.h"
#include "common/config/duration_text.h"
#include "proxy/wait/http_url.h"

namespace weft::proxy::wait {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Clock = std::chrono::steady_clock;

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
// What is read of an answer: a readiness endpoint says what it is in a line.
constexpr uint32_t kMaxHeaderBytes = 16 * 1024;
constexpr uint64_t kMaxBodyBytes = 4 * 1024;

// One poll's outcome.
struct Answer {
  unsigned status = 0;  // 0: no HTTP answer
  std::string what;     // "503 INITIALIZING: waiting for ...", or why nothing came
};

// The first line of a body, bounded, for messages.
std::string firstLine(std::string_view body) {
  body = body.substr(0, body.find_first_of("\r\n"));
  return std::string(body.substr(0, 200));
}

asio::awaitable<void> poll(const HttpUrl& url, const asio::ip::tcp::resolver::results_type& peers,
                           const Clock::time_point& deadline, Answer& answer) {
  beast::tcp_stream stream(co_await asio::this_coro::executor);
  stream.expires_at(deadline);
  auto [connect_error, peer] = co_await stream.async_connect(peers, kUseTuple);
  if (connect_error) {
    answer.what =
        "connecting failed: " + (connect_error == beast::error::timeout ? std::string("timed out")
                                                                        : connect_error.message());
    co_return;
  }
  http::request<http::empty_body> request{http::verb::get, url.target, 11};
  request.set(http::field::host, url.authority);
  request.set(http::field::user_agent, "weft-proxy-wait");
  request.set(http::field::connection, "close");
  auto [write_error, written] = co_await http::async_write(stream, request, kUseTuple);
  if (write_error) {
    answer.what = "sending the request failed: " + write_error.message();
    co_return;
  }
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.header_limit(kMaxHeaderBytes);
  parser.body_limit(kMaxBodyBytes);
  auto [read_error, read] = co_await http::async_read(stream, buffer, parser, kUseTuple);
  if (read_error && !parser.is_header_done()) {
    answer.what = read_error == beast::error::timeout ? std::string("no answer in time")
                                                      : "no HTTP answer: " + read_error.message();
    co_return;
  }
  // The status decides; a body cut short (too long, or the connection closed early) only
  // shortens the message.
  answer.status = parser.get().result_int();
  const std::string line = firstLine(parser.get().body());
  answer.what = std::to_string(answer.status) + (line.empty() ? "" : " " + line);
  beast::error_code ignored;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
}

// One GET of `url`, ended by `deadline` whatever the server does.
Answer pollOnce(const HttpUrl& url, Clock::time_point deadline) {
  asio::io_context io;
  Answer answer;
  asio::ip::tcp::resolver resolver(io);
  beast::error_code error;
  // Blocking, and not bounded by `deadline`: the default URL is an address, which resolves
  // without a lookup.
  const auto peers = resolver.resolve(url.host, std::to_string(url.port), error);
  if (error) {
    answer.what = "cannot resolve " + url.host + ": " + error.message();
    return answer;
  }
  asio::co_spawn(io, poll(url, peers, deadline, answer), asio::detached);
  io.run();
  return answer;
}

std::optional<std::chrono::milliseconds> durationOption(const std::string& text,
                                                        std::string_view flag) {
  google::protobuf::Duration duration;
  if (std::string problem = config::parseDurationText(text, duration); !problem.empty()) {
    std::cerr << "weft-proxy wait: " << flag << ": " << problem << "\n";
    return std::nullopt;
  }
  const auto millis =
      std::chrono::milliseconds(duration.seconds() * 1000 + duration.nanos() / 1'000'000);
  if (millis.count() <= 0) {
    std::cerr << "weft-proxy wait: " << flag << " must be at least 1ms, not '" << text << "'\n";
    return std::nullopt;
  }
  return millis;
}

}  // namespace

int runWaitCommand(int argc, char** argv) {
  namespace po = boost::program_options;
  const ProgramInfo program{
      "weft-proxy wait",
      "waits until the proxy is ready (its status port's /healthz/ready answers 200)",
      "weft-proxy wait [--url URL] [--timeout D] [--interval D]   (e.g. a postStart hook)"};
  std::string url_text = "http://127.0.0.1:15020/healthz/ready";
  std::string timeout_text = "120s";
  std::string interval_text = "500ms";
  po::options_description description("Options");
  description.add_options()("url", po::value(&url_text)->default_value(url_text),
                            "what to poll (plain HTTP) until it answers 200")(
      "timeout", po::value(&timeout_text)->default_value(timeout_text),
      "give up after this long, exit 1 (durations: 500ms, 2m, 1h30m)")(
      "interval", po::value(&interval_text)->default_value(interval_text),
      "pause between polls; each poll may also take up to this long (at least 1s)");
  po::variables_map values;
  if (auto exit_code = parseCommandLine(argc, argv, program, description, values)) {
    return *exit_code;
  }
  std::string error;
  const std::optional<HttpUrl> url = parseHttpUrl(url_text, error);
  if (!url) {
    std::cerr << "weft-proxy wait: --url " << url_text << ": " << error << "\n";
    return 2;
  }
  const auto timeout = durationOption(timeout_text, "--timeout");
  const auto interval = timeout ? durationOption(interval_text, "--interval") : std::nullopt;
  if (!interval) {
    return 2;
  }
  const auto started = Clock::now();
  const auto deadline = started + *timeout;
  // A poll may take longer than the pause between polls (a busy proxy), but never past the
  // deadline.
  const auto poll_time = std::max<std::chrono::milliseconds>(*interval, std::chrono::seconds(1));
  std::string last;
  for (;;) {
    const Answer answer = pollOnce(*url, std::min(deadline, Clock::now() + poll_time));
    const auto waited =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
    if (answer.status == 200) {
      std::cout << "weft-proxy wait: " << url_text << " answered 200 after " << waited.count()
                << " ms\n";
      return 0;
    }
    // Said once per change, so a postStart hook's output shows the way to ready, not every poll.
    if (answer.what != last) {
      std::cerr << "weft-proxy wait: " << url_text << ": " << answer.what << "\n";
      last = answer.what;
    }
    const auto now = Clock::now();
    if (now < deadline) {
      std::this_thread::sleep_for(std::min<Clock::duration>(*interval, deadline - now));
    }
    if (Clock::now() >= deadline) {
      std::cerr << "weft-proxy wait: " << url_text << " did not answer 200 within " << timeout_text
                << " (last: " << last << ")\n";
      return 1;
    }
  }
}

}  // namespace weft::proxy::wait
