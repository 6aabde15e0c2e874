#include "proxy/identity/workload_certificate_manager.h"

#include <algorithm>
#include <ctime>

#include "common/log/logger.h"
#include "proxy/identity/certificate_request.h"
#include "proxy/identity/identity_secrets.h"

namespace weft::proxy::identity {
namespace {

spdlog::logger& identityLog() {
  static spdlog::logger& logger = weft::log::logger("identity");
  return logger;
}

// The timer never sleeps longer than this: wall-clock time can jump (a suspended VM, an NTP
// step) while the steady clock the timer runs on does not, and expiry must be noticed anyway.
constexpr auto kLongestSleep = std::chrono::seconds(60);

std::string timeText(WallTime time) {
  const std::time_t whole = static_cast<std::time_t>(
      std::chrono::floor<std::chrono::seconds>(time).time_since_epoch().count());
  std::tm utc{};
  gmtime_r(&whole, &utc);
  char text[40];
  const size_t length = std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return std::string(text, length);
}

WallTime toWallTime(std::chrono::sys_seconds time) {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(time);
}

}  // namespace

WallTime WorkloadCertificateManager::systemClock() {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

BackoffOptions WorkloadCertificateManager::defaultBackoff() {
  BackoffOptions options;
  options.base = std::chrono::seconds(1);
  options.max = std::chrono::seconds(60);
  return options;
}

WorkloadCertificateManager::WorkloadCertificateManager(boost::asio::io_context& io_context,
                                                       CaClientConfig config, weft::v1::Node node,
                                                       std::unique_ptr<CertificateSigner> signer,
                                                       Install install, Clock clock,
                                                       ExponentialBackoff backoff)
    : config_(std::move(config)),
      expected_(expectedIdentity(node)),
      node_(std::move(node)),
      signer_(std::move(signer)),
      install_(std::move(install)),
      clock_(std::move(clock)),
      rotation_(config_.renew_at_percent, std::move(backoff)),
      wake_(io_context) {}

WorkloadCertificateManager::~WorkloadCertificateManager() {
  stop();
}

void WorkloadCertificateManager::start() {
  identityLog().info("requesting the workload certificate from {} (key {}, validity {} s)",
                     signer_->target(),
                     weft::v1::CertificateAuthorityConfig::KeyType_Name(config_.key_type),
                     config_.validity.count());
  evaluate();
}

void WorkloadCertificateManager::stop() {
  stopped_ = true;
  wake_.cancel();
  signer_->cancel();
  pending_key_.reset();
}

void WorkloadCertificateManager::evaluate() {
  if (stopped_) {
    return;
  }
  const WallTime now = clock_();
  switch (rotation_.advance(now)) {
    case CertificateRotation::Change::kNone:
      break;
    case CertificateRotation::Change::kRenewalDue:
      identityLog().info("renewing the workload certificate {} (serial {}, valid until {})",
                         current_->spiffe_id, current_->serial,
                         timeText(rotation_.schedule()->expires_at));
      break;
    case CertificateRotation::Change::kExpiring:
      identityLog().warn(
          "the workload certificate {} (serial {}) expires at {} and has not been renewed "
          "({} failed attempts, last error: {}); mTLS stops at expiry",
          current_->spiffe_id, current_->serial, timeText(rotation_.schedule()->expires_at),
          rotation_.consecutiveFailures(), last_error_.empty() ? "none yet" : last_error_);
      break;
    case CertificateRotation::Change::kExpired:
      identityLog().error(
          "the workload certificate {} (serial {}) expired at {}; the identity secret is "
          "withdrawn and mTLS connections are refused until a new certificate arrives (last "
          "error: {})",
          current_->spiffe_id, current_->serial, timeText(rotation_.schedule()->expires_at),
          last_error_.empty() ? "none" : last_error_);
      publish(/*with_identity=*/false);
      break;
  }
  if (!pending_key_ && rotation_.requestDue(now)) {
    request();
  }
  scheduleWake(now);
}

void WorkloadCertificateManager::scheduleWake(WallTime now) {
  const auto until = std::clamp<std::chrono::milliseconds>(
      rotation_.nextEvent() - now, std::chrono::milliseconds(0), kLongestSleep);
  wake_.expires_after(until);
  wake_.async_wait([this](const boost::system::error_code& error) {
    if (!error) {
      evaluate();
    }
  });
}

void WorkloadCertificateManager::request() {
  auto prepared = makeCertificateRequest(config_, node_);
  if (!prepared) {
    onFailure("cannot make the certificate request: " + prepared.error());
    return;
  }
  pending_key_ = std::move(prepared->key);
  signer_->sign(prepared->message,
                [this](xds::GrpcStatus status, weft::v1::CreateCertificateResponse response) {
                  onAnswer(std::move(status), response);
                });
}

void WorkloadCertificateManager::onAnswer(xds::GrpcStatus status,
                                          const weft::v1::CreateCertificateResponse& response) {
  if (stopped_) {
    return;
  }
  tls::EvpPkeyPtr key = std::move(pending_key_);
  if (status.code != 0) {
    onFailure(xds::grpcStatusCodeName(status.code) + ": " + status.message);
    evaluate();
    return;
  }
  const WallTime now = clock_();
  auto accepted = acceptIssuedCertificate(response, *key, expected_,
                                          std::chrono::floor<std::chrono::seconds>(now));
  if (!accepted) {
    onFailure("refused the certificate from " + signer_->target() + ": " + accepted.error());
    evaluate();
    return;
  }
  current_ = std::make_shared<const WorkloadCertificate>(std::move(*accepted));
  ++issued_;
  rotation_.onIssued(current_->validity, now);
  identityLog().info(
      "workload certificate {} installed: serial {}, {}, valid {} to {}, renewal at {}",
      current_->spiffe_id, current_->serial, current_->key_type,
      timeText(toWallTime(current_->validity.not_before)),
      timeText(toWallTime(current_->validity.not_after)), timeText(rotation_.nextRequest()));
  publish(/*with_identity=*/true);
  evaluate();
}

void WorkloadCertificateManager::onFailure(const std::string& error) {
  const WallTime now = clock_();
  last_error_ = error;
  last_error_at_ = now;
  const std::chrono::milliseconds delay = rotation_.onFailed(now);
  switch (rotation_.phase()) {
    case IdentityPhase::kAwaitingFirst:
      identityLog().warn(
          "cannot obtain the workload certificate from {}: {}; retrying in {} ms (attempt {})",
          signer_->target(), error, delay.count(), rotation_.consecutiveFailures());
      break;
    case IdentityPhase::kExpired:
      identityLog().error(
          "cannot obtain a workload certificate from {}: {}; mTLS stays unavailable; retrying "
          "in {} ms",
          signer_->target(), error, delay.count());
      break;
    default:
      identityLog().warn(
          "renewal of the workload certificate from {} failed: {}; the current one stays valid "
          "until {}; retrying in {} ms",
          signer_->target(), error, timeText(rotation_.schedule()->expires_at), delay.count());
      break;
  }
}

void WorkloadCertificateManager::publish(bool with_identity) {
  secrets_ = identitySecrets(*current_, with_identity);
  install_(secrets_);
}

std::string WorkloadCertificateManager::notReadyReason() const {
  if (rotation_.phase() == IdentityPhase::kExpired) {
    return "the workload certificate expired at " + timeText(rotation_.schedule()->expires_at) +
           (last_error_.empty() ? std::string() : "; last error: " + last_error_);
  }
  return "waiting for the workload certificate from " + signer_->target() +
         (last_error_.empty() ? std::string() : " (last error: " + last_error_ + ")");
}

admin::CertificateStatus WorkloadCertificateManager::status() const {
  admin::CertificateStatus out;
  out.state = std::string(identityPhaseName(rotation_.phase()));
  out.ca = signer_->target();
  if (current_) {
    out.certificate =
        admin::CertificateSummary{current_->spiffe_id,          current_->serial,
                                  current_->key_type,           current_->validity.not_before,
                                  current_->validity.not_after, current_->chain_length};
  }
  out.requesting = pending_key_ != nullptr;
  if (!out.requesting) {
    out.next_request = rotation_.nextRequest();
  }
  out.issued = issued_;
  out.consecutive_failures = rotation_.consecutiveFailures();
  out.last_error = last_error_;
  out.last_error_at = last_error_at_;
  return out;
}

}  // namespace weft::proxy::identity
