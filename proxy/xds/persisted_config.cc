#include "proxy/xds/persisted_config.h"

#include <fcntl.h>
#include <google/protobuf/util/time_util.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "common/config/proto_validator.h"
#include "common/fs/atomic_file.h"

namespace weft::proxy::xds {

namespace fs = weft::fs;

namespace {

// The largest file accepted: a persisted mesh configuration is far smaller; anything bigger is
// not ours.
constexpr std::streamsize kMaxFileBytes = 256 * 1024 * 1024;

std::string systemError(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

}  // namespace

std::string writePersistedResources(const std::string& path,
                                    const weft::v1::PersistedResources& resources) {
  std::string bytes;
  if (!resources.SerializeToString(&bytes)) {
    return "cannot serialize the configuration";
  }
  return fs::replaceFileAtomically(path, bytes, 0600);
}

std::string readPersistedResources(const std::string& path, std::chrono::seconds max_age,
                                   weft::v1::PersistedResources& resources) {
  std::ifstream file(path, std::ios::binary | std::ios::ate);
  if (!file) {
    return systemError("cannot open", path);
  }
  const std::streamsize size = file.tellg();
  if (size < 0 || size > kMaxFileBytes) {
    return path + " is larger than " + std::to_string(kMaxFileBytes) + " bytes";
  }
  std::string bytes(static_cast<size_t>(size), '\0');
  file.seekg(0);
  if (!file.read(bytes.data(), size)) {
    return systemError("cannot read", path);
  }
  if (!resources.ParseFromString(bytes)) {
    return path + " is not a persisted Weft configuration";
  }
  if (config::ConfigErrors errors = config::validateMessage(resources, path); !errors.empty()) {
    return errors.front().toString();
  }
  using google::protobuf::util::TimeUtil;
  const auto age = TimeUtil::GetCurrentTime() - resources.written_at();
  if (age > TimeUtil::SecondsToDuration(max_age.count())) {
    return path + " was written " + std::to_string(TimeUtil::DurationToSeconds(age)) +
           " s ago, more than max_age (" + std::to_string(max_age.count()) + " s)";
  }
  return {};
}

}  // namespace weft::proxy::xds
