#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <string>

namespace weft::proxy {

// Calls `on_change` when the file at `path` may have changed: written, replaced
// by rename (how editors and `kubectl`-mounted ConfigMaps update files, through
// a symlink swap in the directory), created or deleted. Watches the directory
// with inotify, so a replaced file is still followed. Bursts of events collapse
// into one call after `debounce`. Runs on the given io_context's thread.
class ConfigFileWatcher {
 public:
  ConfigFileWatcher(boost::asio::io_context& io_context, std::string path,
                    std::chrono::milliseconds debounce, std::function<void()> on_change);
  ~ConfigFileWatcher();

  ConfigFileWatcher(const ConfigFileWatcher&) = delete;
  ConfigFileWatcher& operator=(const ConfigFileWatcher&) = delete;

  // Empty when watching; otherwise why not (the proxy still reloads on SIGHUP).
  const std::string& error() const { return error_; }

  void stop();

 private:
  void readEvents();

  boost::asio::posix::stream_descriptor descriptor_;
  boost::asio::steady_timer debounce_timer_;
  std::chrono::milliseconds debounce_;
  std::function<void()> on_change_;
  std::string error_;
  alignas(8) char events_[4096];
};

}  // namespace weft::proxy
