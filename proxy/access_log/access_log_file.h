#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace spdlog::sinks {
class sink;
}

namespace weft::proxy {

// One access log destination (a file, /dev/stdout or /dev/stderr), shared by every worker and
// every snapshot that names it. Workers hand lines over without locks or system calls: each
// has its own single-producer ring, which a writer thread drains into an spdlog sink every
// 100 ms, or sooner when a ring is half full. A worker whose ring is full drops the line and
// counts it, so a slow disk never stalls traffic (decision 57).
class AccessLogFile {
 public:
  // What /metrics reports of one destination.
  struct Counts {
    std::string path;
    uint64_t lines_written = 0;
    uint64_t lines_dropped = 0;
  };

  // Bytes each worker may have waiting; a line longer than this is dropped.
  static constexpr size_t kRingBytes = 256 * 1024;

  // The destination `path` for `worker_count` workers: the one already open for the path, or a
  // new one. Null with `error` set when the file cannot be opened.
  static std::shared_ptr<AccessLogFile> open(const std::string& path, uint32_t worker_count,
                                             std::string& error);

  // The counts of every destination open now.
  static std::vector<Counts> allCounts();

  AccessLogFile(std::shared_ptr<spdlog::sinks::sink> sink, std::string path, uint32_t worker_count);
  // Writes what the rings still hold, then stops the writer.
  ~AccessLogFile();
  AccessLogFile(const AccessLogFile&) = delete;
  AccessLogFile& operator=(const AccessLogFile&) = delete;

  // Worker `worker`'s finished line (newline included). Called only on that worker's thread.
  // False when its ring is full: the line is dropped and counted.
  bool append(uint32_t worker, std::string_view line);

  const std::string& path() const { return path_; }
  uint32_t workerCount() const { return static_cast<uint32_t>(rings_.size()); }
  Counts counts() const;

 private:
  // A single-producer, single-consumer byte ring: the worker moves `head`, the writer `tail`,
  // each on its own cache line.
  struct Ring {
    std::unique_ptr<char[]> data{new char[kRingBytes]};
    alignas(64) std::atomic<uint64_t> head{0};
    alignas(64) std::atomic<uint64_t> tail{0};
    std::atomic<uint64_t> dropped{0};
  };

  void run();
  // Moves what every ring holds to the sink; true when anything was written.
  bool drain(std::string& batch);

  const std::shared_ptr<spdlog::sinks::sink> sink_;
  const std::string path_;
  std::vector<std::unique_ptr<Ring>> rings_;
  std::atomic<uint64_t> written_{0};
  std::atomic<uint64_t> write_failures_{0};
  std::atomic<bool> wake_requested_{false};
  std::mutex mutex_;  // only for the writer's sleep: workers never take it
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread writer_;
};

}  // namespace weft::proxy
