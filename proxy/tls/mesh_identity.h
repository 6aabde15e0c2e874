#pragma once

#include <openssl/ssl.h>

#include <string>
#include <string_view>

namespace weft::proxy {

// Workload identities in the mesh: a peer is known by the SPIFFE id in its verified certificate
// ("spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>").

// Whether `leaf` is a usable mesh identity certificate: not a CA, exactly one URI SAN, and that
// one a spiffe:// id in `trust_domain` (empty: any trust domain). Empty on success; otherwise a
// fixed description of the problem ("peer certificate has 2 URI SANs"), safe to keep.
const char* meshLeafProblem(X509& leaf, std::string_view trust_domain);

// The SPIFFE id of the verified peer of a completed handshake, or empty when the peer sent no
// certificate (or a certificate without one).
std::string peerPrincipal(const SSL& ssl);

// A TLS context's mesh settings, kept with the SSL_CTX itself (ex-data freed with it), so the
// verify and ALPN callbacks read them for as long as any connection uses the context, whatever
// happens to the configuration that built it.
struct MeshContextSettings {
  std::string trust_domain;  // required of peer identities; empty: any
  std::string alpn_wire;     // server: the ids accepted, in preference order (wire format)
  bool mesh_leaf_checks = true;
};

// Attaches `settings` to `context` (which takes ownership) and installs the verify callback that
// applies meshLeafProblem to the peer's leaf, and, when alpn_wire is set, the server's ALPN
// selection. Returns false only when memory runs out.
bool attachMeshSettings(SSL_CTX& context, MeshContextSettings settings);

// Why the last handshake on `ssl` rejected the peer's certificate, when our checks did (the
// OpenSSL error then only says "certificate verify failed"); null otherwise.
const char* meshVerifyFailure(const SSL& ssl);

}  // namespace weft::proxy
