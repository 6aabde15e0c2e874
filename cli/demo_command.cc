#include "cli/demo_command.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

namespace weft::cli {

namespace {

namespace fs = std::filesystem;

std::string defaultDemoDir() {
  if (const char* dir = std::getenv("WEFT_DEMO_DIR"); dir != nullptr && *dir != '\0') {
    return dir;
  }
  return WEFT_DEMO_DIR;  // the source tree's scripts/demo, set by CMake
}

}  // namespace

DemoPlan planDemo(const DemoOptions& options, bool is_root, const std::string& bin_dir) {
  DemoPlan plan;
  if (options.hold != "auto" && options.hold != "yes" && options.hold != "no") {
    plan.error = "--hold must be auto, yes or no, not \"" + options.hold + "\"";
    return plan;
  }
  const std::string dir = options.demo_dir.empty() ? defaultDemoDir() : options.demo_dir;
  for (const char* binary : {"weft-proxy", "weft-controlplane", "weftctl"}) {
    if (!fs::exists(fs::path(bin_dir) / binary)) {
      plan.error = std::string(binary) + " is not in " + bin_dir + ", next to weftctl";
      return plan;
    }
  }
  if (is_root && !options.loopback) {
    const std::string script = (fs::path(dir) / "mesh_demo.py").string();
    if (!fs::exists(script)) {
      plan.error = script + " does not exist (set --demo-dir or WEFT_DEMO_DIR to scripts/demo)";
      return plan;
    }
    // Debian's interpreter: the sample apps need its python3-grpcio.
    plan.argv = {"/usr/bin/python3", script, "--bin-dir", bin_dir, "--hold", options.hold};
    return plan;
  }
  const std::string script = (fs::path(dir) / "loopback.sh").string();
  if (!fs::exists(script)) {
    plan.error = script + " does not exist (set --demo-dir or WEFT_DEMO_DIR to scripts/demo)";
    return plan;
  }
  plan.notice = options.loopback
                    ? "[demo] --loopback: the loopback variant, sidecars on ports of their own\n"
                    : "[demo] the mesh of network namespaces (pods with traffic capture) needs "
                      "root; running the loopback variant instead, sidecars on ports of their "
                      "own (sudo weftctl demo for the full one)\n";
  plan.argv = {"/bin/bash", script};
  plan.environment = {{"WEFT_DEMO_BIN_DIR", bin_dir}};
  return plan;
}

int runDemo(const DemoOptions& options, std::ostream& out, std::ostream& err) {
  std::error_code error;
  const fs::path self = fs::read_symlink("/proc/self/exe", error);
  if (error) {
    err << "weftctl demo: cannot find weftctl's own directory: " << error.message() << "\n";
    return 1;
  }
  const DemoPlan plan = planDemo(options, ::geteuid() == 0, self.parent_path().string());
  if (!plan.error.empty()) {
    err << "weftctl demo: " << plan.error << "\n";
    return 2;
  }
  out << plan.notice;
  out.flush();
  for (const auto& [name, value] : plan.environment) {
    ::setenv(name.c_str(), value.c_str(), 1);
  }
  std::vector<char*> argv;
  for (const std::string& arg : plan.argv) {
    argv.push_back(const_cast<char*>(arg.c_str()));
  }
  argv.push_back(nullptr);
  ::execv(argv[0], argv.data());
  const int exec_error = errno;  // before anything else can change it
  err << "weftctl demo: cannot run " << plan.argv[0] << ": " << std::strerror(exec_error) << "\n";
  return 1;
}

}  // namespace weft::cli
