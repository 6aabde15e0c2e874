#include "controlplane/ca/directory_ca_storage.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/log/logger.h"

namespace weft::controlplane::ca {

namespace {

spdlog::logger& caLog() {
  static spdlog::logger& logger = weft::log::logger("ca");
  return logger;
}

// PEM files of a CA are a few kilobytes; a bundle of many roots stays far below this.
constexpr off_t kMaxFileBytes = 1 << 20;

std::string errnoText() {
  return std::strerror(errno);
}

// Closes a file descriptor on every path out.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }
  // Closes now, reporting the error close() may carry for a written file.
  bool close() {
    const int fd = fd_;
    fd_ = -1;
    return ::close(fd) == 0;
  }

 private:
  int fd_;
};

bool writeAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t written = ::write(fd, data.data(), data.size());
    if (written < 0) {
      if (errno == EINTR) {
        continue;
      }
      return false;
    }
    data.remove_prefix(static_cast<size_t>(written));
  }
  return true;
}

// Moves `from` to `to` unless `to` exists. RENAME_NOREPLACE makes the check and the move one
// step; on a filesystem without it, link() is the same no-replace operation.
bool renameNoReplace(const std::string& from, const std::string& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) {
    return true;
  }
  if (errno != EINVAL && errno != ENOSYS) {
    return false;
  }
  if (::link(from.c_str(), to.c_str()) != 0) {
    return false;
  }
  ::unlink(from.c_str());
  return true;
}

// Writes `contents` to `path` with permissions `mode`: temporary file, fsync, rename without
// replacing, fsync of the directory, so the file appears complete or not at all and survives a
// crash once this returns.
std::string writeNewFile(const std::string& directory, const std::string& path,
                         std::string_view contents, mode_t mode) {
  const std::string temporary = path + ".tmp." + std::to_string(::getpid());
  FileDescriptor file(
      ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode));
  if (file.get() < 0) {
    return "cannot create " + temporary + ": " + errnoText();
  }
  // open() applies the umask; the mode must be exactly this whatever the umask is.
  bool written =
      ::fchmod(file.get(), mode) == 0 && writeAll(file.get(), contents) && ::fsync(file.get()) == 0;
  const std::string write_error = written ? std::string() : errnoText();
  if (!file.close() && written) {
    written = false;
  }
  if (!written) {
    ::unlink(temporary.c_str());
    return "cannot write " + temporary + ": " + (write_error.empty() ? errnoText() : write_error);
  }
  if (!renameNoReplace(temporary, path)) {
    const std::string error = errno == EEXIST ? "it exists already" : errnoText();
    ::unlink(temporary.c_str());
    return "cannot move " + temporary + " to " + path + ": " + error;
  }
  FileDescriptor dir(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0 || ::fsync(dir.get()) != 0) {
    return "cannot sync directory " + directory + ": " + errnoText();
  }
  return {};
}

}  // namespace

DirectoryCaStorage::DirectoryCaStorage(std::string directory) : directory_(std::move(directory)) {
  while (directory_.size() > 1 && directory_.back() == '/') {
    directory_.pop_back();
  }
}

std::string DirectoryCaStorage::location() const {
  return "directory " + directory_;
}

std::string DirectoryCaStorage::pathOf(const char* file) const {
  return directory_ + "/" + file;
}

tls::Result<std::optional<std::string>> DirectoryCaStorage::readOptional(const char* file) const {
  const std::string path = pathOf(file);
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) {
      return std::optional<std::string>();
    }
    return tls::Error{"cannot open " + path + ": " + errnoText()};
  }
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) {
    return tls::Error{"cannot stat " + path + ": " + errnoText()};
  }
  if (!S_ISREG(info.st_mode)) {
    return tls::Error{path + " is not a regular file"};
  }
  if (info.st_size > kMaxFileBytes) {
    return tls::Error{path + " is larger than " + std::to_string(kMaxFileBytes) + " bytes"};
  }
  std::string text;
  char buffer[8192];
  while (true) {
    const ssize_t got = ::read(fd.get(), buffer, sizeof(buffer));
    if (got < 0) {
      if (errno == EINTR) {
        continue;
      }
      return tls::Error{"cannot read " + path + ": " + errnoText()};
    }
    if (got == 0) {
      break;
    }
    text.append(buffer, static_cast<size_t>(got));
    if (text.size() > static_cast<size_t>(kMaxFileBytes)) {
      return tls::Error{path + " is larger than " + std::to_string(kMaxFileBytes) + " bytes"};
    }
  }
  if (file == std::string_view(kSigningKeyFile) && (info.st_mode & 077) != 0) {
    caLog().warn("{} is readable by group or others (mode {:o}); it should be 0600", path,
                 info.st_mode & 0777);
  }
  return std::optional<std::string>(std::move(text));
}

tls::Result<CaFiles> DirectoryCaStorage::load() {
  CaFiles files;
  const std::pair<const char*, std::string*> entries[] = {
      {kSigningCertFile, &files.signing_cert}, {kSigningKeyFile, &files.signing_key},
      {kRootCertFile, &files.root_cert},       {kCertChainFile, &files.cert_chain},
      {kExtraRootsFile, &files.extra_roots},
  };
  bool has_cert = false;
  bool has_key = false;
  for (const auto& [name, target] : entries) {
    auto text = readOptional(name);
    if (!text) {
      return tls::Error{text.error()};
    }
    if (!text->has_value()) {
      continue;
    }
    has_cert = has_cert || target == &files.signing_cert;
    has_key = has_key || target == &files.signing_key;
    *target = std::move(**text);
  }
  if (has_cert != has_key) {
    return tls::Error{"CA directory " + directory_ + " has " +
                      (has_cert ? kSigningCertFile : kSigningKeyFile) + " but no " +
                      (has_cert ? kSigningKeyFile : kSigningCertFile) +
                      ": both are needed (or neither, to generate a new root)"};
  }
  if (!has_cert && (!files.root_cert.empty() || !files.cert_chain.empty())) {
    return tls::Error{"CA directory " + directory_ + " has " + kRootCertFile + " or " +
                      kCertChainFile + " but no " + kSigningCertFile + " and " + kSigningKeyFile +
                      " to sign with"};
  }
  return files;
}

std::string DirectoryCaStorage::storeGeneratedRoot(std::string_view cert_pem,
                                                   std::string_view key_pem) {
  if (::mkdir(directory_.c_str(), 0700) != 0 && errno != EEXIST) {
    return "cannot create CA directory " + directory_ + ": " + errnoText();
  }
  // The key first: a certificate without its key would be unusable, whereas a key left alone
  // by a crash is reported at the next start and can simply be removed.
  if (std::string error = writeNewFile(directory_, pathOf(kSigningKeyFile), key_pem, 0600);
      !error.empty()) {
    return error;
  }
  return writeNewFile(directory_, pathOf(kSigningCertFile), cert_pem, 0644);
}

}  // namespace weft::controlplane::ca
