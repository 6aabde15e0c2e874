#pragma once

#include <grpcpp/grpcpp.h>

#include <boost/asio/thread_pool.hpp>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "controlplane/ca/ca_metrics.h"
#include "controlplane/ca/caller_authenticator.h"
#include "controlplane/ca/certificate_authority.h"
#include "weft/v1/ca.grpc.pb.h"

namespace weft::controlplane::ca {

// How many calls may wait for a blocking authenticator; beyond, new ones are refused at once
// (UNAVAILABLE; the proxies retry with backoff): memory stays bounded when the Kubernetes
// API is slow and every proxy asks at once, and one pod flooding the port with made-up
// tokens takes at most `per_peer` of the places (counted by source address).
struct CertificateWaitLimits {
  int total = 256;
  int per_peer = 16;
};

// weft.v1.CertificateService (ca.proto): authenticates the caller from its "authorization:
// Bearer <token>" metadata, checks the request, and has the CA sign. Each call is answered on
// the gRPC thread that received it (signing takes well under a millisecond and touches no
// state of the loop thread), unless the authenticator waits on the network (a TokenReview):
// then on a small pool of the service's own, since gRPC's callback threads must not block, and
// with at most WaitLimits calls waiting there. Every refusal is logged with its reason and
// counted in weft_cp_ca_requests_rejected_total.
class CertificateService final : public weft::v1::CertificateService::CallbackService {
 public:
  using WaitLimits = CertificateWaitLimits;

  CertificateService(const CertificateAuthority& authority, CallerAuthenticator& authenticator,
                     std::shared_ptr<CaMetrics> metrics, WaitLimits limits = {});
  // Waits for the calls still on the pool; the gRPC server has been shut down before.
  ~CertificateService() override;

  grpc::ServerUnaryReactor* CreateCertificate(
      grpc::CallbackServerContext* context, const weft::v1::CreateCertificateRequest* request,
      weft::v1::CreateCertificateResponse* response) override;

  // One call without the transport: `authorization` is the metadata value (empty when absent),
  // `authorization_count` how many there were, `peer` for the log. Never throws.
  grpc::Status handle(std::string_view authorization, size_t authorization_count,
                      const std::string& peer, const weft::v1::CreateCertificateRequest& request,
                      weft::v1::CreateCertificateResponse& response);

  // The status code ca.proto prescribes for each reason.
  static grpc::StatusCode statusCode(RejectReason reason);

 private:
  Decision<IssuedCertificate> decide(std::string_view authorization, size_t authorization_count,
                                     const weft::v1::CreateCertificateRequest& request,
                                     std::string& caller);
  // Takes a waiting place for a call from `peer`; a refusal when none is left.
  std::optional<Rejection> admit(const std::string& peer_address);
  void release(const std::string& peer_address);
  // Logs and counts a refusal; the status to answer with.
  grpc::Status refuse(const Rejection& rejection, const std::string& peer,
                      const std::string& caller);

  const CertificateAuthority& authority_;
  CallerAuthenticator& authenticator_;
  std::shared_ptr<CaMetrics> metrics_;
  // Runs the calls when the authenticator may block; two threads, so one slow review does not
  // hold up every other call. Absent otherwise.
  std::optional<boost::asio::thread_pool> blocking_calls_;
  const WaitLimits limits_;
  std::mutex waiting_mutex_;
  int waiting_total_ = 0;
  std::unordered_map<std::string, int> waiting_by_peer_;
};

}  // namespace weft::controlplane::ca
