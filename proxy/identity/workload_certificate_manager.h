#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/backoff/exponential_backoff.h"
#include "common/tls/openssl_ptr.h"
#include "proxy/admin/certificate_status.h"
#include "proxy/identity/ca_client_config.h"
#include "proxy/identity/certificate_rotation.h"
#include "proxy/identity/certificate_signer.h"
#include "proxy/identity/workload_certificate.h"
#include "weft/v1/core.pb.h"
#include "weft/v1/secret.pb.h"

namespace weft::proxy::identity {

// Obtains the proxy's workload certificate and keeps it current, on the proxy's main
// io_context: requests one at start (retrying with backoff and jitter), renews it at
// renew_at_percent of its lifetime (retrying likewise while the current one keeps serving),
// warns when renewal still fails past the warning point, and once the certificate expires
// withdraws the "identity" secret, so mTLS listeners and clusters refuse connections rather
// than present an expired certificate (fail closed). It keeps requesting all along.
//
// Each change of the secrets ("identity" and the CA's "trust-bundle") is handed to `install`,
// which puts them into the configuration and publishes a new snapshot: connections in progress
// keep their certificate, new handshakes use the new one.
class WorkloadCertificateManager {
 public:
  using Clock = std::function<WallTime()>;
  using Install = std::function<void(const std::vector<weft::v1::Secret>& secrets)>;

  static WallTime systemClock();
  // Retries: from 1 s, doubling, at most 60 s, with equal jitter.
  static BackoffOptions defaultBackoff();

  WorkloadCertificateManager(boost::asio::io_context& io_context, CaClientConfig config,
                             weft::v1::Node node, std::unique_ptr<CertificateSigner> signer,
                             Install install, Clock clock, ExponentialBackoff backoff);
  ~WorkloadCertificateManager();

  WorkloadCertificateManager(const WorkloadCertificateManager&) = delete;
  WorkloadCertificateManager& operator=(const WorkloadCertificateManager&) = delete;

  // Sends the first request.
  void start();
  // Abandons the request in flight and every timer.
  void stop();

  // Acts on what the clock says now: phase changes (warning, expiry), a due request, the next
  // wake-up. The manager's own timer calls it; tests call it after moving their clock.
  void evaluate();

  // A certificate is in place (not before the first, not once expired): readiness.
  bool hasValidCertificate() const { return rotation_.hasValidCertificate(); }
  // Why not, for /ready.
  std::string notReadyReason() const;
  // The secrets the configuration should hold now (empty before the first certificate).
  const std::vector<weft::v1::Secret>& secrets() const { return secrets_; }
  admin::CertificateStatus status() const;

 private:
  void request();
  void onAnswer(xds::GrpcStatus status, const weft::v1::CreateCertificateResponse& response);
  void onFailure(const std::string& error);
  void publish(bool with_identity);
  void scheduleWake(WallTime now);

  const CaClientConfig config_;
  const ExpectedIdentity expected_;
  const weft::v1::Node node_;
  std::unique_ptr<CertificateSigner> signer_;
  Install install_;
  Clock clock_;
  CertificateRotation rotation_;
  boost::asio::steady_timer wake_;
  // The key of the request in flight; null when none is.
  tls::EvpPkeyPtr pending_key_;
  std::shared_ptr<const WorkloadCertificate> current_;
  std::vector<weft::v1::Secret> secrets_;
  uint64_t issued_ = 0;
  std::string last_error_;
  std::optional<WallTime> last_error_at_;
  bool stopped_ = false;
};

}  // namespace weft::proxy::identity
