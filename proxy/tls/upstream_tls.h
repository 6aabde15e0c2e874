#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/io/deadline_stream.h"
#include "proxy/tls/tls_contexts.h"
#include "proxy/tls/tls_session_cache.h"

namespace weft::proxy {

// How the proxy reaches one upstream endpoint: plaintext, or TLS with the cluster's settings and
// the identity the endpoint must prove. Resolved per host from the snapshot (ClusterConfig::
// transportFor); views into the snapshot, valid while the request holds it.
struct UpstreamTransport {
  const UpstreamTlsConfig* tls = nullptr;  // null: plaintext
  std::string_view expected_identity;      // MUTUAL_MESH: the endpoint's SPIFFE id; empty: any
  // Pools hand a connection only to a request with the same key: a plaintext connection must
  // never serve a request that asked for mTLS. 0 for plaintext.
  uint64_t pool_key = 0;
};

// Runs the TLS client handshake on a connected `stream` within its current deadline, offering
// `alpn_wire` (MUTUAL_MESH: the mesh id of the protocol about to be spoken, e.g. "weft-h2";
// SIMPLE/MUTUAL: the cluster's), resuming a cached session when there is one, and checks the
// peer: the chain against the trust bundle, and for the mesh its SPIFFE id. Empty on success,
// otherwise the failure for the local reply and the log ("TLS handshake with 10.0.0.7:8080
// failed: peer certificate has more than one URI SAN").
boost::asio::awaitable<std::string> startUpstreamTls(DeadlineStream& stream,
                                                     const UpstreamTransport& transport,
                                                     std::string_view alpn_wire,
                                                     const boost::asio::ip::tcp::endpoint& peer,
                                                     TlsSessionCache& sessions);

// The mesh ALPN offer (wire format) for a protocol id such as kMeshAlpnHttp2.
std::string_view meshAlpnOffer(std::string_view mesh_id);

// What `transport` offers: the mesh id of the protocol about to be spoken for MUTUAL_MESH, the
// cluster's list otherwise.
inline std::string_view alpnOffer(const UpstreamTransport& transport, std::string_view mesh_id) {
  return transport.tls->mode == UpstreamTlsConfig::Mode::kMesh
             ? meshAlpnOffer(mesh_id)
             : std::string_view(transport.tls->alpn_wire);
}

}  // namespace weft::proxy
