#include "common/log/logger.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/dist_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <atomic>
#include <map>
#include <mutex>
#include <string>

#include "common/log/json_formatter.h"

namespace weft::log {

namespace {

constexpr std::string_view kDefaultLoggerName = "weft";

// All Weft loggers write to one dist_sink whose single sub-sink initLogging() replaces. This is
// what lets a component logger created (and cached by its caller) before initLogging(), or
// before a test re-initializes logging, follow the current sink and format: loggers never hold
// the real sink themselves.
class LoggerRegistry {
 public:
  LoggerRegistry() : sink_(std::make_shared<spdlog::sinks::dist_sink_mt>()) {
    sink_->set_sinks({makeTargetSink(nullptr, LogFormat::kText)});
  }

  void init(const LogOptions& options) {
    sink_->set_sinks({makeTargetSink(options.sink, options.format)});
    setLevel(options.level);
    spdlog::set_default_logger(get(kDefaultLoggerName));
  }

  void setLevel(spdlog::level::level_enum level) {
    std::lock_guard lock(mutex_);
    level_.store(level, std::memory_order_relaxed);
    for (auto& [name, logger] : loggers_) {
      logger->set_level(level);
    }
  }

  spdlog::level::level_enum level() const { return level_.load(std::memory_order_relaxed); }

  std::shared_ptr<spdlog::logger> get(std::string_view name) {
    std::lock_guard lock(mutex_);
    auto it = loggers_.find(name);
    if (it == loggers_.end()) {
      auto logger = std::make_shared<spdlog::logger>(std::string(name), sink_);
      // Under the same lock as setLevel(), so a logger created concurrently with a level change
      // cannot miss it.
      logger->set_level(level_.load(std::memory_order_relaxed));
      it = loggers_.emplace(std::string(name), std::move(logger)).first;
    }
    return it->second;
  }

 private:
  static spdlog::sink_ptr makeTargetSink(spdlog::sink_ptr sink, LogFormat format) {
    if (sink == nullptr) {
      // Single-threaded variant: the dist_sink's mutex already serializes writes.
      sink = std::make_shared<spdlog::sinks::stderr_sink_st>();
    }
    sink->set_formatter(makeFormatter(format));
    sink->set_level(spdlog::level::trace);  // filtering is the loggers' job
    return sink;
  }

  std::mutex mutex_;
  std::atomic<spdlog::level::level_enum> level_{spdlog::level::info};
  std::map<std::string, std::shared_ptr<spdlog::logger>, std::less<>> loggers_;
  const std::shared_ptr<spdlog::sinks::dist_sink_mt> sink_;
};

LoggerRegistry& registry() {
  // Never destroyed: code running in static destructors or on detached threads may still log,
  // and loggers handed out by reference must stay valid until the process ends.
  static auto* instance = new LoggerRegistry();
  return *instance;
}

}  // namespace

std::unique_ptr<spdlog::formatter> makeFormatter(LogFormat format) {
  switch (format) {
    case LogFormat::kJson:
      return std::make_unique<JsonFormatter>();
    case LogFormat::kText:
      break;
  }
  // UTC like the JSON format, so the two agree and hosts in different zones line up.
  return std::make_unique<spdlog::pattern_formatter>("[%Y-%m-%dT%H:%M:%S.%eZ] [%t] [%l] [%n] %v",
                                                     spdlog::pattern_time_type::utc);
}

void initLogging(const LogOptions& options) {
  registry().init(options);
}

void setLogLevel(spdlog::level::level_enum level) {
  registry().setLevel(level);
}

spdlog::level::level_enum logLevel() {
  return registry().level();
}

spdlog::logger& logger(std::string_view component) {
  return *registry().get(component);
}

}  // namespace weft::log
