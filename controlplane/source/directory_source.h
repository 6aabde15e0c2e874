#pragma once

#include <sys/stat.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "common/config/yaml_to_proto.h"
#include "controlplane/model/mesh_model.h"
#include "controlplane/source/mesh_model_builder.h"
#include "controlplane/source/mesh_source.h"

namespace weft::controlplane {

// Counters of a DirectorySource, for the control plane's metrics. A plain snapshot.
struct SourceStats {
  // Documents read by all reloads, by countedKind() ("TrafficRoute", ..., "other",
  // "unknown"), and by result.
  std::map<std::string, DocumentCounts> documents;
  // The same for the last reload alone.
  std::map<std::string, DocumentCounts> last_reload_documents;
  // Reloads done, including the first and those that failed.
  uint64_t reloads = 0;
  // Reloads that could not list the directory (the model was kept as it was).
  uint64_t failed_reloads = 0;
  // Reloads that produced a new model.
  uint64_t models = 0;
  // Errors found by the last reload: the errors of its rejected documents and duplicate
  // definitions, or 1 when the directory could not be read. 0 when all was well.
  uint64_t last_reload_errors = 0;
  // Reloads that listed the whole tree (at start, after events that do not name the file that
  // changed, for SIGHUP); the others read just the files events named.
  uint64_t listings = 0;
  // Manifest files read by the last successful reload.
  uint64_t files = 0;
  // Of those, the files parsed again because they changed (the others' last parse was reused).
  uint64_t parsed_files = 0;
  // Directories watched with inotify.
  uint64_t watched_directories = 0;
};

struct DirectorySourceOptions {
  // Read are the *.yaml, *.yml and *.json files in it and in its subdirectories, hidden ones
  // (".name") excepted. Symlinks are followed, so a ConfigMap volume (visible symlinks into a
  // hidden "..data" directory that the kubelet swaps atomically) reads as plain files.
  std::string directory;
  // Bounds on each file and document (common/config/yaml_to_proto.h).
  config::YamlLimits limits;
  // Quiet time after a change before the directory is read again. Writers change a directory
  // in bursts (an editor writes a temporary file and renames it; the kubelet creates a
  // directory, swaps a symlink and deletes the old one), and one reload per burst avoids
  // reading half of one. Short, because the control plane already waits 100 ms to collect
  // changes before pushing to proxies: more here would only add latency.
  std::chrono::milliseconds settle_time{30};
  // A burst that never goes quiet is still read this long after its first change.
  std::chrono::milliseconds max_delay{1000};
  // How often to try again while the directory cannot be listed (deleted, made unreadable).
  std::chrono::milliseconds retry_interval{1000};
};

// The mesh as described by a directory of Kubernetes manifests (manifest_reader.h), kept up to
// date as the directory changes (mesh_model_builder.h: bad documents are reported and skipped,
// the last good version of a broken object is kept). Changes are found with inotify on the
// directory and each subdirectory. A change to files reads just those files: their paths come
// from the events, and only a file whose stat(2) identity changed is parsed again. The whole
// tree is listed again (each file still parsed only if it changed) when the events cannot say
// what changed: a directory created, moved or deleted, a lost event (queue overflow), the
// kubelet's "..data" swap, any symlink in the tree (a change behind a symlink shows up under
// the target's name), SIGHUP (reload()), and after the directory could not be read.
//
// Runs on the given io_context: call start() before it runs or on its thread, and destroy the
// source on that thread or after the io_context has stopped. current() and stats() may be
// called from any thread.
class DirectorySource final : public MeshSource {
 public:
  using ModelCallback = std::function<void(MeshModelPtr)>;

  // `on_model` is called with each new model: by start() with the first, then on the
  // io_context's thread after each reload whose result differs in content from the last (so
  // touching a file without changing it produces nothing).
  DirectorySource(boost::asio::io_context& io_context, DirectorySourceOptions options,
                  ModelCallback on_model);
  ~DirectorySource() override;

  DirectorySource(const DirectorySource&) = delete;
  DirectorySource& operator=(const DirectorySource&) = delete;

  // Checks that the directory exists and can be read, reads it, and starts watching it.
  // Returns an empty string on success, else why not (nothing is watched then).
  [[nodiscard]] std::string start() override;

  // Lists and parses the whole directory again soon, on the io_context's thread (for
  // SIGHUP). Safe to call from any thread once started.
  void reload() override;

  // Stops watching; pending reloads are dropped. Also done by the destructor.
  void stop() override;

  // The latest model; empty before start().
  MeshModelPtr current() const override;

  // When the change behind the latest model was first noticed: the first inotify event of the
  // burst that led to the reload (or the reload itself when it was not caused by an event).
  // Convergence is measured from here, so the time spent reading is counted. Call on the
  // io_context's thread, e.g. from the model callback.
  std::chrono::steady_clock::time_point changeNoticedAt() const override {
    return change_noticed_at_;
  }
  std::string describe() const override { return "manifests from " + options_.directory; }
  // start() reads the directory before it returns.
  std::string notReadyReason() const override {
    return started_ ? std::string() : "the manifests are not read yet";
  }

  SourceStats stats() const;

  const std::string& directory() const { return options_.directory; }

 private:
  struct Listing;

  void reloadNow();
  void readEvents();
  void handleEvents(size_t bytes);
  void scheduleReload();
  void scheduleRetry();
  void replaceWatches(std::map<int, std::string> watches);
  // The files among the paths events named that are new, changed or gone.
  void readChangedPaths(std::vector<ManifestFile>& changed, std::vector<std::string>& removed,
                        size_t& reparsed);
  // Every file of `listing` that is new or changed, and every file no longer there.
  void readChangedFiles(const Listing& listing, std::vector<ManifestFile>& changed,
                        std::vector<std::string>& removed, size_t& reparsed);

  boost::asio::io_context& io_context_;
  const DirectorySourceOptions options_;
  ModelCallback on_model_;

  boost::asio::posix::stream_descriptor inotify_;
  boost::asio::steady_timer settle_timer_;
  boost::asio::steady_timer retry_timer_;
  // Watch descriptor -> directory.
  std::map<int, std::string> watches_;
  bool started_ = false;
  bool stopped_ = false;
  bool reload_pending_ = false;
  bool retry_pending_ = false;
  // The last reload could not list the directory.
  bool failing_ = false;
  // Set by events that do not say which files changed: the next reload lists the whole tree.
  bool list_again_ = true;
  // Set by reload(): the next listing parses every file, changed or not.
  bool parse_all_ = false;
  // Paths of files that events named since the last reload.
  std::set<std::string> changed_paths_;
  // The last listing met a symlink: events cannot be trusted to name what changed.
  bool tree_has_symlinks_ = false;
  std::chrono::steady_clock::time_point burst_start_;
  // Handlers check this before touching the source, which may be gone when they run.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);

  // A file's identity as stat(2) sees it; equal identity means the parse of the last reload
  // still holds, so a change re-parses only the files that changed (a mesh of 10,000 Workload
  // files would otherwise be parsed whole on every endpoint change).
  struct FileIdentity {
    dev_t device = 0;
    ino_t inode = 0;
    off_t size = 0;
    int64_t modified_ns = 0;
    int64_t changed_ns = 0;
    bool operator==(const FileIdentity&) const = default;
  };
  static FileIdentity identityOf(const struct stat& info);
  struct ReadFile {
    FileIdentity identity;
    std::string source;  // the name relative to the directory, as the builder knows it
  };
  std::map<std::string, ReadFile> read_files_;  // by path
  // Subdirectories the last listing could not read, as the builder knows them ("sub/").
  std::set<std::string> unreadable_directories_;
  std::chrono::steady_clock::time_point change_noticed_at_{};
  MeshModelBuilder builder_;

  mutable std::mutex mutex_;  // guards current_ and stats_
  MeshModelPtr current_ = std::make_shared<const MeshModel>();
  SourceStats stats_;

  alignas(8) char events_[8192];
};

}  // namespace weft::controlplane
