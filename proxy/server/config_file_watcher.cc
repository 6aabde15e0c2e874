#include "proxy/server/config_file_watcher.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace weft::proxy {

ConfigFileWatcher::ConfigFileWatcher(boost::asio::io_context& io_context, std::string path,
                                     std::chrono::milliseconds debounce,
                                     std::function<void()> on_change)
    : descriptor_(io_context),
      debounce_timer_(io_context),
      debounce_(debounce),
      on_change_(std::move(on_change)) {
  const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) {
    error_ = std::string("inotify_init1: ") + std::strerror(errno);
    return;
  }
  std::filesystem::path directory = std::filesystem::absolute(path).parent_path();
  const int watch = ::inotify_add_watch(
      fd, directory.c_str(),
      IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_ATTRIB);
  if (watch < 0) {
    error_ = "inotify_add_watch " + directory.string() + ": " + std::strerror(errno);
    ::close(fd);
    return;
  }
  descriptor_.assign(fd);
  readEvents();
}

ConfigFileWatcher::~ConfigFileWatcher() {
  stop();
}

void ConfigFileWatcher::stop() {
  boost::system::error_code ignored;
  debounce_timer_.cancel();
  descriptor_.close(ignored);
}

void ConfigFileWatcher::readEvents() {
  descriptor_.async_read_some(
      boost::asio::buffer(events_), [this](boost::system::error_code error, size_t) {
        if (error) {
          return;  // closed by stop(), or the descriptor failed: SIGHUP still works
        }
        // Any event in the directory may concern the file (including a symlink
        // swap of a parent entry); the reload compares content, so a spurious
        // call costs one read of the file.
        debounce_timer_.expires_after(debounce_);
        debounce_timer_.async_wait([this](boost::system::error_code timer_error) {
          if (!timer_error) {
            on_change_();
          }
        });
        readEvents();
      });
}

}  // namespace weft::proxy
