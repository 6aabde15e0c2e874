#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <string>

#include "injector/admission_review.h"

namespace weft::injector {

// The injector's metrics. Every review is counted once, by what happened to it:
//   weft_injector_injections_total{mode}            pods given a sidecar
//   weft_injector_skips_total{reason}               pods left alone, and why
//   weft_injector_refusals_total{reason}            pods denied, and why
//   weft_injector_errors_total{reason}              what went wrong on the injector's side:
//       malformed-review, bad-request, tls-handshake, certificate-reload, settings-reload,
//       mesh-root-reload
//   weft_injector_review_duration_seconds           time to answer a review, body parsed to
//                                                   response written into memory
//   weft_injector_certificate_expiry_timestamp_seconds, weft_injector_settings_loaded
class InjectorMetrics {
 public:
  explicit InjectorMetrics(prometheus::Registry& registry);

  void reviewed(const AdmissionAnswer& answer, double seconds);
  void error(const std::string& reason, double count = 1);
  void certificateExpiry(double unix_seconds) { certificate_expiry_->Set(unix_seconds); }

 private:
  prometheus::Family<prometheus::Counter>* injections_;
  prometheus::Family<prometheus::Counter>* skips_;
  prometheus::Family<prometheus::Counter>* refusals_;
  prometheus::Family<prometheus::Counter>* errors_;
  prometheus::Histogram* duration_;
  prometheus::Gauge* certificate_expiry_;
};

}  // namespace weft::injector
