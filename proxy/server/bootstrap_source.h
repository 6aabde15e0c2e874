#pragma once

#include <string>

#include "common/config/config_error.h"

namespace weft::proxy {

// Where the bootstrap text comes from: a file (--config), or an environment variable
// (--config-env). The sidecar injector uses the variable: a pod's name and addresses are
// unknown when it is admitted, and the kubelet expands $(VAR) references to downward-API
// variables only in environment values, never in a mounted file.
struct BootstrapSource {
  std::string file_path;     // --config
  std::string env_variable;  // --config-env

  bool fromEnvironment() const { return !env_variable.empty(); }

  // How errors, logs, /config_dump and /server_info name the source: the file's path, or
  // "$NAME" for a variable.
  std::string name() const { return fromEnvironment() ? "$" + env_variable : file_path; }

  // Reads the whole text. A variable that is unset or empty is an error naming it (an empty
  // document would otherwise read as "document is empty" with no hint of the variable), and
  // so is text larger than the loader's document limit.
  config::ConfigErrors read(std::string& text) const;
};

}  // namespace weft::proxy
