#include "proxy/xds/persisted_config.h"

#include <fcntl.h>
#include <google/protobuf/util/time_util.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "common/config/proto_validator.h"

namespace weft::proxy::xds {

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
  const std::string temporary = path + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return systemError("cannot create", temporary);
  }
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      std::string error = systemError("cannot write", temporary);
      ::close(fd);
      ::unlink(temporary.c_str());
      return error;
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    std::string error = systemError("cannot flush", temporary);
    ::unlink(temporary.c_str());
    return error;
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    std::string error = systemError("cannot rename " + temporary + " to", path);
    ::unlink(temporary.c_str());
    return error;
  }
  return {};
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
