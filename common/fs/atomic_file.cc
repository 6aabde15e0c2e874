#include "common/fs/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace weft::fs {
namespace {

std::string systemError(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

}  // namespace

std::string replaceFileAtomically(const std::string& path, std::string_view contents, mode_t mode) {
  const std::string temporary = path + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) {
    return systemError("cannot create", temporary);
  }
  // O_CREAT applies the umask, and an existing temporary file keeps its old mode.
  if (::fchmod(fd, mode) != 0) {
    std::string error = systemError("cannot set the permissions of", temporary);
    ::close(fd);
    ::unlink(temporary.c_str());
    return error;
  }
  size_t written = 0;
  while (written < contents.size()) {
    const ssize_t n = ::write(fd, contents.data() + written, contents.size() - written);
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

}  // namespace weft::fs
