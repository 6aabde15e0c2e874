#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <array>

#include "controlplane/ca/rejection.h"
#include "controlplane/ca/signing_material.h"

namespace weft::controlplane::ca {

// The CA's metrics: certificates issued, requests rejected by reason, reloads, and the signing
// certificate's expiry (alert on it well before a rotation is due).
class CaMetrics {
 public:
  explicit CaMetrics(prometheus::Registry& registry);

  void issued() { issued_->Increment(); }
  void rejected(RejectReason reason) { rejected_[static_cast<size_t>(reason)]->Increment(); }
  // New signing material is in use (start or reload).
  void materialLoaded(const SigningMaterial& material);
  void reloadFailed() { reload_errors_->Increment(); }

 private:
  prometheus::Counter* issued_;
  std::array<prometheus::Counter*, kAllRejectReasons.size()> rejected_{};
  prometheus::Counter* reloads_;
  prometheus::Counter* reload_errors_;
  prometheus::Gauge* signing_expiry_;
  prometheus::Gauge* trust_bundle_roots_;
};

}  // namespace weft::controlplane::ca
