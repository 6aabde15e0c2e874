#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/tls/openssl_ptr.h"
#include "common/tls/result.h"
#include "weft/v1/cluster.pb.h"
#include "weft/v1/listener.pb.h"
#include "weft/v1/secret.pb.h"

namespace weft::proxy {

// The TLS side of the snapshot: one SSL_CTX per filter chain or cluster that uses TLS, built
// when the configuration is accepted and shared by every worker (SSL_new on a shared SSL_CTX
// is thread-safe). A connection takes a reference to the context with its SSL object, so a
// configuration change never pulls a context from under a live connection.

// The Secret named `name`, or null when the proxy does not have it (yet).
using SecretLookup = std::function<const weft::v1::Secret*(std::string_view name)>;

// Secret names used when a TLS block leaves them out.
inline constexpr std::string_view kIdentitySecret = "identity";
inline constexpr std::string_view kTrustBundleSecret = "trust-bundle";

struct DownstreamTlsConfig {
  enum class Mode : uint8_t { kStrict, kPermissive };
  Mode mode = Mode::kStrict;
  bool require_client_certificate = true;
  std::chrono::milliseconds handshake_timeout{10'000};
  // Null while a secret it needs is missing: TLS connections are then refused (fail closed)
  // and `unavailable` says why.
  weft::tls::SslCtxPtr context;
  std::string unavailable;
};

struct UpstreamTlsConfig {
  enum class Mode : uint8_t { kMesh, kSimple, kMutual };
  Mode mode = Mode::kMesh;
  std::string sni;        // empty: none (mesh), or the endpoint's hostname
  std::string alpn_wire;  // offered by SIMPLE / MUTUAL; mesh sets it per connection
  // Digest of everything that decides who is trusted and who we are (mode, SNI, certificate,
  // roots): session resumption only within the same fingerprint.
  uint64_t fingerprint = 0;
  weft::tls::SslCtxPtr context;
  std::string unavailable;
};

// The mesh ALPN ids: a Weft proxy originating mTLS names the protocol it will speak inside.
inline constexpr std::string_view kMeshAlpnHttp2 = "weft-h2";
inline constexpr std::string_view kMeshAlpnHttp1 = "weft-http/1.1";
inline constexpr std::string_view kMeshAlpnTcp = "weft-tcp";

// ALPN ids in wire format (each prefixed by its length), for OpenSSL.
std::string alpnWireFormat(const std::vector<std::string>& ids);

// Builds a chain's TLS. `default_alpn` is what the chain's handler accepts when tls.alpn is
// empty. An Error names the field (for the NACK); a missing secret is not an error (see
// DownstreamTlsConfig::context).
weft::tls::Result<std::unique_ptr<DownstreamTlsConfig>> buildDownstreamTls(
    const weft::v1::DownstreamTls& tls, const std::vector<std::string>& default_alpn,
    const SecretLookup& secrets);

weft::tls::Result<std::unique_ptr<UpstreamTlsConfig>> buildUpstreamTls(
    const weft::v1::UpstreamTls& tls, const std::vector<std::string>& protocol_alpn,
    const SecretLookup& secrets);

}  // namespace weft::proxy
