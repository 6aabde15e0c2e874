#pragma once

#include <cstdint>
#include <string>

#include "proxy/server/bootstrap_source.h"

namespace weft::proxy {

struct ProxyOptions {
  // The bootstrap: a file, watched for changes, or an environment variable.
  BootstrapSource bootstrap;
  // Worker threads; 0 means one per CPU (or the bootstrap's concurrency).
  uint32_t concurrency = 0;
  // Only load and check the config, print the result, and exit.
  bool validate_only = false;
};

// Runs the proxy until SIGTERM/SIGINT has drained it. Returns the process exit code:
// 0 after a clean shutdown, 1 when the config cannot be loaded or a listener cannot bind.
int runProxy(const ProxyOptions& options);

}  // namespace weft::proxy
