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
#include <string>
#include <vector>

#include "common/config/yaml_to_proto.h"
#include "controlplane/model/mesh_model.h"
#include "controlplane/source/mesh_model_builder.h"

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
// date as the directory changes: each reload reads every file and builds a complete MeshModel
// (mesh_model_builder.h: bad documents are reported and skipped, the last good version of a
// broken object is kept). Changes are found with inotify on the directory and each
// subdirectory; SIGHUP can force a reload through reload().
//
// Runs on the given io_context: call start() before it runs or on its thread, and destroy the
// source on that thread or after the io_context has stopped. current() and stats() may be
// called from any thread.
class DirectorySource {
 public:
  using ModelCallback = std::function<void(MeshModelPtr)>;

  // `on_model` is called with each new model: by start() with the first, then on the
  // io_context's thread after each reload whose result differs in content from the last (so
  // touching a file without changing it produces nothing).
  DirectorySource(boost::asio::io_context& io_context, DirectorySourceOptions options,
                  ModelCallback on_model);
  ~DirectorySource();

  DirectorySource(const DirectorySource&) = delete;
  DirectorySource& operator=(const DirectorySource&) = delete;

  // Checks that the directory exists and can be read, reads it, and starts watching it.
  // Returns an empty string on success, else why not (nothing is watched then).
  [[nodiscard]] std::string start();

  // Reads the directory again soon, on the io_context's thread (for SIGHUP). Safe to call
  // from any thread once started.
  void reload();

  // Stops watching; pending reloads are dropped. Also done by the destructor.
  void stop();

  // The latest model; empty before start().
  MeshModelPtr current() const;

  // When the change behind the latest model was first noticed: the first inotify event of the
  // burst that led to the reload (or the reload itself when it was not caused by an event).
  // Convergence is measured from here, so the time spent reading is counted. Call on the
  // io_context's thread, e.g. from the model callback.
  std::chrono::steady_clock::time_point changeNoticedAt() const { return change_noticed_at_; }

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
  struct ParsedFile {
    FileIdentity identity;
    ManifestFile file;
  };
  std::map<std::string, ParsedFile> parsed_files_;  // by path
  std::chrono::steady_clock::time_point change_noticed_at_{};
  MeshModelBuilder builder_;

  mutable std::mutex mutex_;  // guards current_ and stats_
  MeshModelPtr current_ = std::make_shared<const MeshModel>();
  SourceStats stats_;

  alignas(8) char events_[8192];
};

}  // namespace weft::controlplane
