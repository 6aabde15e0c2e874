#pragma once

#include <spdlog/common.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <random>

#include "proxy/access_log/access_log_file.h"
#include "proxy/access_log/access_log_format.h"
#include "proxy/access_log/access_log_record.h"

namespace weft::proxy {

// A listener chain's access log, compiled from its AccessLog config (or the bootstrap's).
struct AccessLogConfig {
  std::shared_ptr<AccessLogFile> file;
  AccessLogFormat format = AccessLogFormat::json();
  // A line is written when a uniformly random 32-bit number is below this: 2^32 is every one.
  uint64_t sample_threshold = uint64_t{1} << 32;
  bool errors_only = false;
};

// Whether an HTTP request's outcome is a failure for errors_only: a 5xx, no response at all,
// or a response flag (a local reply that says why, a response broken off, a client that left).
inline bool accessLogFailure(unsigned response_code, uint8_t response_flag) {
  return response_code >= 500 || response_code == 0 || response_flag != 0;
}

// A worker's side of access logging: its random source for sampling and the buffer a line is
// formatted in, reused so that a steady stream of lines allocates nothing.
class AccessLogWorker {
 public:
  AccessLogWorker() : random_state_((uint64_t{std::random_device()()} << 32) | 1) {}
  explicit AccessLogWorker(uint64_t seed) : random_state_(seed | 1) {}

  // Whether `config` (null: no log) takes a request or connection, `failed` or not;
  // `route_threshold`: the route's own sampling, replacing the log's.
  bool wants(const AccessLogConfig* config, bool failed,
             std::optional<uint64_t> route_threshold = std::nullopt) {
    if (config == nullptr || (config->errors_only && !failed)) {
      return false;
    }
    const uint64_t threshold = route_threshold.value_or(config->sample_threshold);
    return threshold > (uint64_t{1} << 32) - 1 || (threshold != 0 && nextRandom() < threshold);
  }

  // Formats `record` and hands the line to the log's file (dropped and counted if the writer
  // is behind). `worker_index`: the calling worker's.
  void write(const AccessLogConfig& config, const AccessLogRecord& record, uint32_t worker_index) {
    line_.clear();
    config.format.write(record, line_);
    config.file->append(worker_index, std::string_view(line_.data(), line_.size()));
  }

 private:
  // xorshift64*: fast, and good enough to pick a share of requests.
  uint32_t nextRandom() {
    random_state_ ^= random_state_ >> 12;
    random_state_ ^= random_state_ << 25;
    random_state_ ^= random_state_ >> 27;
    return static_cast<uint32_t>((random_state_ * 0x2545F4914F6CDD1DULL) >> 32);
  }

  uint64_t random_state_;
  spdlog::memory_buf_t line_;
};

}  // namespace weft::proxy
