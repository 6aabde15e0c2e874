#include "controlplane/source/directory_source.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "tests/unit/controlplane/source/temp_dir.h"

namespace weft::controlplane {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::TempDir;

// Bounds every wait on the source; tests wait for an outcome, never for a duration.
constexpr auto kPatience = std::chrono::seconds(10);

std::string route(std::string_view name, std::string_view timeout = "1s") {
  return "apiVersion: weft.dev/v1alpha1\nkind: TrafficRoute\nmetadata: {name: " +
         std::string(name) +
         "}\nspec:\n  hosts: [reviews]\n  rules: [{timeout: " + std::string(timeout) + "}]\n";
}

std::string service(std::string_view name) {
  return "apiVersion: v1\nkind: Service\nmetadata: {name: " + std::string(name) +
         "}\nspec: {ports: [{name: http, port: 9080}]}\n";
}

int64_t timeoutOf(const MeshModel& model, const std::string& key) {
  const auto it = model.traffic_routes.find(key);
  return it == model.traffic_routes.end() ? -1 : it->second->spec.rules(0).timeout().seconds();
}

// A DirectorySource over a temporary directory, its io_context run on a thread of its own.
class SourceTest : public ::testing::Test {
 protected:
  ~SourceTest() override { shutdown(); }

  std::string start(std::function<void(DirectorySourceOptions&)> adjust = {}) {
    DirectorySourceOptions options;
    options.directory = dir_.path();
    options.retry_interval = std::chrono::milliseconds(20);
    if (adjust) {
      adjust(options);
    }
    source_ = std::make_unique<DirectorySource>(io_, options, [this](MeshModelPtr model) {
      std::lock_guard lock(mutex_);
      models_.push_back(std::move(model));
      changed_.notify_all();
    });
    std::string error = source_->start();
    thread_ = std::thread([this] { io_.run(); });
    return error;
  }

  void shutdown() {
    work_.reset();
    io_.stop();
    if (thread_.joinable()) {
      thread_.join();
    }
    source_.reset();  // after the io_context's thread is done, as the source requires
  }

  // Waits for a model for which `done` holds (the latest one counts); fails after kPatience.
  MeshModelPtr waitForModel(const std::function<bool(const MeshModel&)>& done) {
    std::unique_lock lock(mutex_);
    const bool reached = changed_.wait_for(
        lock, kPatience, [&] { return !models_.empty() && done(*models_.back()); });
    EXPECT_TRUE(reached) << "no model as expected within " << kPatience.count() << " s";
    return models_.empty() ? nullptr : models_.back();
  }

  // Waits until the source has done more than `reloads` reloads.
  SourceStats waitForReloadAfter(uint64_t reloads) {
    const auto deadline = std::chrono::steady_clock::now() + kPatience;
    SourceStats stats = source_->stats();
    while (stats.reloads <= reloads && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      stats = source_->stats();
    }
    EXPECT_GT(stats.reloads, reloads) << "no reload within " << kPatience.count() << " s";
    return stats;
  }

  size_t modelCount() {
    std::lock_guard lock(mutex_);
    return models_.size();
  }

  TempDir dir_;
  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_{
      boost::asio::make_work_guard(io_)};
  std::unique_ptr<DirectorySource> source_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<MeshModelPtr> models_;
};

TEST_F(SourceTest, ReadsTheDirectoryAtStart) {
  dir_.write("routes.yaml", route("reviews"));
  dir_.write("team/a/services.yml", service("reviews"));
  dir_.write("team/b/ratings.json",
             R"({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "ratings"},
                 "spec": {"ports": [{"port": 80}]}})");
  dir_.write("README.md", "not a manifest: " + route("readme"));
  dir_.write(".hidden.yaml", route("hidden"));
  dir_.write(".git/config.yaml", route("git"));
  dir_.write("deploy.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n");
  ASSERT_EQ(start(), "");
  const MeshModelPtr model = source_->current();
  EXPECT_THAT(std::vector<std::string>({model->traffic_routes.begin()->first}),
              ElementsAre("default/reviews"));
  EXPECT_EQ(model->traffic_routes.size(), 1u);
  EXPECT_EQ(model->services.size(), 2u);
  EXPECT_EQ(model->services.at("default/reviews")->meta.origin, "team/a/services.yml#0");
  ASSERT_EQ(modelCount(), 1u);  // start() delivers the first model
  const SourceStats stats = source_->stats();
  EXPECT_EQ(stats.reloads, 1u);
  EXPECT_EQ(stats.models, 1u);
  EXPECT_EQ(stats.files, 4u);
  EXPECT_EQ(stats.last_reload_errors, 0u);
  EXPECT_EQ(stats.documents.at("other"), (DocumentCounts{0, 0, 1}));
  EXPECT_EQ(stats.documents.at("Service"), (DocumentCounts{2, 0, 0}));
  EXPECT_EQ(stats.watched_directories, 4u);  // the root, team, team/a, team/b
}

TEST_F(SourceTest, StartFailsClearlyWithoutADirectory) {
  DirectorySourceOptions options;
  options.directory = dir_ / "missing";
  DirectorySource missing(io_, options, {});
  EXPECT_THAT(missing.start(),
              HasSubstr("manifest directory " + options.directory + " does not exist"));
  dir_.write("file.yaml", route("a"));
  options.directory = dir_ / "file.yaml";
  DirectorySource file(io_, options, {});
  EXPECT_THAT(file.start(), HasSubstr("is not a directory"));
  EXPECT_TRUE(file.current()->traffic_routes.empty());
}

TEST_F(SourceTest, AChangeParsesOnlyTheFilesThatChanged) {
  dir_.write("a.yaml", route("a", "1s"));
  dir_.write("b.yaml", route("b", "1s"));
  dir_.write("c.yaml", service("c"));
  ASSERT_EQ(start(), "");
  EXPECT_EQ(source_->stats().parsed_files, 3u);
  dir_.replace("b.yaml", route("b", "2s"));
  waitForModel([](const MeshModel& model) { return timeoutOf(model, "default/b") == 2; });
  const SourceStats stats = source_->stats();
  EXPECT_EQ(stats.files, 3u);
  EXPECT_EQ(stats.parsed_files, 1u);
  // The events named the file: the tree was listed only at the start.
  EXPECT_EQ(stats.listings, 1u);
  // The unchanged files' objects are still in the model, shared with the previous model.
  EXPECT_EQ(timeoutOf(*source_->current(), "default/a"), 1);
  EXPECT_EQ(source_->current()->services.count("default/c"), 1u);
  // A file created and one deleted are also read from the events alone.
  dir_.write("d.yaml", service("d"));
  dir_.remove("c.yaml");
  waitForModel([](const MeshModel& model) {
    return model.services.count("default/d") == 1 && model.services.count("default/c") == 0;
  });
  EXPECT_EQ(source_->stats().listings, 1u);
  EXPECT_EQ(source_->stats().files, 3u);
  // A new directory is listed.
  dir_.write("sub/e.yaml", service("e"));
  waitForModel([](const MeshModel& model) { return model.services.count("default/e") == 1; });
  EXPECT_EQ(source_->stats().listings, 2u);
  EXPECT_EQ(source_->stats().parsed_files, 1u);  // listed, but only the new file parsed
}

// A burst naming more files than are worth reading one by one is read with a listing, and
// the set of named files stays bounded.
TEST_F(SourceTest, AHugeBurstIsReadWithAListing) {
  // One reload for the whole burst however slowly the files are written: a long quiet time,
  // and no cap on the burst's length.
  ASSERT_EQ(start([](DirectorySourceOptions& options) {
              options.settle_time = std::chrono::seconds(1);
              options.max_delay = std::chrono::minutes(1);
            }),
            "");
  for (int i = 0; i < 5000; ++i) {
    dir_.write("s" + std::to_string(i) + ".yaml", service("s" + std::to_string(i)));
  }
  waitForModel([](const MeshModel& model) { return model.services.size() == 5000; });
  EXPECT_EQ(source_->stats().files, 5000u);
  EXPECT_GE(source_->stats().listings, 2u);
}

// With a symlink in the tree an event may carry another name than the one read: every change
// lists the tree again.
TEST_F(SourceTest, ASymlinkInTheTreeMakesEveryChangeAListing) {
  dir_.write("real/a.yaml", route("a", "1s"));
  std::filesystem::create_directory_symlink("real", dir_ / "view");
  ASSERT_EQ(start(), "");
  EXPECT_EQ(source_->stats().files, 1u);  // the directory is read once, under its first name
  dir_.replace("real/a.yaml", route("a", "2s"));
  waitForModel([](const MeshModel& model) { return timeoutOf(model, "default/a") == 2; });
  EXPECT_EQ(source_->stats().listings, 2u);
}

TEST_F(SourceTest, FollowsWritesRenamesAndDeletes) {
  dir_.write("routes.yaml", route("reviews", "1s"));
  ASSERT_EQ(start(), "");

  dir_.write("routes.yaml", route("reviews", "2s"));  // written in place
  waitForModel([](const MeshModel& model) { return timeoutOf(model, "default/reviews") == 2; });

  dir_.replace("routes.yaml", route("reviews", "3s"));  // renamed over it
  waitForModel([](const MeshModel& model) { return timeoutOf(model, "default/reviews") == 3; });

  dir_.write("more.yaml", service("ratings"));  // a new file
  waitForModel([](const MeshModel& model) { return model.services.count("default/ratings"); });

  dir_.remove("routes.yaml");  // deleting a file removes its objects
  const MeshModelPtr without_routes =
      waitForModel([](const MeshModel& model) { return model.traffic_routes.empty(); });
  EXPECT_EQ(without_routes->services.size(), 1u);

  std::filesystem::rename(dir_ / "more.yaml", dir_ / "more.txt");  // moved out of view
  const MeshModelPtr empty =
      waitForModel([](const MeshModel& model) { return model.services.empty(); });
  EXPECT_EQ(source_->current(), empty);
}

TEST_F(SourceTest, WatchesSubdirectoriesCreatedLater) {
  ASSERT_EQ(start(), "");
  dir_.write("new/deeper/routes.yaml", route("reviews"));
  waitForModel([](const MeshModel& model) { return model.traffic_routes.size() == 1; });
  // The new directories are watched now: a change inside is seen.
  dir_.write("new/deeper/routes.yaml", route("reviews", "7s"));
  waitForModel([](const MeshModel& model) { return timeoutOf(model, "default/reviews") == 7; });
  dir_.remove("new");
  waitForModel([](const MeshModel& model) { return model.traffic_routes.empty(); });
}

// A ConfigMap volume: the kubelet writes each version into a hidden timestamped directory,
// points the "..data" symlink at it with an atomic rename, and shows every key as a symlink
// through "..data".
TEST_F(SourceTest, FollowsAConfigMapVolumeSymlinkSwap) {
  dir_.write("..2024_01_01_00_00_00.000000001/routes.yaml", route("reviews", "1s"));
  std::filesystem::create_directory_symlink("..2024_01_01_00_00_00.000000001", dir_ / "..data");
  std::filesystem::create_symlink("..data/routes.yaml", dir_ / "routes.yaml");
  ASSERT_EQ(start(), "");
  EXPECT_EQ(timeoutOf(*source_->current(), "default/reviews"), 1);
  // Read through the visible symlink only, not again through the hidden directories.
  EXPECT_EQ(source_->stats().files, 1u);
  EXPECT_EQ(source_->current()->traffic_routes.at("default/reviews")->meta.origin, "routes.yaml#0");

  dir_.write("..2024_01_01_00_01_00.000000002/routes.yaml", route("reviews", "4s"));
  std::filesystem::create_directory_symlink("..2024_01_01_00_01_00.000000002", dir_ / "..data_tmp");
  std::filesystem::rename(dir_ / "..data_tmp", dir_ / "..data");
  dir_.remove("..2024_01_01_00_00_00.000000001");
  waitForModel([](const MeshModel& model) { return timeoutOf(model, "default/reviews") == 4; });
}

TEST_F(SourceTest, ABrokenEditKeepsTheLastGoodVersion) {
  dir_.write("routes.yaml", route("reviews", "1s"));
  ASSERT_EQ(start(), "");
  const uint64_t reloads = source_->stats().reloads;
  dir_.write("routes.yaml", route("reviews", "1 minute-ish"));
  const SourceStats stats = waitForReloadAfter(reloads);
  EXPECT_EQ(stats.last_reload_errors, 1u);
  EXPECT_EQ(stats.last_reload_documents.at("TrafficRoute"), (DocumentCounts{0, 1, 0}));
  EXPECT_EQ(stats.models, 1u);  // nothing changed: the last good version was kept
  EXPECT_EQ(timeoutOf(*source_->current(), "default/reviews"), 1);
  EXPECT_EQ(modelCount(), 1u);
  dir_.write("routes.yaml", route("reviews", "9s"));
  waitForModel([](const MeshModel& model) { return timeoutOf(model, "default/reviews") == 9; });
  EXPECT_EQ(source_->stats().last_reload_errors, 0u);
}

TEST_F(SourceTest, TouchingAFileGivesNoNewModel) {
  dir_.write("routes.yaml", route("reviews"));
  ASSERT_EQ(start(), "");
  const uint64_t reloads = source_->stats().reloads;
  dir_.write("routes.yaml", route("reviews"));  // the same bytes again
  ::utimes((dir_ / "routes.yaml").c_str(), nullptr);
  const SourceStats stats = waitForReloadAfter(reloads);
  EXPECT_EQ(stats.models, 1u);
  EXPECT_EQ(modelCount(), 1u);
  // A real change afterwards is the one new model.
  dir_.write("routes.yaml", route("reviews", "5s"));
  waitForModel([](const MeshModel& model) { return timeoutOf(model, "default/reviews") == 5; });
  EXPECT_EQ(modelCount(), 2u);
}

TEST_F(SourceTest, ReloadReadsTheDirectoryAgain) {
  dir_.write("routes.yaml", route("reviews"));
  ASSERT_EQ(start(), "");
  const uint64_t reloads = source_->stats().reloads;
  source_->reload();
  const SourceStats stats = waitForReloadAfter(reloads);
  EXPECT_EQ(stats.models, 1u);
  EXPECT_EQ(stats.documents.at("TrafficRoute"), (DocumentCounts{2, 0, 0}));  // read twice
  EXPECT_EQ(stats.last_reload_documents.at("TrafficRoute"), (DocumentCounts{1, 0, 0}));
}

TEST_F(SourceTest, DuplicateAcrossFilesIsReportedAndTheFirstKept) {
  dir_.write("a.yaml", route("reviews", "1s"));
  dir_.write("b.yaml", route("reviews", "2s"));
  ASSERT_EQ(start(), "");
  EXPECT_EQ(timeoutOf(*source_->current(), "default/reviews"), 1);
  EXPECT_EQ(source_->stats().last_reload_errors, 1u);
  dir_.remove("a.yaml");
  waitForModel([](const MeshModel& model) { return timeoutOf(model, "default/reviews") == 2; });
  EXPECT_EQ(source_->stats().last_reload_errors, 0u);
}

TEST_F(SourceTest, KeepsTheModelWhileTheDirectoryIsGone) {
  const std::string root = dir_ / "manifests";
  dir_.write("manifests/routes.yaml", route("reviews"));
  ASSERT_EQ(start([&root](DirectorySourceOptions& options) { options.directory = root; }), "");
  const uint64_t failed = source_->stats().failed_reloads;
  std::filesystem::rename(root, dir_ / "elsewhere");
  const auto deadline = std::chrono::steady_clock::now() + kPatience;
  while (source_->stats().failed_reloads == failed && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_GT(source_->stats().failed_reloads, failed);
  EXPECT_EQ(source_->current()->traffic_routes.size(), 1u);
  // Back, with other contents: found by the retries, and watched again.
  dir_.write("elsewhere/routes.yaml", route("ratings"));
  std::filesystem::rename(dir_ / "elsewhere", root);
  waitForModel(
      [](const MeshModel& model) { return model.traffic_routes.count("default/ratings"); });
  dir_.write("manifests/routes.yaml", route("ratings", "6s"));
  waitForModel([](const MeshModel& model) { return timeoutOf(model, "default/ratings") == 6; });
}

TEST_F(SourceTest, ABurstOfChangesIsReadAsAWhole) {
  ASSERT_EQ(start([](DirectorySourceOptions& options) {
              // Long enough that the burst below is one reload however slow the machine.
              options.settle_time = std::chrono::milliseconds(2000);
              options.max_delay = std::chrono::milliseconds(5000);
            }),
            "");
  for (int i = 0; i < 20; ++i) {
    dir_.write("routes-" + std::to_string(i) + ".yaml", route("r" + std::to_string(i)));
  }
  const MeshModelPtr all =
      waitForModel([](const MeshModel& model) { return model.traffic_routes.size() == 20; });
  ASSERT_NE(all, nullptr);
  EXPECT_EQ(modelCount(), 2u);  // the empty first model, then all twenty at once
}

}  // namespace
}  // namespace weft::controlplane
