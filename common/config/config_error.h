#pragma once

#include <string>
#include <vector>

namespace weft::config {

// One problem found in configuration: a bootstrap file, an xDS resource, a
// manifest. Carries everything a user needs to find and fix it.
struct ConfigError {
  // Where the document came from: a file path, "xds:Cluster/reviews", or empty.
  std::string source;
  // Field path in proto field names, e.g. "static_resources.clusters[0].connect_timeout";
  // empty for problems with the document as a whole (syntax errors, unreadable file).
  std::string field_path;
  // 1-based position in the source text; 0 when unknown (binary xDS input).
  int line = 0;
  int column = 0;
  // What is wrong, e.g. "unknown field 'conect_timeout' (did you mean 'connect_timeout'?)".
  std::string reason;

  // "file.yaml:12:5: static_resources.clusters[0].name: is required"; parts that are
  // unknown are left out.
  std::string toString() const;
};

using ConfigErrors = std::vector<ConfigError>;

// All errors on separate lines, for logs and stderr.
std::string formatErrors(const ConfigErrors& errors);

// Stop collecting after this many errors: a wholly wrong file should give a readable
// report, not one line per node.
inline constexpr size_t kMaxReportedErrors = 50;

}  // namespace weft::config
