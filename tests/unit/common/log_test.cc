#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <boost/json.hpp>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/log/json_formatter.h"
#include "common/log/log_level.h"
#include "common/log/logger.h"

namespace weft::log {
namespace {

std::vector<std::string> splitLines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
  }
  return lines;
}

// Routes all logging into `output_` for the test and back to stderr afterwards, so the stream
// never outlives the sink that points at it.
class LoggingTest : public ::testing::Test {
 protected:
  void TearDown() override { initLogging({}); }

  void init(LogFormat format, spdlog::level::level_enum level = spdlog::level::trace) {
    initLogging({.format = format,
                 .level = level,
                 .sink = std::make_shared<spdlog::sinks::ostream_sink_st>(output_)});
  }

  std::vector<std::string> lines() const { return splitLines(output_.str()); }

  boost::json::object parseLine(const std::string& line) {
    boost::system::error_code ec;
    boost::json::value value = boost::json::parse(line, ec);
    EXPECT_FALSE(ec) << "not JSON: " << line << ": " << ec.message();
    EXPECT_TRUE(value.is_object()) << line;
    return value.is_object() ? value.as_object() : boost::json::object{};
  }

  std::ostringstream output_;
};

TEST(LogLevelTest, ParsesKnownNames) {
  EXPECT_EQ(parseLogLevel("trace"), spdlog::level::trace);
  EXPECT_EQ(parseLogLevel("debug"), spdlog::level::debug);
  EXPECT_EQ(parseLogLevel("info"), spdlog::level::info);
  EXPECT_EQ(parseLogLevel("warning"), spdlog::level::warn);
  EXPECT_EQ(parseLogLevel("warn"), spdlog::level::warn);
  EXPECT_EQ(parseLogLevel("error"), spdlog::level::err);
  EXPECT_EQ(parseLogLevel("critical"), spdlog::level::critical);
  EXPECT_EQ(parseLogLevel("off"), spdlog::level::off);
  EXPECT_EQ(parseLogLevel("INFO"), spdlog::level::info);
  EXPECT_EQ(parseLogLevel("Warning"), spdlog::level::warn);
}

TEST(LogLevelTest, RejectsUnknownNames) {
  EXPECT_EQ(parseLogLevel(""), std::nullopt);
  EXPECT_EQ(parseLogLevel("verbose"), std::nullopt);
  EXPECT_EQ(parseLogLevel("inf"), std::nullopt);
  EXPECT_EQ(parseLogLevel("information"), std::nullopt);
  EXPECT_EQ(parseLogLevel(" info"), std::nullopt);
  EXPECT_EQ(parseLogLevel("err"), std::nullopt);
  EXPECT_EQ(parseLogLevel(std::string_view("info\0", 5)), std::nullopt);
}

TEST(LogLevelTest, NamesRoundTrip) {
  for (auto level :
       {spdlog::level::trace, spdlog::level::debug, spdlog::level::info, spdlog::level::warn,
        spdlog::level::err, spdlog::level::critical, spdlog::level::off}) {
    EXPECT_EQ(parseLogLevel(logLevelName(level)), level) << logLevelName(level);
  }
  EXPECT_EQ(logLevelName(spdlog::level::warn), "warning");
}

TEST(JsonStringTest, EscapesQuotesBackslashesAndControls) {
  spdlog::memory_buf_t out;
  appendJsonString("a\"b\\c\n\r\t\b\f\x01\x1f\x7f", out);
  EXPECT_EQ(std::string(out.data(), out.size()), R"("a\"b\\c\n\r\t\b\f\u0001\u001f\u007f")");
}

TEST(JsonStringTest, KeepsValidUtf8AndReplacesInvalid) {
  spdlog::memory_buf_t out;
  // "é", "€", "😀" are valid; then a lone continuation byte, an overlong "/", a truncated
  // sequence at the end, a UTF-16 surrogate and a code point above U+10FFFF.
  appendJsonString(
      "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80|\x80|\xC0\xAF|\xED\xA0\x80|\xF4\x90\x80\x80|"
      "\xE2\x82",
      out);
  const std::string json(out.data(), out.size());
  boost::system::error_code ec;
  const boost::json::value value = boost::json::parse(json, ec);
  ASSERT_FALSE(ec) << json;
  const auto& text = value.as_string();
  const std::string_view decoded(text.data(), text.size());
  EXPECT_TRUE(decoded.starts_with("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80|\xEF\xBF\xBD|")) << json;
  EXPECT_EQ(decoded.find('\x80', 10), std::string_view::npos) << json;
  EXPECT_EQ(decoded.find('\xC0'), std::string_view::npos) << json;
  EXPECT_EQ(decoded.find('\xED'), std::string_view::npos) << json;
  EXPECT_EQ(decoded.find("\xF4\x90"), std::string_view::npos) << json;
  EXPECT_TRUE(decoded.ends_with("\xEF\xBF\xBD\xEF\xBF\xBD")) << json;
}

TEST_F(LoggingTest, JsonLinesCarryTheFields) {
  init(LogFormat::kJson);
  logger("xds").info("connected to {}", "controlplane:15010");
  spdlog::warn("from the default logger");

  const auto records = lines();
  ASSERT_EQ(records.size(), 2u) << output_.str();
  auto first = parseLine(records[0]);
  EXPECT_EQ(first["level"], "info");
  EXPECT_EQ(first["logger"], "xds");
  EXPECT_EQ(first["msg"], "connected to controlplane:15010");
  auto second = parseLine(records[1]);
  EXPECT_EQ(second["level"], "warning");
  EXPECT_EQ(second["logger"], "weft");
  EXPECT_EQ(second["msg"], "from the default logger");
}

TEST_F(LoggingTest, JsonTimestampIsRfc3339UtcWithMillis) {
  init(LogFormat::kJson);
  logger("test").info("tick");
  const auto records = lines();
  ASSERT_EQ(records.size(), 1u);
  auto record = parseLine(records[0]);
  ASSERT_TRUE(record["ts"].is_string());
  const std::string ts(record["ts"].as_string());
  // e.g. 2024-05-01T12:34:56.789Z
  ASSERT_EQ(ts.size(), 24u) << ts;
  for (size_t i : {4u, 7u}) {
    EXPECT_EQ(ts[i], '-') << ts;
  }
  EXPECT_EQ(ts[10], 'T') << ts;
  EXPECT_EQ(ts[13], ':') << ts;
  EXPECT_EQ(ts[16], ':') << ts;
  EXPECT_EQ(ts[19], '.') << ts;
  EXPECT_EQ(ts[23], 'Z') << ts;
  for (size_t i : {0u, 1u, 2u, 3u, 5u, 6u, 8u, 9u, 11u, 12u, 14u, 15u, 17u, 18u, 20u, 21u, 22u}) {
    EXPECT_TRUE(ts[i] >= '0' && ts[i] <= '9') << ts;
  }
}

TEST_F(LoggingTest, JsonTimestampMatchesRecordTime) {
  spdlog::memory_buf_t out;
  JsonFormatter formatter;
  // 2021-03-04T05:06:07.089Z
  const auto time = std::chrono::system_clock::time_point(std::chrono::seconds(1614834367) +
                                                          std::chrono::milliseconds(89));
  spdlog::details::log_msg msg(time, spdlog::source_loc{}, "ca", spdlog::level::err, "boom");
  formatter.format(msg, out);
  EXPECT_EQ(std::string(out.data(), out.size()),
            R"({"ts":"2021-03-04T05:06:07.089Z","level":"error","logger":"ca","msg":"boom"})"
            "\n");
}

TEST_F(LoggingTest, HostileMessageStaysOneValidJsonLine) {
  init(LogFormat::kJson);
  const std::string hostile =
      std::string("say \"hi\"\\\n{\"level\":\"forged\"}\r\n\ttab\x01\x1b[31m") + '\0' +
      "end\xff\xfe";
  logger("inbound").error("{}", hostile);

  const auto records = lines();
  ASSERT_EQ(records.size(), 1u) << output_.str();
  auto record = parseLine(records[0]);
  EXPECT_EQ(record["level"], "error");
  ASSERT_TRUE(record["msg"].is_string());
  const std::string msg(record["msg"].as_string());
  EXPECT_EQ(msg, std::string("say \"hi\"\\\n{\"level\":\"forged\"}\r\n\ttab\x01\x1b[31m") + '\0' +
                     "end\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST_F(LoggingTest, TextFormatHasLevelLoggerAndMessage) {
  init(LogFormat::kText);
  logger("admin").warn("listening on {}", 15000);
  const auto records = lines();
  ASSERT_EQ(records.size(), 1u) << output_.str();
  EXPECT_NE(records[0].find("[warning]"), std::string::npos) << records[0];
  EXPECT_NE(records[0].find("[admin]"), std::string::npos) << records[0];
  EXPECT_NE(records[0].find("listening on 15000"), std::string::npos) << records[0];
  EXPECT_EQ(records[0].back(), '0');
}

TEST_F(LoggingTest, LevelFiltersMessages) {
  init(LogFormat::kJson, spdlog::level::warn);
  logger("xds").info("hidden");
  logger("xds").debug("hidden");
  logger("xds").error("shown");
  const auto records = lines();
  ASSERT_EQ(records.size(), 1u) << output_.str();
  EXPECT_EQ(parseLine(records[0])["msg"], "shown");
}

TEST_F(LoggingTest, SetLogLevelAppliesToExistingAndNewLoggers) {
  init(LogFormat::kJson, spdlog::level::info);
  spdlog::logger& existing = logger("existing");
  existing.debug("suppressed before");
  setLogLevel(spdlog::level::debug);
  EXPECT_EQ(logLevel(), spdlog::level::debug);
  existing.debug("enabled after");
  logger("created-later").debug("also enabled");
  spdlog::debug("default too");
  setLogLevel(spdlog::level::off);
  existing.critical("suppressed by off");
  logger("created-later").critical("suppressed by off");

  const auto records = lines();
  ASSERT_EQ(records.size(), 3u) << output_.str();
  EXPECT_EQ(parseLine(records[0])["msg"], "enabled after");
  EXPECT_EQ(parseLine(records[1])["msg"], "also enabled");
  EXPECT_EQ(parseLine(records[2])["msg"], "default too");
}

TEST_F(LoggingTest, SetLogLevelFromAnotherThread) {
  init(LogFormat::kJson, spdlog::level::info);
  spdlog::logger& xds = logger("xds");
  xds.debug("before");
  std::thread admin([] { setLogLevel(spdlog::level::debug); });
  admin.join();
  xds.debug("after");
  const auto records = lines();
  ASSERT_EQ(records.size(), 1u) << output_.str();
  EXPECT_EQ(parseLine(records[0])["msg"], "after");
}

TEST_F(LoggingTest, LoggerCreatedBeforeInitFollowsNewSink) {
  spdlog::logger& early = logger("early");
  EXPECT_EQ(&early, &logger("early"));
  init(LogFormat::kJson);
  early.info("after init");
  const auto records = lines();
  ASSERT_EQ(records.size(), 1u) << output_.str();
  EXPECT_EQ(parseLine(records[0])["logger"], "early");
}

TEST_F(LoggingTest, ConcurrentLoggingKeepsLinesWhole) {
  init(LogFormat::kJson);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t] {
      auto& component = logger("worker-" + std::to_string(t));
      for (int i = 0; i < 200; ++i) {
        component.info("message {} with \"quotes\"\nand newline", i);
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  const auto records = lines();
  ASSERT_EQ(records.size(), 800u);
  for (const auto& record : records) {
    EXPECT_TRUE(parseLine(record).contains("msg"));
  }
}

}  // namespace
}  // namespace weft::log
