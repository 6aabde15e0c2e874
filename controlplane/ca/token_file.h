#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace weft::controlplane::ca {

// A token's SHA-256. Tokens are kept and compared only as digests: comparing fixed-size digests
// with CRYPTO_memcmp takes the same time whatever the presented token is, so response timing
// reveals nothing about how close a guess came, and no plaintext token stays in memory.
using TokenDigest = std::array<unsigned char, 32>;

TokenDigest tokenDigest(std::string_view token);

// One line of a static token file.
struct StaticToken {
  TokenDigest digest;
  // The Kubernetes username, e.g. "system:serviceaccount:default:reviews".
  std::string username;
  // 1-based, for messages.
  size_t line = 0;
};

struct TokenFileContents {
  std::vector<StaticToken> tokens;
  // Lines that were skipped and why, e.g. "line 4: expected at least 3 fields (token,user,uid),
  // found 2". Never quotes a token.
  std::vector<std::string> problems;
};

// Parses the Kubernetes API server's static token file format (--token-auth-file): CSV records
// "token,user,uid[,\"group1,group2\"]", fields optionally double-quoted with "" for a quote
// inside, as Go's encoding/csv reads them. Blank lines and lines starting with '#' are skipped.
//
// Unlike kube-apiserver, which refuses the whole file, a malformed line is skipped and reported
// in `problems`: one mistyped line should not lock every other workload out of the CA. A token
// that appears on two lines is dropped from both, since it would be unclear whom it names.
TokenFileContents parseTokenFile(std::string_view text);

}  // namespace weft::controlplane::ca
