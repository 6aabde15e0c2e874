// weftctl demo's choice between the namespace demo and the loopback variant, and what it
// checks before handing over.
#include "cli/demo_command.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace weft::cli {
namespace {

namespace fs = std::filesystem;

class DemoPlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("weft-demo-plan-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
             "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(root_ / "bin");
    fs::create_directories(root_ / "demo");
    for (const char* file : {"bin/weft-proxy", "bin/weft-controlplane", "bin/weftctl",
                             "demo/mesh_demo.py", "demo/loopback.sh"}) {
      std::ofstream(root_ / file) << "";
    }
    options_.demo_dir = (root_ / "demo").string();
  }
  void TearDown() override { fs::remove_all(root_); }

  std::string bin() const { return (root_ / "bin").string(); }

  fs::path root_;
  DemoOptions options_;
};

TEST_F(DemoPlanTest, RootRunsTheNamespaceDemoWithTheBinariesBesideWeftctl) {
  options_.hold = "no";
  const DemoPlan plan = planDemo(options_, true, bin());
  ASSERT_EQ(plan.error, "");
  EXPECT_EQ(plan.notice, "");
  EXPECT_EQ(plan.argv, (std::vector<std::string>{"/usr/bin/python3",
                                                 (root_ / "demo" / "mesh_demo.py").string(),
                                                 "--bin-dir", bin(), "--hold", "no"}));
}

TEST_F(DemoPlanTest, WithoutRootItSaysWhyAndRunsTheLoopbackVariant) {
  const DemoPlan plan = planDemo(options_, false, bin());
  ASSERT_EQ(plan.error, "");
  EXPECT_NE(plan.notice.find("needs root"), std::string::npos) << plan.notice;
  EXPECT_EQ(plan.argv,
            (std::vector<std::string>{"/bin/bash", (root_ / "demo" / "loopback.sh").string()}));
  ASSERT_EQ(plan.environment.size(), 1u);
  EXPECT_EQ(plan.environment[0], (std::pair<std::string, std::string>{"WEFT_DEMO_BIN_DIR", bin()}));
}

TEST_F(DemoPlanTest, LoopbackIsChosenEvenAsRoot) {
  options_.loopback = true;
  const DemoPlan plan = planDemo(options_, true, bin());
  ASSERT_EQ(plan.error, "");
  EXPECT_EQ(plan.argv.at(0), "/bin/bash");
  EXPECT_NE(plan.notice.find("--loopback"), std::string::npos);
}

TEST_F(DemoPlanTest, MissingPiecesAndBadOptionsAreNamed) {
  fs::remove(root_ / "bin" / "weft-controlplane");
  EXPECT_NE(planDemo(options_, true, bin()).error.find("weft-controlplane is not in"),
            std::string::npos);
  std::ofstream(root_ / "bin" / "weft-controlplane") << "";
  fs::remove(root_ / "demo" / "mesh_demo.py");
  EXPECT_NE(planDemo(options_, true, bin()).error.find("mesh_demo.py does not exist"),
            std::string::npos);
  // The loopback variant does not need the namespace demo's script.
  EXPECT_EQ(planDemo(options_, false, bin()).error, "");
  options_.hold = "sometimes";
  EXPECT_EQ(planDemo(options_, true, bin()).error,
            "--hold must be auto, yes or no, not \"sometimes\"");
}

}  // namespace
}  // namespace weft::cli
