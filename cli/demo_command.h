#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace weft::cli {

// `weftctl demo`: the local mesh demo. As root it runs the shop in network namespaces, each
// pod with `weft-proxy init` rules and a sidecar (scripts/demo/mesh_demo.py); without root,
// or with --loopback, it says why and runs the loopback variant, where sidecars listen on
// ports of their own (scripts/demo/loopback.sh). The demos are scripts, as their sample apps
// are: weftctl finds them and the binaries beside itself, then hands over (exec).

struct DemoOptions {
  std::string demo_dir;       // empty: $WEFT_DEMO_DIR, else the source tree's scripts/demo
  std::string hold = "auto";  // namespace demo: keep running after the walkthrough (auto|yes|no)
  bool loopback = false;      // the loopback variant even as root
};

// What would be run: the program and its arguments, and the variables to set; an error
// message instead when a script or binary is missing (it looks at the file system, and at
// $WEFT_DEMO_DIR when options.demo_dir is empty). Separate from runDemo for the tests.
struct DemoPlan {
  std::vector<std::string> argv;
  std::vector<std::pair<std::string, std::string>> environment;
  std::string notice;  // said before handing over (why the loopback variant runs)
  std::string error;
};
DemoPlan planDemo(const DemoOptions& options, bool is_root, const std::string& bin_dir);

// Plans, prints the notice, and execs; returns only when it could not (2: usage, 1: exec).
int runDemo(const DemoOptions& options, std::ostream& out, std::ostream& err);

}  // namespace weft::cli
