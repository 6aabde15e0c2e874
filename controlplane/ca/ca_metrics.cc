#include "controlplane/ca/ca_metrics.h"

#include <string>

namespace weft::controlplane::ca {

CaMetrics::CaMetrics(prometheus::Registry& registry) {
  issued_ = &prometheus::BuildCounter()
                 .Name("weft_cp_ca_certificates_issued_total")
                 .Help("Workload certificates signed")
                 .Register(registry)
                 .Add({});
  auto& rejected = prometheus::BuildCounter()
                       .Name("weft_cp_ca_requests_rejected_total")
                       .Help("CreateCertificate calls refused, by reason")
                       .Register(registry);
  // Every reason from the start, so a rate() over a reason that has not happened yet is 0
  // rather than absent.
  for (RejectReason reason : kAllRejectReasons) {
    rejected_[static_cast<size_t>(reason)] =
        &rejected.Add({{"reason", std::string(reasonLabel(reason))}});
  }
  auto& reloads = prometheus::BuildCounter()
                      .Name("weft_cp_ca_reloads_total")
                      .Help("Loads of the CA's signing material, by result (ok, error)")
                      .Register(registry);
  reloads_ = &reloads.Add({{"result", "ok"}});
  reload_errors_ = &reloads.Add({{"result", "error"}});
  signing_expiry_ = &prometheus::BuildGauge()
                         .Name("weft_cp_ca_signing_certificate_expiry_timestamp_seconds")
                         .Help("When the CA's signing certificate expires (Unix time)")
                         .Register(registry)
                         .Add({});
  trust_bundle_roots_ = &prometheus::BuildGauge()
                             .Name("weft_cp_ca_trust_bundle_roots")
                             .Help(
                                 "Roots in the trust bundle handed to proxies (2 during a "
                                 "root rotation)")
                             .Register(registry)
                             .Add({});
}

void CaMetrics::materialLoaded(const SigningMaterial& material) {
  reloads_->Increment();
  signing_expiry_->Set(
      static_cast<double>(material.signing_cert_not_after.time_since_epoch().count()));
  trust_bundle_roots_->Set(static_cast<double>(material.trust_bundle_size));
}

}  // namespace weft::controlplane::ca
