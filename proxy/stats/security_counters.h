#pragma once

#include <atomic>
#include <cstdint>

namespace weft::proxy {

// Process-wide counts of what the proxy's security layers refused or recorded, so that no
// reject goes uncounted. Incremented with relaxed atomics from any worker (one uncontended
// add per rejected connection or request: never on the path of an allowed request); read
// by the admin server's /stats.
struct SecurityCounters {
  std::atomic<uint64_t> tls_handshake_failures{0};  // downstream handshakes that failed
  std::atomic<uint64_t> tls_plaintext_refused{0};   // plaintext on a STRICT chain
  std::atomic<uint64_t> tls_unavailable{0};         // TLS refused: a secret is missing
  std::atomic<uint64_t> upstream_tls_failures{0};   // upstream handshakes or identity checks
  std::atomic<uint64_t> authz_denied{0};            // requests and connections denied
  std::atomic<uint64_t> authz_audit{0};             // AUDIT policy matches
  std::atomic<uint64_t> authz_dry_run{0};           // dry-run outcomes that would differ
};

SecurityCounters& securityCounters();

inline void count(std::atomic<uint64_t>& counter) {
  counter.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace weft::proxy
