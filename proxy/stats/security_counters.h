#pragma once

#include <atomic>
#include <cstdint>

namespace weft::proxy {

// The security counters' values at one instant, as the admin server's /stats/prometheus shows
// them (the weft_proxy_*_total counters of docs/security.md, "Counters").
struct SecurityCounterValues {
  uint64_t tls_handshake_failures = 0;
  uint64_t tls_plaintext_refused = 0;
  uint64_t tls_unavailable = 0;
  uint64_t upstream_tls_failures = 0;
  uint64_t authz_denied = 0;
  uint64_t authz_audit = 0;
  uint64_t authz_dry_run = 0;
};

// Process-wide counts of what the proxy's security layers refused or recorded, so that no
// reject goes uncounted. Incremented with relaxed atomics from any worker (one uncontended
// add per rejected connection or request: never on the path of an allowed request); read
// by the admin server's /stats/prometheus at scrape time.
struct SecurityCounters {
  std::atomic<uint64_t> tls_handshake_failures{0};  // downstream handshakes that failed
  std::atomic<uint64_t> tls_plaintext_refused{0};   // plaintext on a STRICT chain
  std::atomic<uint64_t> tls_unavailable{0};         // TLS refused: a secret is missing
  std::atomic<uint64_t> upstream_tls_failures{0};   // upstream handshakes or identity checks
  std::atomic<uint64_t> authz_denied{0};            // requests and connections denied
  std::atomic<uint64_t> authz_audit{0};             // AUDIT policy matches
  std::atomic<uint64_t> authz_dry_run{0};           // dry-run outcomes that would differ

  // Each counter read on its own (relaxed): not one consistent cut across them, which
  // independent monotonic counters do not need.
  SecurityCounterValues load() const {
    constexpr auto kRelaxed = std::memory_order_relaxed;
    return SecurityCounterValues{
        .tls_handshake_failures = tls_handshake_failures.load(kRelaxed),
        .tls_plaintext_refused = tls_plaintext_refused.load(kRelaxed),
        .tls_unavailable = tls_unavailable.load(kRelaxed),
        .upstream_tls_failures = upstream_tls_failures.load(kRelaxed),
        .authz_denied = authz_denied.load(kRelaxed),
        .authz_audit = authz_audit.load(kRelaxed),
        .authz_dry_run = authz_dry_run.load(kRelaxed),
    };
  }
};

SecurityCounters& securityCounters();

inline void count(std::atomic<uint64_t>& counter) {
  counter.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace weft::proxy
