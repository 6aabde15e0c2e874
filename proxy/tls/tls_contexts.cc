#include "proxy/tls/tls_contexts.h"

#include <openssl/ssl.h>

#include <span>

#include "common/tls/certificate.h"
#include "common/tls/openssl_error.h"
#include "proxy/tls/mesh_identity.h"
#include "proxy/tls/tls_material.h"
#include "proxy/tls/tls_session_cache.h"

namespace weft::proxy {

namespace {

using weft::tls::Error;
using weft::tls::Result;

std::chrono::milliseconds toMillis(const google::protobuf::Duration& duration) {
  return std::chrono::milliseconds(duration.seconds() * 1000 + duration.nanos() / 1'000'000);
}

int minimumVersion(weft::v1::TlsVersion version) {
  return version == weft::v1::TLS_V1_3 ? TLS1_3_VERSION : TLS1_2_VERSION;
}

// Settings every context shares: versions, and for TLS 1.3 only (the mesh) P-256 key exchange
// and ECDSA P-256 signatures, the one suite of algorithms mesh identities use.
Result<weft::tls::SslCtxPtr> newContext(const SSL_METHOD* method, weft::v1::TlsVersion minimum) {
  weft::tls::SslCtxPtr context(SSL_CTX_new(method));
  if (!context) {
    return Error{"cannot create a TLS context: " + weft::tls::opensslErrors()};
  }
  SSL_CTX_set_min_proto_version(context.get(), minimumVersion(minimum));
  SSL_CTX_set_max_proto_version(context.get(), TLS1_3_VERSION);
  const bool tls13_only = minimum == weft::v1::TLS_V1_3;
  if (SSL_CTX_set1_groups_list(context.get(), tls13_only ? "P-256" : "P-256:X25519:P-384") != 1 ||
      (tls13_only && SSL_CTX_set1_sigalgs_list(context.get(), "ECDSA+SHA256") != 1)) {
    return Error{"cannot configure TLS algorithms: " + weft::tls::opensslErrors()};
  }
  // No renegotiation (TLS 1.2) and no compression; the application layers run their own
  // keep-alive, so TLS never needs to hold a record back.
  SSL_CTX_set_options(context.get(), SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                                         SSL_OP_CIPHER_SERVER_PREFERENCE);
  return context;
}

// Secret `name` as a certificate; `field` names the config field for errors.
Result<CertificateMaterial> certificateSecret(const SecretLookup& secrets, std::string_view name,
                                              const std::string& field, std::string& missing) {
  const weft::v1::Secret* secret = secrets(name);
  if (secret == nullptr) {
    missing = "secret \"" + std::string(name) + "\" is not available yet";
    return Error{};
  }
  if (!secret->has_tls_certificate()) {
    return Error{field + ": secret \"" + std::string(name) + "\" holds no tls_certificate"};
  }
  auto material = loadCertificateMaterial(secret->tls_certificate());
  if (!material) {
    return Error{field + ": secret \"" + std::string(name) + "\": " + material.error()};
  }
  return material;
}

Result<TrustMaterial> trustSecret(const SecretLookup& secrets, std::string_view name,
                                  const std::string& field, std::string& missing) {
  const weft::v1::Secret* secret = secrets(name);
  if (secret == nullptr) {
    missing = "secret \"" + std::string(name) + "\" is not available yet";
    return Error{};
  }
  if (!secret->has_validation_context()) {
    return Error{field + ": secret \"" + std::string(name) + "\" holds no validation_context"};
  }
  auto material = loadTrustMaterial(secret->validation_context());
  if (!material) {
    return Error{field + ": secret \"" + std::string(name) + "\": " + material.error()};
  }
  return material;
}

Result<bool> useCertificate(SSL_CTX& context, const CertificateMaterial& material,
                            const std::string& field) {
  if (SSL_CTX_use_certificate(&context, material.chain.front().get()) != 1 ||
      SSL_CTX_use_PrivateKey(&context, material.key.get()) != 1) {
    return Error{field + ": the certificate cannot be used: " + weft::tls::opensslErrors()};
  }
  for (size_t i = 1; i < material.chain.size(); ++i) {
    if (SSL_CTX_add1_chain_cert(&context, material.chain[i].get()) != 1) {
      return Error{field + ": the certificate chain cannot be used: " + weft::tls::opensslErrors()};
    }
  }
  return true;
}

Result<bool> trustRoots(SSL_CTX& context, const TrustMaterial& material, const std::string& field) {
  X509_STORE* store = SSL_CTX_get_cert_store(&context);
  for (const auto& root : material.roots) {
    if (X509_STORE_add_cert(store, root.get()) != 1) {
      const std::string errors = weft::tls::opensslErrors();
      // The same root twice (a bundle listing it again) is harmless.
      if (errors.find("already in hash table") == std::string::npos) {
        return Error{field + ": a trusted root cannot be used: " + errors};
      }
    }
  }
  return true;
}

// FNV-1a over the DER encoding of each certificate.
void addToFingerprint(uint64_t& fingerprint, std::span<const weft::tls::X509Ptr> certificates) {
  for (const auto& certificate : certificates) {
    unsigned char* der = nullptr;
    const int length = i2d_X509(certificate.get(), &der);
    for (int i = 0; i < length; ++i) {
      fingerprint = (fingerprint ^ der[i]) * 1099511628211ULL;
    }
    OPENSSL_free(der);
  }
}

}  // namespace

std::string alpnWireFormat(const std::vector<std::string>& ids) {
  std::string wire;
  for (const std::string& id : ids) {
    if (id.empty() || id.size() > 255) {
      continue;  // the API limits ids to 1..255 bytes
    }
    wire.push_back(static_cast<char>(id.size()));
    wire.append(id);
  }
  return wire;
}

Result<std::unique_ptr<DownstreamTlsConfig>> buildDownstreamTls(
    const weft::v1::DownstreamTls& tls, const std::vector<std::string>& default_alpn,
    const SecretLookup& secrets) {
  auto config = std::make_unique<DownstreamTlsConfig>();
  config->mode = tls.mode() == weft::v1::DownstreamTls::PERMISSIVE
                     ? DownstreamTlsConfig::Mode::kPermissive
                     : DownstreamTlsConfig::Mode::kStrict;
  config->require_client_certificate =
      !tls.has_require_client_certificate() || tls.require_client_certificate().value();
  if (tls.has_handshake_timeout()) {
    config->handshake_timeout = toMillis(tls.handshake_timeout());
  }
  const std::string certificate_name =
      tls.certificate_secret().empty() ? std::string(kIdentitySecret) : tls.certificate_secret();
  const std::string validation_name =
      tls.validation_secret().empty() ? std::string(kTrustBundleSecret) : tls.validation_secret();

  auto certificate =
      certificateSecret(secrets, certificate_name, "certificate_secret", config->unavailable);
  if (!certificate) {
    if (!config->unavailable.empty()) {
      return config;
    }
    return Error{certificate.error()};
  }
  // Client certificates are verified whenever they are sent, so the roots are needed even
  // when they are not required.
  auto trust = trustSecret(secrets, validation_name, "validation_secret", config->unavailable);
  if (!trust) {
    if (!config->unavailable.empty()) {
      return config;
    }
    return Error{trust.error()};
  }
  auto context = newContext(TLS_server_method(), tls.min_version());
  if (!context) {
    return Error{context.error()};
  }
  SSL_CTX& ctx = **context;
  if (auto used = useCertificate(ctx, *certificate, "certificate_secret"); !used) {
    return Error{used.error()};
  }
  if (auto trusted = trustRoots(ctx, *trust, "validation_secret"); !trusted) {
    return Error{trusted.error()};
  }
  int verify_mode = SSL_VERIFY_PEER;
  if (config->require_client_certificate) {
    verify_mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  }
  SSL_CTX_set_verify(&ctx, verify_mode, nullptr);
  // Resumption: stateless tickets (TLS 1.3). One ticket per handshake is enough for a pooled
  // client; the session id context is required once client certificates are verified.
  SSL_CTX_set_num_tickets(&ctx, 1);
  static constexpr unsigned char kSessionContext[] = "weft-inbound";
  SSL_CTX_set_session_id_context(&ctx, kSessionContext, sizeof(kSessionContext) - 1);

  std::vector<std::string> alpn(tls.alpn().begin(), tls.alpn().end());
  if (alpn.empty()) {
    alpn = default_alpn;
  }
  if (!attachMeshSettings(ctx, MeshContextSettings{trust->trust_domain, alpnWireFormat(alpn),
                                                   config->require_client_certificate})) {
    return Error{"out of memory"};
  }
  config->context = std::move(*context);
  return config;
}

Result<std::unique_ptr<UpstreamTlsConfig>> buildUpstreamTls(
    const weft::v1::UpstreamTls& tls, const std::vector<std::string>& protocol_alpn,
    const SecretLookup& secrets) {
  auto config = std::make_unique<UpstreamTlsConfig>();
  config->fingerprint = 14695981039146527037ULL;
  switch (tls.mode()) {
    case weft::v1::UpstreamTls::MUTUAL_MESH:
      config->mode = UpstreamTlsConfig::Mode::kMesh;
      break;
    case weft::v1::UpstreamTls::SIMPLE:
      config->mode = UpstreamTlsConfig::Mode::kSimple;
      break;
    case weft::v1::UpstreamTls::MUTUAL:
      config->mode = UpstreamTlsConfig::Mode::kMutual;
      break;
    default:
      return Error{"mode: DISABLE has no TLS settings"};
  }
  const bool mesh = config->mode == UpstreamTlsConfig::Mode::kMesh;
  config->sni = tls.sni();
  if (tls.match_subject_alt_names_size() > 0) {
    return Error{
        "match_subject_alt_names: is not implemented by this version of weft-proxy yet; "
        "remove it (mesh identities come from the endpoints, other servers are checked "
        "against sni)"};
  }
  if (!mesh && config->sni.empty()) {
    // Without a name there is nothing to check the server's certificate against.
    return Error{
        "sni: required for SIMPLE and MUTUAL: the name the server's certificate must "
        "carry"};
  }
  if (!mesh) {
    std::vector<std::string> alpn(tls.alpn().begin(), tls.alpn().end());
    config->alpn_wire = alpnWireFormat(alpn.empty() ? protocol_alpn : alpn);
    if (tls.validation_secret().empty()) {
      return Error{"validation_secret: required for SIMPLE and MUTUAL"};
    }
    if (config->mode == UpstreamTlsConfig::Mode::kMutual && tls.certificate_secret().empty()) {
      return Error{"certificate_secret: required for MUTUAL"};
    }
  }
  auto context = newContext(TLS_client_method(), mesh ? weft::v1::TLS_V1_3 : tls.min_version());
  if (!context) {
    return Error{context.error()};
  }
  SSL_CTX& ctx = **context;
  if (mesh || config->mode == UpstreamTlsConfig::Mode::kMutual) {
    const std::string name =
        tls.certificate_secret().empty() ? std::string(kIdentitySecret) : tls.certificate_secret();
    auto certificate = certificateSecret(secrets, name, "certificate_secret", config->unavailable);
    if (!certificate) {
      if (!config->unavailable.empty()) {
        return config;
      }
      return Error{certificate.error()};
    }
    if (auto used = useCertificate(ctx, *certificate, "certificate_secret"); !used) {
      return Error{used.error()};
    }
    addToFingerprint(config->fingerprint, certificate->chain);
  }
  const std::string validation_name =
      tls.validation_secret().empty() ? std::string(kTrustBundleSecret) : tls.validation_secret();
  auto trust = trustSecret(secrets, validation_name, "validation_secret", config->unavailable);
  if (!trust) {
    if (!config->unavailable.empty()) {
      return config;
    }
    return Error{trust.error()};
  }
  if (auto trusted = trustRoots(ctx, *trust, "validation_secret"); !trusted) {
    return Error{trusted.error()};
  }
  addToFingerprint(config->fingerprint, trust->roots);
  config->fingerprint = (config->fingerprint ^ std::hash<std::string>()(config->sni)) *
                        (static_cast<uint64_t>(config->mode) + 3);
  SSL_CTX_set_verify(&ctx, SSL_VERIFY_PEER, nullptr);
  // Client-side resumption: sessions go to the worker's cache, never OpenSSL's internal one.
  TlsSessionCache::enableClientSessionCallbacks(ctx);
  if (!attachMeshSettings(ctx, MeshContextSettings{trust->trust_domain, {}, mesh})) {
    return Error{"out of memory"};
  }
  config->context = std::move(*context);
  return config;
}

}  // namespace weft::proxy
