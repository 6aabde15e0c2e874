#include "proxy/app_health/app_health_prober.h"

#include <openssl/ssl.h>

#include <boost/asio/ip/address_v4.hpp>

#include "common/tls/openssl_error.h"
#include "proxy/upstream/http1_connection_pool.h"

namespace weft::proxy {
namespace {

namespace asio = boost::asio;

std::unique_ptr<UpstreamTlsConfig> unverifiedHttpsClient() {
  auto config = std::make_unique<UpstreamTlsConfig>();
  config->mode = UpstreamTlsConfig::Mode::kSimple;
  // No SNI: the probe dials an address, and the kubelet sends none to a pod IP either.
  config->alpn_wire = alpnWireFormat({"http/1.1"});
  weft::tls::SslCtxPtr context(SSL_CTX_new(TLS_client_method()));
  if (!context) {
    config->unavailable = "cannot create a TLS context: " + weft::tls::opensslErrors();
    return config;
  }
  SSL_CTX_set_min_proto_version(context.get(), TLS1_2_VERSION);
  // The application's serving certificate is usually self-signed or for names the probe does
  // not dial; the kubelet does not verify it either.
  SSL_CTX_set_verify(context.get(), SSL_VERIFY_NONE, nullptr);
  TlsSessionCache::enableClientSessionCallbacks(*context);
  config->context = std::move(context);
  return config;
}

}  // namespace

AppHealthProber::AppHealthProber(asio::io_context& context, AppProbes probes)
    : context_(context), probes_(std::move(probes)) {
  for (const auto& [key, probe] : probes_) {
    if (probe.https && !https_) {
      https_ = unverifiedHttpsClient();
    }
  }
}

asio::awaitable<std::optional<ProbeResult>> AppHealthProber::probe(const std::string& key) {
  const auto found = probes_.find(key);
  if (found == probes_.end()) {
    co_return std::nullopt;
  }
  if (stopped_) {
    co_return ProbeResult{false, "the proxy is shutting down"};
  }
  const AppProbeConfig& config = found->second;
  UpstreamTransport transport;
  if (config.https) {
    transport.tls = https_.get();
    transport.pool_key = 1;  // not pooled; any non-zero key marks TLS
  }
  UpstreamConnection connection{DeadlineStream(context_)};
  in_flight_.insert(&connection);
  struct Forget {
    std::unordered_set<UpstreamConnection*>& in_flight;
    UpstreamConnection* connection;
    ~Forget() { in_flight.erase(connection); }
  } forget{in_flight_, &connection};
  const asio::ip::tcp::endpoint address(asio::ip::address_v4::loopback(), config.port);
  ProbeResult result =
      co_await probeEndpoint(connection, config.check, address, transport, tls_sessions_);
  if (stopped_ && !result.success) {
    result.detail = "the proxy is shutting down";
  }
  co_return result;
}

void AppHealthProber::stop() {
  stopped_ = true;
  for (UpstreamConnection* connection : in_flight_) {
    connection->stream.close();
  }
}

}  // namespace weft::proxy
