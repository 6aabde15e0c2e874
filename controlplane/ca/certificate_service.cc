#include "controlplane/ca/certificate_service.h"

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>

#include <boost/asio/post.hpp>
#include <exception>

#include "common/config/proto_validator.h"
#include "common/log/logger.h"
#include "common/text/ascii.h"

namespace weft::controlplane::ca {

namespace {

spdlog::logger& caLog() {
  static spdlog::logger& logger = weft::log::logger("ca");
  return logger;
}

// The request's free-form metadata (pod name, proxy version) for the audit log: compact JSON,
// bounded, since the caller chose its size.
std::string metadataText(const weft::v1::CreateCertificateRequest& request) {
  if (!request.has_metadata()) {
    return "{}";
  }
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(request.metadata(), &json).ok()) {
    return "(unprintable)";
  }
  constexpr size_t kMaxShown = 512;
  if (json.size() > kMaxShown) {
    json.resize(kMaxShown);
    json += "...";
  }
  return json;
}

std::string_view trimmed(std::string_view value) {
  const size_t first = value.find_first_not_of(" \t");
  if (first == std::string_view::npos) {
    return {};
  }
  return value.substr(first, value.find_last_not_of(" \t") - first + 1);
}

// The source address of a gRPC peer ("ipv4:10.1.2.3:5678", "ipv6:[fd00::1]:5678"), without the
// port: one pod opens many connections, each from its own port.
std::string peerAddress(std::string_view peer) {
  const size_t colon = peer.rfind(':');
  if (colon != std::string_view::npos && peer.find(':') != colon) {
    peer = peer.substr(0, colon);
  }
  return std::string(peer);
}

// The token from "Bearer <token>": the scheme is case-insensitive (RFC 7235), surrounding
// spaces are allowed, the token itself has none.
std::optional<std::string_view> bearerToken(std::string_view value) {
  constexpr std::string_view kScheme = "bearer ";
  value = trimmed(value);
  if (value.size() <= kScheme.size() ||
      !text::equalsIgnoreCaseAscii(value.substr(0, kScheme.size()), kScheme)) {
    return std::nullopt;
  }
  value = trimmed(value.substr(kScheme.size()));
  if (value.empty() || value.find_first_of(" \t") != std::string_view::npos) {
    return std::nullopt;
  }
  return value;
}

}  // namespace

CertificateService::CertificateService(const CertificateAuthority& authority,
                                       CallerAuthenticator& authenticator,
                                       std::shared_ptr<CaMetrics> metrics, WaitLimits limits)
    : authority_(authority),
      authenticator_(authenticator),
      metrics_(std::move(metrics)),
      limits_(limits) {
  if (authenticator_.mayBlock()) {
    blocking_calls_.emplace(2);
  }
}

grpc::StatusCode CertificateService::statusCode(RejectReason reason) {
  switch (reason) {
    case RejectReason::kMissingToken:
    case RejectReason::kUnknownToken:
    case RejectReason::kNotServiceAccount:
      return grpc::StatusCode::UNAUTHENTICATED;
    case RejectReason::kCredentialsUnavailable:
    case RejectReason::kCaNotReady:
    case RejectReason::kSigningFailed:
      return grpc::StatusCode::UNAVAILABLE;
    case RejectReason::kInvalidRequest:
    case RejectReason::kMalformedCsr:
    case RejectReason::kBadCsrSignature:
    case RejectReason::kUnsupportedKey:
      return grpc::StatusCode::INVALID_ARGUMENT;
    case RejectReason::kIdentityMismatch:
      return grpc::StatusCode::PERMISSION_DENIED;
    case RejectReason::kInternal:
      return grpc::StatusCode::INTERNAL;
  }
  return grpc::StatusCode::INTERNAL;
}

grpc::ServerUnaryReactor* CertificateService::CreateCertificate(
    grpc::CallbackServerContext* context, const weft::v1::CreateCertificateRequest* request,
    weft::v1::CreateCertificateResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::string_view authorization;
  size_t authorization_count = 0;
  const auto [first, last] = context->client_metadata().equal_range("authorization");
  for (auto it = first; it != last; ++it) {
    authorization = std::string_view(it->second.data(), it->second.size());
    ++authorization_count;
  }
  // A call without a usable bearer token is refused before the authenticator is reached, so it
  // is answered here even when the authenticator may block, and never takes a waiting slot.
  const bool reaches_authenticator =
      authorization_count == 1 && bearerToken(authorization).has_value();
  if (!blocking_calls_ || !reaches_authenticator) {
    reactor->Finish(
        handle(authorization, authorization_count, context->peer(), *request, *response));
    return reactor;
  }
  std::string peer_address = peerAddress(context->peer());
  if (std::optional<Rejection> refusal = admit(peer_address)) {
    reactor->Finish(refuse(*refusal, context->peer(), "unauthenticated caller"));
    return reactor;
  }
  // gRPC keeps the context, request and response alive until Finish. A call the client gave up
  // on while it waited (its deadline, or the server shutting down) is not reviewed: with the
  // Kubernetes API stalled, the queue then drains at once rather than one timeout at a time.
  boost::asio::post(
      *blocking_calls_,
      [this, context, reactor, request, response, authorization = std::string(authorization),
       authorization_count, peer = context->peer(), peer_address = std::move(peer_address)] {
        grpc::Status status =
            context->IsCancelled()
                ? grpc::Status(grpc::StatusCode::CANCELLED, "cancelled while waiting")
                : handle(authorization, authorization_count, peer, *request, *response);
        release(peer_address);
        reactor->Finish(status);
      });
  return reactor;
}

std::optional<Rejection> CertificateService::admit(const std::string& peer_address) {
  std::lock_guard lock(waiting_mutex_);
  if (waiting_total_ >= limits_.total) {
    return Rejection{RejectReason::kCredentialsUnavailable,
                     "too many certificate requests are waiting for the Kubernetes API; retry "
                     "later"};
  }
  int& from_peer = waiting_by_peer_[peer_address];
  if (from_peer >= limits_.per_peer) {
    return Rejection{RejectReason::kCredentialsUnavailable,
                     "too many certificate requests from " + peer_address +
                         " are waiting for the Kubernetes API; retry later"};
  }
  ++from_peer;
  ++waiting_total_;
  return std::nullopt;
}

void CertificateService::release(const std::string& peer_address) {
  std::lock_guard lock(waiting_mutex_);
  --waiting_total_;
  auto it = waiting_by_peer_.find(peer_address);
  if (it != waiting_by_peer_.end() && --it->second <= 0) {
    waiting_by_peer_.erase(it);  // the map holds only peers with calls waiting
  }
}

CertificateService::~CertificateService() {
  if (blocking_calls_) {
    blocking_calls_->join();
  }
}

grpc::Status CertificateService::handle(std::string_view authorization, size_t authorization_count,
                                        const std::string& peer,
                                        const weft::v1::CreateCertificateRequest& request,
                                        weft::v1::CreateCertificateResponse& response) {
  std::string caller = "unauthenticated caller";
  Decision<IssuedCertificate> decision = Rejection{RejectReason::kInternal, "internal error"};
  try {
    decision = decide(authorization, authorization_count, request, caller);
    if (auto* issued = std::get_if<IssuedCertificate>(&decision)) {
      for (std::string& pem : issued->chain_pem) {
        response.add_certificate_chain(std::move(pem));
      }
      response.set_trust_bundle(issued->trust_bundle_pem);
      *response.mutable_expiry() = google::protobuf::util::TimeUtil::SecondsToTimestamp(
          issued->not_after.time_since_epoch().count());
      if (metrics_) {
        metrics_->issued();
      }
      caLog().info("issued {} (serial {}, valid until {}) to {} from {}, metadata {}",
                   issued->spiffe_id, issued->serial,
                   google::protobuf::util::TimeUtil::ToString(response.expiry()), caller, peer,
                   metadataText(request));
      return grpc::Status::OK;
    }
  } catch (const std::exception& error) {
    // A bug or memory exhaustion; the call must still end with a status, not take gRPC's
    // thread down.
    decision = Rejection{RejectReason::kInternal, std::string("internal error: ") + error.what()};
    response.Clear();
  } catch (...) {
    decision = Rejection{RejectReason::kInternal, "internal error"};
    response.Clear();
  }
  return refuse(std::get<Rejection>(decision), peer, caller);
}

grpc::Status CertificateService::refuse(const Rejection& rejection, const std::string& peer,
                                        const std::string& caller) {
  if (metrics_) {
    metrics_->rejected(rejection.reason);
  }
  caLog().warn("CreateCertificate from {} ({}) rejected, {}: {}", peer, caller,
               reasonLabel(rejection.reason), rejection.message);
  return grpc::Status(statusCode(rejection.reason), rejection.message);
}

Decision<IssuedCertificate> CertificateService::decide(
    std::string_view authorization, size_t authorization_count,
    const weft::v1::CreateCertificateRequest& request, std::string& caller) {
  if (authorization_count == 0) {
    return Rejection{RejectReason::kMissingToken,
                     "no credential: the call needs \"authorization: Bearer <token>\" metadata"};
  }
  if (authorization_count > 1) {
    return Rejection{RejectReason::kMissingToken,
                     "more than one authorization metadata entry; send exactly one"};
  }
  std::optional<std::string_view> token = bearerToken(authorization);
  if (!token) {
    return Rejection{RejectReason::kMissingToken,
                     "the authorization metadata is not \"Bearer <token>\""};
  }
  Decision<WorkloadIdentity> identity = authenticator_.authenticate(*token);
  if (auto* rejection = std::get_if<Rejection>(&identity)) {
    return std::move(*rejection);
  }
  const WorkloadIdentity& who = std::get<WorkloadIdentity>(identity);
  caller = "service account " + who.namespace_name + "/" + who.service_account;

  // Rules declared in ca.proto (CSR present and at most 16 KiB, validity within 60s..30d).
  thread_local config::PatternCache patterns;
  if (config::ConfigErrors errors = config::validateMessage(request, {}, &patterns);
      !errors.empty()) {
    return Rejection{RejectReason::kInvalidRequest,
                     "invalid CreateCertificateRequest: " + errors.front().toString()};
  }
  IssueRequest issue{who, request.csr(), std::nullopt};
  // A zero validity is proto3's "unset" (bounds apply to non-zero values): the CA's default.
  if (request.has_validity() && request.validity().seconds() > 0) {
    issue.validity = std::chrono::seconds(request.validity().seconds());
  }
  return authority_.issue(issue);
}

}  // namespace weft::controlplane::ca
