#pragma once

#include <sys/stat.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "controlplane/ca/caller_authenticator.h"
#include "controlplane/ca/token_file.h"

namespace weft::controlplane::ca {

// Local mode's caller authentication: the bootstrap token file (token_file.h) shared with the
// proxies, which maps each token to a Kubernetes username exactly as a TokenReview would.
//
// The file is stat()ed on every call and read again when its identity, size or times changed,
// so adding a workload or revoking a token takes effect on the next call without a signal;
// replacing the file by rename (as a Kubernetes Secret volume does) is always noticed. A file
// that can no longer be read refuses every call (UNAVAILABLE) rather than trusting tokens from
// a version that may have been revoked.
class TokenFileAuthenticator final : public CallerAuthenticator {
 public:
  explicit TokenFileAuthenticator(std::string path);

  // Reads the file for the first time; an error text when it cannot be read (start-up fails on
  // it, so a typo in the flag is found at once). Lines it skips are logged.
  std::string load();

  Decision<WorkloadIdentity> authenticate(std::string_view token) override;

  // How many tokens the current version of the file holds (after skipping bad lines).
  size_t tokenCount() const;

 private:
  // What tells two versions of the file apart without reading it.
  struct FileStamp {
    dev_t device = 0;
    ino_t inode = 0;
    off_t size = 0;
    timespec modified{};
    timespec changed{};
    bool operator==(const FileStamp& other) const;
  };

  // Re-reads the file if its stamp changed; an error text if it cannot be read. Holds mutex_.
  std::string refreshLocked();

  const std::string path_;
  mutable std::mutex mutex_;
  bool loaded_ = false;
  FileStamp stamp_;
  std::shared_ptr<const std::vector<StaticToken>> tokens_;
};

}  // namespace weft::controlplane::ca
