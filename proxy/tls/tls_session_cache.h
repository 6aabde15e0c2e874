#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <unordered_map>

namespace weft::proxy {

// One worker's client-side TLS sessions, for resumption: a new upstream connection to an
// endpoint it spoke to before offers the last session ticket it got there and skips the
// certificate exchange and signatures (TLS 1.3 PSK resumption). The cache belongs to the worker,
// not to a snapshot, so a config change (which empties the connection pools) does not cost a
// full handshake per endpoint.
//
// Keys combine the endpoint, the identity expected there and the TLS settings' fingerprint: a
// change of certificate or trust bundle starts over with full handshakes. Bounded: when full,
// it starts over too.
class TlsSessionCache {
 public:
  static constexpr size_t kMaxEntries = 4096;

  TlsSessionCache() = default;
  TlsSessionCache(const TlsSessionCache&) = delete;
  TlsSessionCache& operator=(const TlsSessionCache&) = delete;

  // Offers the session stored under `key` on `ssl` (before its handshake) and arranges for the
  // tickets `ssl` receives to be stored under `key`. The context of `ssl` must have been set up
  // with enableClientSessionCallbacks.
  void prepare(SSL& ssl, uint64_t key);

  size_t size() const { return slots_.size(); }

  // Installs the new-session callback on a client context (once, when it is built).
  static void enableClientSessionCallbacks(SSL_CTX& context);

  // The slot a connection fills: shared with the connection's SSL, which may receive a ticket
  // after the cache dropped the slot.
  struct Slot {
    ~Slot();
    SSL_SESSION* session = nullptr;
  };

 private:
  std::unordered_map<uint64_t, std::shared_ptr<Slot>> slots_;
};

}  // namespace weft::proxy
