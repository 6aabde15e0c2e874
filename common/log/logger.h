#pragma once

#include <spdlog/common.h>
#include <spdlog/logger.h>
#include <memory>
#include <string_view>

namespace weft::log {

enum class LogFormat {
  kText,  // "[2024-05-01T12:34:56.789Z] [1234] [info] [xds] message", for people
  kJson,  // one JSON object per line (see JsonFormatter), for log pipelines
};

struct LogOptions {
  LogFormat format = LogFormat::kText;
  spdlog::level::level_enum level = spdlog::level::info;
  // Where records go. Null means stderr, which is what a container runtime collects; tests
  // pass an ostream sink to read the output back.
  spdlog::sink_ptr sink = nullptr;
};

// Points every Weft logger (the default spdlog logger, named "weft", and all component
// loggers, whenever they were created) at the sink and format in `options`, and sets the level.
// Meant to be called once at start-up, from main(), before other threads log; calling it again
// (tests do) switches all loggers over. Until it is called, records go to stderr as text at
// info level, so nothing logged early is lost.
void initLogging(const LogOptions& options);

// Sets the level of every Weft logger, including component loggers created later. Safe to call
// from any thread while others log (the admin endpoint does): levels are atomics and a logger
// checks its own before formatting, so a disabled level costs one load.
void setLogLevel(spdlog::level::level_enum level);

// The level last set by initLogging() or setLogLevel().
spdlog::level::level_enum logLevel();

// The logger for one component, e.g. logger("xds"). Component loggers share the sink, format
// and level; the name appears in each record so output can be filtered per component. Created
// on first use; the reference stays valid for the life of the process, so callers may keep it
// (e.g. in a function-local static). Thread-safe.
spdlog::logger& logger(std::string_view component);

// A new formatter for `format`; exposed for sinks that Weft code sets up itself (access logs).
std::unique_ptr<spdlog::formatter> makeFormatter(LogFormat format);

}  // namespace weft::log
