#include "controlplane/source/directory_source.h"

#include <dirent.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <cstring>
#include <set>
#include <utility>

#include "common/log/logger.h"

namespace weft::controlplane {
namespace {

// Everything that can change which files exist or what they hold. IN_ATTRIB makes a file that
// was unreadable and is now chmod-ed readable count; IN_ONLYDIR refuses to watch a file that
// replaced a directory.
constexpr uint32_t kWatchMask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE |
                                IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ATTRIB | IN_ONLYDIR;

// Subdirectories deeper than this are not read: enough for any layout, and a bound on what a
// symlink farm can make the scan do.
constexpr int kMaxDirectoryDepth = 16;

// Files named by the events of one burst that are read one by one; a burst naming more is read
// with a listing of the tree instead.
constexpr size_t kMaxChangedPaths = 4096;

spdlog::logger& sourceLog() {
  static spdlog::logger& log = weft::log::logger("source");
  return log;
}

bool isManifestFile(const std::string& name) {
  for (std::string_view extension : {".yaml", ".yml", ".json"}) {
    if (name.size() > extension.size() &&
        name.compare(name.size() - extension.size(), extension.size(), extension) == 0) {
      return true;
    }
  }
  return false;
}

// Whether an event may concern what the source reads. Names with one leading dot are hidden
// files (an editor's swap file); names with two are the kubelet's ("..data", "..data_tmp",
// "..2024_01_31_..."), whose symlink swap is how a ConfigMap volume changes, so they count.
bool isRelevant(const std::string& name) {
  return name.empty() || name[0] != '.' || (name.size() > 1 && name[1] == '.');
}

std::string errnoText(int error) {
  return std::strerror(error);
}

// Events that say nothing about which file changed: the whole tree has to be listed again.
bool needsListing(const inotify_event& event, const std::string& name) {
  return (event.mask & (IN_Q_OVERFLOW | IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF | IN_ISDIR)) !=
             0 ||
         name.empty() || name.rfind("..", 0) == 0;
}

}  // namespace

// The manifest files and directories found by one scan. Each directory is watched before it
// is listed, so a file created in a new directory right after the directory is seen either by
// this listing or by the watch.
struct DirectorySource::Listing {
  // The inotify instance to add watches to; -1 for none.
  int inotify_fd = -1;
  // (path to open, name relative to the source's directory), in no particular order.
  std::vector<std::pair<std::string, std::string>> files;
  // stat(2) of each entry of `files`, taken while listing: whether a file changed since the
  // last reload is read from it.
  std::vector<struct stat> file_stats;
  // Watch descriptor -> directory, for every directory watched.
  std::map<int, std::string> watches;
  // Subdirectories that could not be read: "sub/" and why.
  std::vector<std::pair<std::string, std::string>> unreadable;
  // Set when the source's directory itself cannot be read.
  std::string error;
  // Whether an entry read was a symlink (a file's or a directory's).
  bool has_symlinks = false;

  void scan(const std::string& root) {
    struct stat info {};
    if (::stat(root.c_str(), &info) != 0) {
      error = errno == ENOENT
                  ? "manifest directory " + root + " does not exist"
                  : "cannot access manifest directory " + root + ": " + errnoText(errno);
      return;
    }
    if (!S_ISDIR(info.st_mode)) {
      error = root + " is not a directory";
      return;
    }
    std::set<std::pair<dev_t, ino_t>> visited;
    visited.emplace(info.st_dev, info.st_ino);
    if (!scanDirectory(root, "", 0, visited, &error)) {
      return;
    }
  }

 private:
  // Lists `path` ("" relative name for the root). Returns false when it cannot be read; for
  // the root that is `root_error`, for a subdirectory an entry of `unreadable`.
  bool scanDirectory(const std::string& path, const std::string& relative, int depth,
                     std::set<std::pair<dev_t, ino_t>>& visited, std::string* root_error) {
    if (inotify_fd >= 0) {
      // Adding a watch for a directory already watched returns its descriptor again.
      const int watch = ::inotify_add_watch(inotify_fd, path.c_str(), kWatchMask);
      if (watch >= 0) {
        watches[watch] = path;
      } else {
        const int watch_error = errno;
        sourceLog().warn("cannot watch {}: {}{}; changes there are seen on the next reload", path,
                         errnoText(watch_error),
                         watch_error == ENOSPC ? " (raise fs.inotify.max_user_watches)" : "");
      }
    }
    DIR* directory = ::opendir(path.c_str());
    if (directory == nullptr) {
      const std::string reason = errnoText(errno);
      if (root_error != nullptr) {
        *root_error = "cannot read manifest directory " + path + ": " + reason;
      } else {
        unreadable.emplace_back(relative, "cannot read directory: " + reason);
      }
      return false;
    }
    std::vector<std::string> names;
    while (const dirent* entry = ::readdir(directory)) {
      std::string name = entry->d_name;
      // Hidden entries are skipped, "." and ".." and the kubelet's "..data" included: the
      // visible symlinks lead into the current "..data", and reading through them sees
      // each ConfigMap version whole. lost+found is a file system's, never manifests.
      if (name.empty() || name[0] == '.' || (depth == 0 && name == "lost+found")) {
        continue;
      }
      if (entry->d_type == DT_LNK) {
        has_symlinks = true;
      } else if (entry->d_type == DT_UNKNOWN) {
        struct stat link {};
        has_symlinks |= ::lstat((path + "/" + name).c_str(), &link) == 0 && S_ISLNK(link.st_mode);
      }
      names.push_back(std::move(name));
    }
    ::closedir(directory);
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
      const std::string child = path + "/" + name;
      const std::string child_relative = relative + name;
      struct stat info {};
      if (::stat(child.c_str(), &info) != 0) {
        continue;  // a dangling symlink, or removed since listed: nothing to read
      }
      if (S_ISDIR(info.st_mode)) {
        if (depth + 1 >= kMaxDirectoryDepth) {
          unreadable.emplace_back(child_relative + "/", "nested more than " +
                                                            std::to_string(kMaxDirectoryDepth) +
                                                            " directories deep; not read");
          continue;
        }
        // A symlink back up the tree would otherwise loop.
        if (visited.emplace(info.st_dev, info.st_ino).second) {
          scanDirectory(child, child_relative + "/", depth + 1, visited, nullptr);
        }
      } else if (S_ISREG(info.st_mode) && isManifestFile(name)) {
        files.emplace_back(child, child_relative);
        file_stats.push_back(info);
      }
    }
    return true;
  }
};

DirectorySource::DirectorySource(boost::asio::io_context& io_context,
                                 DirectorySourceOptions options, ModelCallback on_model)
    : io_context_(io_context),
      options_(std::move(options)),
      on_model_(std::move(on_model)),
      inotify_(io_context),
      settle_timer_(io_context),
      retry_timer_(io_context) {}

DirectorySource::~DirectorySource() {
  stop();
  alive_.reset();
}

std::string DirectorySource::start() {
  if (started_) {
    return "the directory source is already started";
  }
  Listing listing;
  listing.scan(options_.directory);
  if (!listing.error.empty()) {
    return listing.error;
  }
  const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) {
    return "cannot watch " + options_.directory + ": inotify_init1: " + errnoText(errno) +
           " (raise fs.inotify.max_user_instances?)";
  }
  if (::inotify_add_watch(fd, options_.directory.c_str(), kWatchMask) < 0) {
    const std::string reason = errnoText(errno);
    ::close(fd);
    return "cannot watch " + options_.directory + ": " + reason;
  }
  inotify_.assign(fd);
  started_ = true;
  change_noticed_at_ = std::chrono::steady_clock::now();
  reloadNow();
  readEvents();
  return {};
}

void DirectorySource::stop() {
  if (stopped_) {
    return;
  }
  stopped_ = true;
  boost::system::error_code ignored;
  settle_timer_.cancel();
  retry_timer_.cancel();
  inotify_.close(ignored);  // also drops every watch
  watches_.clear();
}

void DirectorySource::reload() {
  boost::asio::post(io_context_, [this, alive = std::weak_ptr<bool>(alive_)] {
    if (!alive.expired() && started_ && !stopped_) {
      change_noticed_at_ = std::chrono::steady_clock::now();
      list_again_ = true;
      parse_all_ = true;  // the way out should a change ever keep a file's stat identity
      reloadNow();
    }
  });
}

MeshModelPtr DirectorySource::current() const {
  std::lock_guard lock(mutex_);
  return current_;
}

SourceStats DirectorySource::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void DirectorySource::reloadNow() {
  spdlog::logger& log = sourceLog();
  std::vector<ManifestFile> changed;
  std::vector<std::string> removed;
  size_t reparsed = 0;
  const bool listing_needed = list_again_ || tree_has_symlinks_ || failing_;
  if (listing_needed) {
    Listing listing;
    listing.inotify_fd = inotify_.native_handle();
    listing.scan(options_.directory);
    replaceWatches(std::move(listing.watches));
    if (!listing.error.empty()) {
      // Most likely a volume being remounted or a directory being replaced: serving the last
      // model is better than serving an empty mesh, and the directory is tried again.
      // Reported once per outage, not once per retry.
      log.log(failing_ ? spdlog::level::debug : spdlog::level::err,
              "{}; keeping the current model and trying again every {} ms", listing.error,
              options_.retry_interval.count());
      failing_ = true;
      {
        std::lock_guard lock(mutex_);
        ++stats_.reloads;
        ++stats_.failed_reloads;
        stats_.last_reload_errors = 1;
      }
      scheduleRetry();
      return;
    }
    list_again_ = false;
    changed_paths_.clear();
    tree_has_symlinks_ = listing.has_symlinks;
    readChangedFiles(listing, changed, removed, reparsed);
  } else {
    readChangedPaths(changed, removed, reparsed);
  }
  for (const ManifestFile& file : changed) {
    for (const ManifestDocument& document : file.documents) {
      if (document.result == DocumentResult::kIgnored) {
        log.debug("{}: ignoring {} {} {}/{}: not a kind the mesh reads", document.origin,
                  document.api_version, document.kind, document.namespace_, document.name);
      }
    }
  }

  if (failing_) {
    log.info("manifest directory {} can be read again", options_.directory);
    failing_ = false;
  }
  ModelBuild build = builder_.update(std::move(changed), removed);
  for (const ManifestError& error : build.errors) {
    log.error("{}/{}", options_.directory, error.toString());
  }
  for (const std::string& kept : build.kept) {
    log.warn("keeping the last good version of {}, whose manifest is broken now", kept);
  }
  DocumentCounts total;
  for (const auto& [kind, counts] : build.documents) {
    total.accepted += counts.accepted;
    total.rejected += counts.rejected;
    total.ignored += counts.ignored;
  }
  log.info(
      "read {}: {} files ({} parsed{}); documents read: {} accepted, {} rejected ({} errors), {} "
      "ignored; {}",
      options_.directory, read_files_.size(), reparsed, listing_needed ? ", whole tree listed" : "",
      total.accepted, total.rejected, build.errors.size(), total.ignored,
      build.changed ? "the mesh model changed" : "the mesh model is unchanged");
  {
    std::lock_guard lock(mutex_);
    ++stats_.reloads;
    stats_.listings += listing_needed ? 1 : 0;
    stats_.last_reload_errors = builder_.errorCount();
    stats_.files = read_files_.size();
    stats_.parsed_files = reparsed;
    stats_.watched_directories = watches_.size();
    stats_.last_reload_documents = build.documents;
    for (const auto& [kind, counts] : build.documents) {
      DocumentCounts& sum = stats_.documents[kind];
      sum.accepted += counts.accepted;
      sum.rejected += counts.rejected;
      sum.ignored += counts.ignored;
    }
    if (build.changed) {
      ++stats_.models;
      current_ = build.model;
    }
  }
  if (build.changed && on_model_) {
    on_model_(build.model);
  }
}

DirectorySource::FileIdentity DirectorySource::identityOf(const struct stat& info) {
  return {info.st_dev, info.st_ino, info.st_size,
          int64_t{info.st_mtim.tv_sec} * 1'000'000'000 + info.st_mtim.tv_nsec,
          int64_t{info.st_ctim.tv_sec} * 1'000'000'000 + info.st_ctim.tv_nsec};
}

void DirectorySource::readChangedFiles(const Listing& listing, std::vector<ManifestFile>& changed,
                                       std::vector<std::string>& removed, size_t& reparsed) {
  std::map<std::string, ReadFile> now;
  for (size_t i = 0; i < listing.files.size(); ++i) {
    const auto& [path, name] = listing.files[i];
    const FileIdentity identity = identityOf(listing.file_stats[i]);
    auto known = read_files_.find(path);
    if (parse_all_ || known == read_files_.end() || !(known->second.identity == identity)) {
      ++reparsed;
      changed.push_back(readManifestFile(path, name, options_.limits));
    }
    now.emplace(path, ReadFile{identity, name});
  }
  for (const auto& [path, file] : read_files_) {
    if (now.count(path) == 0) {
      removed.push_back(file.source);
    }
  }
  read_files_ = std::move(now);
  parse_all_ = false;
  // An unreadable subdirectory is reported like an unreadable file; the builder keeps the
  // objects last read from files under it.
  std::set<std::string> unreadable;
  for (const auto& [relative, reason] : listing.unreadable) {
    ManifestFile file;
    file.source = relative;
    ManifestDocument document;
    document.result = DocumentResult::kRejected;
    document.origin = relative;
    ManifestError error;
    error.file = relative;
    error.reason = reason;
    document.errors.push_back(std::move(error));
    file.documents.push_back(std::move(document));
    changed.push_back(std::move(file));
    unreadable.insert(relative);
  }
  for (const std::string& relative : unreadable_directories_) {
    if (unreadable.count(relative) == 0) {
      removed.push_back(relative);
    }
  }
  unreadable_directories_ = std::move(unreadable);
}

void DirectorySource::readChangedPaths(std::vector<ManifestFile>& changed,
                                       std::vector<std::string>& removed, size_t& reparsed) {
  const std::string prefix = options_.directory + "/";
  for (const std::string& path : changed_paths_) {
    const std::string name = path.substr(path.rfind('/') + 1);
    if (name.empty() || name[0] == '.' || !isManifestFile(name) || path.rfind(prefix, 0) != 0) {
      continue;  // not read by a listing either
    }
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) {
      if (auto known = read_files_.find(path); known != read_files_.end()) {
        removed.push_back(known->second.source);
        read_files_.erase(known);
      }
      continue;
    }
    const FileIdentity identity = identityOf(info);
    auto known = read_files_.find(path);
    if (known != read_files_.end() && known->second.identity == identity) {
      continue;  // touched, not changed
    }
    const std::string source = path.substr(prefix.size());
    ++reparsed;
    changed.push_back(readManifestFile(path, source, options_.limits));
    read_files_.insert_or_assign(path, ReadFile{identity, source});
  }
  changed_paths_.clear();
}

void DirectorySource::replaceWatches(std::map<int, std::string> watches) {
  // Directories no longer part of the tree (deleted, or now hidden or too deep).
  for (const auto& [watch, directory] : watches_) {
    if (watches.count(watch) == 0) {
      ::inotify_rm_watch(inotify_.native_handle(), watch);
    }
  }
  watches_ = std::move(watches);
}

void DirectorySource::readEvents() {
  inotify_.async_read_some(
      boost::asio::buffer(events_),
      [this, alive = std::weak_ptr<bool>(alive_)](boost::system::error_code error, size_t bytes) {
        if (alive.expired()) {
          return;  // the source is gone
        }
        if (error) {
          if (error != boost::asio::error::operation_aborted) {
            sourceLog().error(
                "reading inotify events of {} failed: {}; changes are no longer "
                "seen (SIGHUP still reloads)",
                options_.directory, error.message());
          }
          return;
        }
        handleEvents(bytes);
        readEvents();
      });
}

void DirectorySource::handleEvents(size_t bytes) {
  bool relevant = false;
  size_t offset = 0;
  while (offset + sizeof(inotify_event) <= bytes) {
    inotify_event event{};
    std::memcpy(&event, events_ + offset, sizeof(event));
    const size_t name_offset = offset + sizeof(inotify_event);
    std::string name;
    if (event.len > 0 && name_offset + event.len <= bytes) {
      name.assign(events_ + name_offset, ::strnlen(events_ + name_offset, event.len));
    }
    offset = name_offset + event.len;
    if ((event.mask & IN_IGNORED) != 0) {
      watches_.erase(event.wd);  // its directory is gone; the next reload watches anew
    }
    if (!needsListing(event, name) && !isRelevant(name)) {
      continue;  // a hidden file: an editor's swap file
    }
    relevant = true;
    auto directory = watches_.find(event.wd);
    if (needsListing(event, name) || directory == watches_.end() ||
        changed_paths_.size() >= kMaxChangedPaths) {
      // Past the bound a listing is cheaper than the set, and memory stays bounded however
      // many files a burst touches.
      list_again_ = true;
      changed_paths_.clear();
    } else if (!list_again_) {
      changed_paths_.insert(directory->second + "/" + name);
    }
  }
  if (relevant) {
    scheduleReload();
  }
}

void DirectorySource::scheduleReload() {
  const auto now = std::chrono::steady_clock::now();
  if (!reload_pending_) {
    reload_pending_ = true;
    burst_start_ = now;
  }
  // Each event pushes the reload back until the burst is quiet, up to max_delay in all.
  settle_timer_.expires_at(std::min(now + options_.settle_time, burst_start_ + options_.max_delay));
  settle_timer_.async_wait(
      [this, alive = std::weak_ptr<bool>(alive_)](boost::system::error_code error) {
        if (error || alive.expired() || stopped_) {
          return;  // pushed back by a later event (which waits anew), or stopped
        }
        reload_pending_ = false;
        change_noticed_at_ = burst_start_;
        reloadNow();
      });
}

void DirectorySource::scheduleRetry() {
  if (retry_pending_ || stopped_) {
    return;
  }
  retry_pending_ = true;
  retry_timer_.expires_after(options_.retry_interval);
  retry_timer_.async_wait(
      [this, alive = std::weak_ptr<bool>(alive_)](boost::system::error_code error) {
        if (error || alive.expired() || stopped_) {
          return;
        }
        retry_pending_ = false;
        change_noticed_at_ = std::chrono::steady_clock::now();
        list_again_ = true;
        reloadNow();
      });
}

}  // namespace weft::controlplane
