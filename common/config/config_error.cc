#include "common/config/config_error.h"

namespace weft::config {

std::string ConfigError::toString() const {
  std::string out;
  if (!source.empty()) {
    out += source;
    if (line > 0) {
      out += ":" + std::to_string(line);
      if (column > 0) {
        out += ":" + std::to_string(column);
      }
    }
    out += ": ";
  }
  if (!field_path.empty()) {
    out += field_path;
    out += ": ";
  }
  out += reason;
  return out;
}

std::string formatErrors(const ConfigErrors& errors) {
  std::string out;
  for (const ConfigError& error : errors) {
    if (!out.empty()) {
      out += '\n';
    }
    out += error.toString();
  }
  return out;
}

}  // namespace weft::config
