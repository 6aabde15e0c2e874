#include "controlplane/ca/token_file_authenticator.h"

#include <openssl/crypto.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/log/logger.h"

namespace weft::controlplane::ca {

namespace {

spdlog::logger& caLog() {
  static spdlog::logger& logger = weft::log::logger("ca");
  return logger;
}

// A token file lists workloads, a few hundred bytes each; anything near this is not one.
constexpr off_t kMaxTokenFileBytes = 4 << 20;

bool sameTime(const timespec& a, const timespec& b) {
  return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

}  // namespace

bool TokenFileAuthenticator::FileStamp::operator==(const FileStamp& other) const {
  return device == other.device && inode == other.inode && size == other.size &&
         sameTime(modified, other.modified) && sameTime(changed, other.changed);
}

TokenFileAuthenticator::TokenFileAuthenticator(std::string path) : path_(std::move(path)) {}

std::string TokenFileAuthenticator::load() {
  std::lock_guard lock(mutex_);
  return refreshLocked();
}

size_t TokenFileAuthenticator::tokenCount() const {
  std::lock_guard lock(mutex_);
  return tokens_ ? tokens_->size() : 0;
}

std::string TokenFileAuthenticator::refreshLocked() {
  struct stat info {};
  if (::stat(path_.c_str(), &info) != 0) {
    return "cannot stat bootstrap token file " + path_ + ": " + std::strerror(errno);
  }
  const FileStamp stamp{info.st_dev, info.st_ino, info.st_size, info.st_mtim, info.st_ctim};
  if (loaded_ && stamp == stamp_) {
    return {};
  }
  if (!S_ISREG(info.st_mode)) {
    return "bootstrap token file " + path_ + " is not a regular file";
  }
  if (info.st_size > kMaxTokenFileBytes) {
    return "bootstrap token file " + path_ + " is larger than " +
           std::to_string(kMaxTokenFileBytes) + " bytes";
  }
  std::ifstream file(path_, std::ios::binary);
  std::stringstream text;
  text << file.rdbuf();
  if (!file) {
    return "cannot read bootstrap token file " + path_ + ": " + std::strerror(errno);
  }
  TokenFileContents contents = parseTokenFile(text.str());
  for (const std::string& problem : contents.problems) {
    caLog().warn("bootstrap token file {}: {} (line skipped)", path_, problem);
  }
  caLog().info("bootstrap token file {}: {} token(s)", path_, contents.tokens.size());
  tokens_ = std::make_shared<const std::vector<StaticToken>>(std::move(contents.tokens));
  // The stamp from before the read: if the file changed while it was read, the next call
  // sees a different stamp and reads it again.
  stamp_ = stamp;
  loaded_ = true;
  return {};
}

Decision<WorkloadIdentity> TokenFileAuthenticator::authenticate(std::string_view token) {
  std::shared_ptr<const std::vector<StaticToken>> tokens;
  {
    std::lock_guard lock(mutex_);
    if (std::string error = refreshLocked(); !error.empty()) {
      return Rejection{RejectReason::kCredentialsUnavailable, error};
    }
    tokens = tokens_;
  }
  const TokenDigest presented = tokenDigest(token);
  // Every entry is compared, without stopping at a match, so the time taken does not say which
  // line (or whether any) matched.
  const StaticToken* match = nullptr;
  for (const StaticToken& entry : *tokens) {
    const bool equal = CRYPTO_memcmp(entry.digest.data(), presented.data(), presented.size()) == 0;
    if (equal) {
      match = &entry;
    }
  }
  if (match == nullptr) {
    return Rejection{RejectReason::kUnknownToken,
                     "the bearer token is not in the bootstrap "
                     "token file"};
  }
  std::optional<WorkloadIdentity> identity = serviceAccountFromUsername(match->username);
  if (!identity) {
    return Rejection{RejectReason::kNotServiceAccount,
                     "the bearer token (bootstrap token file line " + std::to_string(match->line) +
                         ") belongs to user \"" + match->username +
                         "\", not to a service account (system:serviceaccount:<namespace>:<name>)"};
  }
  return *identity;
}

}  // namespace weft::controlplane::ca
