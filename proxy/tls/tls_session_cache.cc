#include "proxy/tls/tls_session_cache.h"

namespace weft::proxy {

namespace {

using SlotRef = std::shared_ptr<TlsSessionCache::Slot>;

void freeSlotRef(void* /*parent*/, void* pointer, CRYPTO_EX_DATA* /*data*/, int /*index*/,
                 long /*argl*/, void* /*argp*/) {
  delete static_cast<SlotRef*>(pointer);
}

// Per SSL: a heap SlotRef, released with the SSL.
int slotIndex() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, &freeSlotRef);
  return index;
}

int storeNewSession(SSL* ssl, SSL_SESSION* session) {
  auto* slot = static_cast<SlotRef*>(SSL_get_ex_data(ssl, slotIndex()));
  if (slot == nullptr || !SSL_SESSION_is_resumable(session)) {
    return 0;  // not kept: OpenSSL frees it
  }
  // A copy: `session` is the connection's own, which OpenSSL marks not resumable when the
  // connection ends without close_notify (as pooled upstream connections often do).
  SSL_SESSION* copy = SSL_SESSION_dup(session);
  if (copy == nullptr) {
    return 0;
  }
  if ((*slot)->session != nullptr) {
    SSL_SESSION_free((*slot)->session);
  }
  (*slot)->session = copy;
  return 0;  // the original stays OpenSSL's
}

}  // namespace

TlsSessionCache::Slot::~Slot() {
  if (session != nullptr) {
    SSL_SESSION_free(session);
  }
}

void TlsSessionCache::enableClientSessionCallbacks(SSL_CTX& context) {
  SSL_CTX_set_session_cache_mode(&context,
                                 SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(&context, &storeNewSession);
}

void TlsSessionCache::prepare(SSL& ssl, uint64_t key) {
  auto it = slots_.find(key);
  if (it == slots_.end()) {
    if (slots_.size() >= kMaxEntries) {
      slots_.clear();
    }
    it = slots_.emplace(key, std::make_shared<Slot>()).first;
  }
  if (it->second->session != nullptr) {
    SSL_set_session(&ssl, it->second->session);  // takes its own reference
  }
  auto* ref = new SlotRef(it->second);
  if (SSL_set_ex_data(&ssl, slotIndex(), ref) != 1) {
    delete ref;
  }
}

}  // namespace weft::proxy
