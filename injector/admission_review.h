#pragma once

#include <string>
#include <string_view>

#include "injector/injection_settings.h"
#include "injector/pod_injector.h"

namespace weft::injector {

// The answer to one POST of an AdmissionReview (admission.k8s.io/v1).
struct AdmissionAnswer {
  // 200 with an AdmissionReview response; 400 with a plain-text reason when the body is not
  // an AdmissionReview the API server could have sent (the API server then applies the
  // webhook's failurePolicy and shows the reason).
  int http_status = 200;
  std::string body;
  // What happened, for the log and the metrics. For a malformed review: kRefused with reason
  // "malformed-review". A request that is not the creation of a pod is kSkipped, "not-a-pod".
  InjectionResult result;
  std::string uid;
  // "<namespace>/<name or generateName...>", for the log.
  std::string pod;
};

// Reads an AdmissionReview v1 request and answers it: allowed with a JSONPatch that injects
// the sidecar, allowed unchanged when the pod is skipped, denied with the reason when it is
// refused. Never throws; bounded by the body it is given.
AdmissionAnswer answerAdmissionReview(std::string_view body, const InjectionSettings& settings);

}  // namespace weft::injector
