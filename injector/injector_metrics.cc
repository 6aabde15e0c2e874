#include "injector/injector_metrics.h"

namespace weft::injector {

InjectorMetrics::InjectorMetrics(prometheus::Registry& registry) {
  injections_ = &prometheus::BuildCounter()
                     .Name("weft_injector_injections_total")
                     .Help("Pods given a weft-proxy sidecar, by sidecar mode")
                     .Register(registry);
  skips_ = &prometheus::BuildCounter()
                .Name("weft_injector_skips_total")
                .Help("Admission reviews answered without a change, by reason")
                .Register(registry);
  refusals_ = &prometheus::BuildCounter()
                   .Name("weft_injector_refusals_total")
                   .Help("Pods whose creation the injector denied, by reason")
                   .Register(registry);
  errors_ = &prometheus::BuildCounter()
                 .Name("weft_injector_errors_total")
                 .Help("Failures on the injector's side, by reason")
                 .Register(registry);
  // From 50 us: a review takes well under a millisecond.
  duration_ = &prometheus::BuildHistogram()
                   .Name("weft_injector_review_duration_seconds")
                   .Help("Time to answer one admission review")
                   .Register(registry)
                   .Add({}, prometheus::Histogram::BucketBoundaries{
                                0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.01, 0.1});
  certificate_expiry_ = &prometheus::BuildGauge()
                             .Name("weft_injector_certificate_expiry_timestamp_seconds")
                             .Help("When the webhook's serving certificate expires (Unix time)")
                             .Register(registry)
                             .Add({});
  // The families' known labels exist from the start, so a rate() has a zero to begin from.
  for (const char* mode : {"native", "classic"}) {
    injections_->Add({{"mode", mode}});
  }
  for (const char* reason :
       {"namespace-excluded", "opted-out", "host-network", "already-injected", "not-a-pod"}) {
    skips_->Add({{"reason", reason}});
  }
  for (const char* reason : {"invalid-annotation", "invalid-pod", "no-mesh-root"}) {
    refusals_->Add({{"reason", reason}});
  }
  for (const char* reason : {"malformed-review", "bad-request", "tls-handshake",
                             "certificate-reload", "settings-reload", "mesh-root-reload"}) {
    errors_->Add({{"reason", reason}});
  }
}

void InjectorMetrics::reviewed(const AdmissionAnswer& answer, double seconds) {
  duration_->Observe(seconds);
  const InjectionResult& result = answer.result;
  if (answer.http_status != 200) {
    errors_->Add({{"reason", result.reason}}).Increment();
    return;
  }
  switch (result.outcome) {
    case InjectionOutcome::kInjected:
      injections_->Add({{"mode", sidecarModeName(result.mode)}}).Increment();
      break;
    case InjectionOutcome::kSkipped:
      skips_->Add({{"reason", result.reason}}).Increment();
      break;
    case InjectionOutcome::kRefused:
      refusals_->Add({{"reason", result.reason}}).Increment();
      break;
  }
}

void InjectorMetrics::error(const std::string& reason, double count) {
  errors_->Add({{"reason", reason}}).Increment(count);
}

}  // namespace weft::injector
