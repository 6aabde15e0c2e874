#include "proxy/tls/mesh_identity.h"

#include <openssl/x509v3.h>

#include <memory>

#include "common/tls/certificate.h"

namespace weft::proxy {

namespace {

constexpr std::string_view kSpiffeScheme = "spiffe://";

void freeSettings(void* /*parent*/, void* pointer, CRYPTO_EX_DATA* /*data*/, int /*index*/,
                  long /*argl*/, void* /*argp*/) {
  delete static_cast<MeshContextSettings*>(pointer);
}

int settingsIndex() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, &freeSettings);
  return index;
}

// Per connection: the reason our checks refused the peer (a static string).
int failureIndex() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

const MeshContextSettings* settingsOf(const SSL& ssl) {
  return static_cast<const MeshContextSettings*>(
      SSL_CTX_get_ex_data(SSL_get_SSL_CTX(&ssl), settingsIndex()));
}

int verifyPeer(int preverified, X509_STORE_CTX* store) {
  if (preverified != 1 || X509_STORE_CTX_get_error_depth(store) != 0) {
    return preverified;
  }
  auto* ssl =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  X509* leaf = X509_STORE_CTX_get_current_cert(store);
  const MeshContextSettings* settings = ssl != nullptr ? settingsOf(*ssl) : nullptr;
  if (settings == nullptr || leaf == nullptr || !settings->mesh_leaf_checks) {
    return preverified;
  }
  if (const char* problem = meshLeafProblem(*leaf, settings->trust_domain)) {
    SSL_set_ex_data(ssl, failureIndex(), const_cast<char*>(problem));
    X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
    return 0;
  }
  return 1;
}

int selectAlpn(SSL* ssl, const unsigned char** out, unsigned char* out_length,
               const unsigned char* offered, unsigned int offered_length, void* /*arg*/) {
  const MeshContextSettings* settings = settingsOf(*ssl);
  if (settings == nullptr || settings->alpn_wire.empty()) {
    return SSL_TLSEXT_ERR_NOACK;
  }
  // Our preference order: the first accepted id the client also offers.
  unsigned char* selected = nullptr;
  const auto* ours = reinterpret_cast<const unsigned char*>(settings->alpn_wire.data());
  if (SSL_select_next_proto(&selected, out_length, ours,
                            static_cast<unsigned int>(settings->alpn_wire.size()), offered,
                            offered_length) != OPENSSL_NPN_NEGOTIATED) {
    // Only protocols we do not speak: fail the handshake (RFC 7301 section 3.2).
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace

const char* meshLeafProblem(X509& leaf, std::string_view trust_domain) {
  if ((X509_get_extension_flags(&leaf) & EXFLAG_CA) != 0) {
    return "peer certificate is a CA certificate";
  }
  auto uris = weft::tls::uriSans(leaf);
  if (!uris) {
    return "peer certificate has a malformed subjectAltName";
  }
  if (uris->empty()) {
    return "peer certificate has no URI SAN (no SPIFFE id)";
  }
  if (uris->size() > 1) {
    return "peer certificate has more than one URI SAN";
  }
  const std::string_view id = uris->front();
  if (id.substr(0, kSpiffeScheme.size()) != kSpiffeScheme) {
    return "peer certificate's URI SAN is not a spiffe:// id";
  }
  if (!trust_domain.empty()) {
    const std::string_view rest = id.substr(kSpiffeScheme.size());
    const size_t slash = rest.find('/');
    if (rest.substr(0, slash) != trust_domain) {
      return "peer certificate's SPIFFE id is in another trust domain";
    }
  }
  return nullptr;
}

std::string peerPrincipal(const SSL& ssl) {
  X509* peer = SSL_get0_peer_certificate(&ssl);
  if (peer == nullptr || SSL_get_verify_result(&ssl) != X509_V_OK) {
    return {};
  }
  auto uris = weft::tls::uriSans(*peer);
  if (!uris || uris->size() != 1 ||
      std::string_view(uris->front()).substr(0, kSpiffeScheme.size()) != kSpiffeScheme) {
    return {};
  }
  return std::move(uris->front());
}

bool attachMeshSettings(SSL_CTX& context, MeshContextSettings settings) {
  auto owned = std::make_unique<MeshContextSettings>(std::move(settings));
  const bool with_alpn = !owned->alpn_wire.empty();
  if (SSL_CTX_set_ex_data(&context, settingsIndex(), owned.get()) != 1) {
    return false;
  }
  owned.release();  // freed with the context (freeSettings)
  SSL_CTX_set_verify(&context, SSL_CTX_get_verify_mode(&context), &verifyPeer);
  if (with_alpn) {
    SSL_CTX_set_alpn_select_cb(&context, &selectAlpn, nullptr);
  }
  return true;
}

const char* meshVerifyFailure(const SSL& ssl) {
  return static_cast<const char*>(SSL_get_ex_data(&ssl, failureIndex()));
}

}  // namespace weft::proxy
