#include "proxy/access_log/access_log_file.h"

#include <spdlog/details/log_msg.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>

#include "common/log/logger.h"

namespace weft::proxy {

namespace {

constexpr std::chrono::milliseconds kDrainInterval{100};

// Destinations by path, so that a config change that keeps a path keeps its file, writer and
// counts. Taken only when config is built and when metrics are rendered.
struct Registry {
  std::mutex mutex;
  std::map<std::string, std::weak_ptr<AccessLogFile>> files;
};

Registry& registry() {
  static Registry* instance = new Registry();  // never destroyed: files may outlive main()
  return *instance;
}

std::shared_ptr<spdlog::sinks::sink> makeSink(const std::string& path) {
  std::shared_ptr<spdlog::sinks::sink> sink;
  if (path == "/dev/stdout") {
    sink = std::make_shared<spdlog::sinks::stdout_sink_st>();
  } else if (path == "/dev/stderr") {
    sink = std::make_shared<spdlog::sinks::stderr_sink_st>();
  } else {
    sink = std::make_shared<spdlog::sinks::basic_file_sink_st>(path, false);
  }
  // Lines arrive formatted: the sink writes them as they are.
  sink->set_formatter(std::make_unique<spdlog::pattern_formatter>(
      "%v", spdlog::pattern_time_type::utc, std::string("\n")));
  return sink;
}

}  // namespace

std::shared_ptr<AccessLogFile> AccessLogFile::open(const std::string& path, uint32_t worker_count,
                                                   std::string& error) {
  Registry& files = registry();
  std::lock_guard lock(files.mutex);
  auto found = files.files.find(path);
  if (found != files.files.end()) {
    if (auto existing = found->second.lock(); existing && existing->workerCount() >= worker_count) {
      return existing;
    }
  }
  std::shared_ptr<spdlog::sinks::sink> sink;
  try {
    sink = makeSink(path);
  } catch (const std::exception& e) {
    error = "cannot open for writing: " + std::string(e.what());
    return nullptr;
  }
  auto file = std::make_shared<AccessLogFile>(std::move(sink), path, std::max(worker_count, 1U));
  files.files[path] = file;
  for (auto it = files.files.begin(); it != files.files.end();) {
    it = it->second.expired() ? files.files.erase(it) : std::next(it);
  }
  return file;
}

std::vector<AccessLogFile::Counts> AccessLogFile::allCounts() {
  std::vector<Counts> counts;
  Registry& files = registry();
  std::lock_guard lock(files.mutex);
  for (const auto& [path, weak] : files.files) {
    if (auto file = weak.lock()) {
      counts.push_back(file->counts());
    }
  }
  return counts;
}

AccessLogFile::AccessLogFile(std::shared_ptr<spdlog::sinks::sink> sink, std::string path,
                             uint32_t worker_count)
    : sink_(std::move(sink)), path_(std::move(path)) {
  rings_.reserve(worker_count);
  for (uint32_t i = 0; i < worker_count; ++i) {
    rings_.push_back(std::make_unique<Ring>());
  }
  writer_ = std::thread([this] { run(); });
}

AccessLogFile::~AccessLogFile() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  writer_.join();
}

bool AccessLogFile::append(uint32_t worker, std::string_view line) {
  Ring& ring = *rings_[worker % rings_.size()];
  const uint64_t head = ring.head.load(std::memory_order_relaxed);
  const uint64_t tail = ring.tail.load(std::memory_order_acquire);
  const uint64_t used = head - tail;
  if (line.size() > kRingBytes - used) {
    ring.dropped.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  const size_t offset = head % kRingBytes;
  const size_t first = std::min(line.size(), kRingBytes - offset);
  std::memcpy(ring.data.get() + offset, line.data(), first);
  std::memcpy(ring.data.get(), line.data() + first, line.size() - first);
  ring.head.store(head + line.size(), std::memory_order_release);
  if (used + line.size() > kRingBytes / 2 && !wake_requested_.exchange(true)) {
    // Once per drain at most: taking the writer's mutex here means it is either before its
    // check (it will see the flag) or waiting (it will get the notification), never between.
    { std::lock_guard lock(mutex_); }
    wake_.notify_one();
  }
  return true;
}

AccessLogFile::Counts AccessLogFile::counts() const {
  Counts counts{path_, written_.load(std::memory_order_relaxed),
                write_failures_.load(std::memory_order_relaxed)};
  for (const auto& ring : rings_) {
    counts.lines_dropped += ring->dropped.load(std::memory_order_relaxed);
  }
  return counts;
}

bool AccessLogFile::drain(std::string& batch) {
  batch.clear();
  for (const auto& ring : rings_) {
    const uint64_t head = ring->head.load(std::memory_order_acquire);
    const uint64_t tail = ring->tail.load(std::memory_order_relaxed);
    if (head == tail) {
      continue;
    }
    const size_t offset = tail % kRingBytes;
    const size_t size = head - tail;
    const size_t first = std::min(size, kRingBytes - offset);
    batch.append(ring->data.get() + offset, first);
    batch.append(ring->data.get(), size - first);
    ring->tail.store(head, std::memory_order_release);
  }
  if (batch.empty()) {
    return false;
  }
  const auto lines = static_cast<uint64_t>(std::count(batch.begin(), batch.end(), '\n'));
  try {
    // One message for the whole batch, without its last newline: the sink's pattern adds it.
    sink_->log(spdlog::details::log_msg(spdlog::source_loc{}, "access", spdlog::level::info,
                                        std::string_view(batch).substr(0, batch.size() - 1)));
    sink_->flush();
    written_.fetch_add(lines, std::memory_order_relaxed);
  } catch (const std::exception& e) {
    if (write_failures_.fetch_add(lines, std::memory_order_relaxed) == 0) {
      log::logger("access_log")
          .error("access log {}: write failed: {}; lines are dropped and counted", path_, e.what());
    }
  }
  return true;
}

void AccessLogFile::run() {
  std::string batch;
  for (;;) {
    drain(batch);
    std::unique_lock lock(mutex_);
    if (stopping_) {
      break;
    }
    wake_.wait_for(lock, kDrainInterval,
                   [this] { return stopping_ || wake_requested_.exchange(false); });
  }
  drain(batch);  // what the workers wrote last
}

}  // namespace weft::proxy
