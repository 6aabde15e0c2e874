#include "proxy/server/bootstrap_source.h"

#include <cstdlib>

#include "common/config/yaml_to_proto.h"

namespace weft::proxy {

config::ConfigErrors BootstrapSource::read(std::string& text) const {
  if (!fromEnvironment()) {
    return config::readConfigFile(file_path, text);
  }
  const char* value = std::getenv(env_variable.c_str());
  if (value == nullptr) {
    return {config::ConfigError{
        name(), "", 0, 0,
        "the environment variable " + env_variable + " (--config-env) is not set"}};
  }
  const std::string_view bootstrap(value);
  if (bootstrap.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return {config::ConfigError{
        name(), "", 0, 0, "the environment variable " + env_variable + " (--config-env) is empty"}};
  }
  if (const size_t limit = config::YamlLimits{}.max_document_bytes; bootstrap.size() > limit) {
    return {config::ConfigError{name(), "", 0, 0,
                                "the environment variable " + env_variable + " holds " +
                                    std::to_string(bootstrap.size()) +
                                    " bytes, more than the limit of " + std::to_string(limit)}};
  }
  text.assign(bootstrap);
  return {};
}

}  // namespace weft::proxy
