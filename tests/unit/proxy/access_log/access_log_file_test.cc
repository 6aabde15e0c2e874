#include "proxy/access_log/access_log_file.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "proxy/access_log/access_log_config.h"

namespace weft::proxy {
namespace {

class AccessLogFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/weft-access-log-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::vector<std::string> readLines(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::string> lines;
    for (std::string text; std::getline(in, text);) {
      lines.push_back(text);
    }
    return lines;
  }

  std::string dir_;
};

TEST_F(AccessLogFileTest, EveryLineOfEveryWorkerIsWrittenByTheEnd) {
  const std::string path = dir_ + "/access.log";
  std::string error;
  {
    std::shared_ptr<AccessLogFile> file = AccessLogFile::open(path, 2, error);
    ASSERT_TRUE(file) << error;
    for (int i = 0; i < 3000; ++i) {
      ASSERT_TRUE(file->append(i % 2, "line " + std::to_string(i) + "\n"));
    }
    // Destroying the file drains what the writer has not taken yet.
  }
  const std::vector<std::string> lines = readLines(path);
  ASSERT_EQ(lines.size(), 3000U);
  // Each worker's lines keep their order.
  int last_even = -2;
  for (const std::string& text : lines) {
    const int number = std::stoi(text.substr(5));
    if (number % 2 == 0) {
      EXPECT_EQ(number, last_even + 2);
      last_even = number;
    }
  }
}

TEST_F(AccessLogFileTest, ALineTheRingCannotHoldIsDroppedAndCounted) {
  std::string error;
  std::shared_ptr<AccessLogFile> file = AccessLogFile::open(dir_ + "/big.log", 1, error);
  ASSERT_TRUE(file) << error;
  EXPECT_FALSE(file->append(0, std::string(AccessLogFile::kRingBytes + 1, 'x')));
  EXPECT_TRUE(file->append(0, "small\n"));
  EXPECT_EQ(file->counts().lines_dropped, 1U);
}

TEST_F(AccessLogFileTest, OnePathIsOneFileWhileAnySnapshotHoldsIt) {
  const std::string path = dir_ + "/shared.log";
  std::string error;
  std::shared_ptr<AccessLogFile> first = AccessLogFile::open(path, 2, error);
  std::shared_ptr<AccessLogFile> second = AccessLogFile::open(path, 2, error);
  EXPECT_EQ(first.get(), second.get());
  bool listed = false;
  for (const AccessLogFile::Counts& counts : AccessLogFile::allCounts()) {
    listed = listed || counts.path == path;
  }
  EXPECT_TRUE(listed);
}

TEST_F(AccessLogFileTest, AnUnwritablePathIsAnError) {
  std::ofstream(dir_ + "/a-file") << "x";
  std::string error;
  EXPECT_FALSE(AccessLogFile::open(dir_ + "/a-file/access.log", 1, error));
  EXPECT_NE(error.find("cannot open for writing"), std::string::npos) << error;
}

TEST(AccessLogWorkerTest, SamplingTakesTheConfiguredShare) {
  AccessLogConfig config;
  config.sample_threshold = (uint64_t{1} << 32) / 4;  // 25 %
  AccessLogWorker worker(12345);
  int taken = 0;
  for (int i = 0; i < 20000; ++i) {
    taken += worker.wants(&config, false) ? 1 : 0;
  }
  // 5000 expected; the standard deviation is about 61.
  EXPECT_GT(taken, 4600);
  EXPECT_LT(taken, 5400);
}

TEST(AccessLogWorkerTest, ErrorsOnlyTakesFailuresAndEverythingAtFullSampling) {
  AccessLogConfig config;
  config.errors_only = true;
  AccessLogWorker worker(7);
  EXPECT_FALSE(worker.wants(&config, false));
  EXPECT_TRUE(worker.wants(&config, true));
  EXPECT_FALSE(worker.wants(nullptr, true));
  // A route's own sampling replaces the log's: 0 never, 2^32 always.
  EXPECT_FALSE(worker.wants(&config, true, 0));
  config.sample_threshold = 0;
  EXPECT_TRUE(worker.wants(&config, true, uint64_t{1} << 32));
  EXPECT_TRUE(accessLogFailure(503, 0));
  EXPECT_TRUE(accessLogFailure(0, 0));
  EXPECT_TRUE(accessLogFailure(200, 3));
  EXPECT_FALSE(accessLogFailure(404, 0));
}

}  // namespace
}  // namespace weft::proxy
