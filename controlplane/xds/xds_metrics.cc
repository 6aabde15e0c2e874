#include "controlplane/xds/xds_metrics.h"

#include <string>

namespace weft::controlplane {

namespace {

const prometheus::Histogram::BucketBoundaries& latencyBuckets() {
  static const prometheus::Histogram::BucketBoundaries buckets = {
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5, 10};
  return buckets;
}

double seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

}  // namespace

XdsMetrics::XdsMetrics(prometheus::Registry& registry) {
  connected_ = &prometheus::BuildGauge()
                    .Name("weft_cp_xds_connected_proxies")
                    .Help("Proxies with an open discovery stream")
                    .Register(registry)
                    .Add({});
  auto& pushes = prometheus::BuildCounter()
                     .Name("weft_cp_xds_pushes_total")
                     .Help("Discovery responses sent, by resource type")
                     .Register(registry);
  auto& convergence =
      prometheus::BuildHistogram()
          .Name("weft_cp_xds_convergence_seconds")
          .Help("Time from a configuration change to the proxy's ACK of it, by resource type")
          .Register(registry);
  for (ResourceType type : kPushOrder) {
    const std::string name(shortName(type));
    pushes_[static_cast<size_t>(type)] = &pushes.Add({{"type", name}});
    convergence_[static_cast<size_t>(type)] = &convergence.Add({{"type", name}}, latencyBuckets());
  }
  nacks_ = &prometheus::BuildCounter()
                .Name("weft_cp_xds_nacks_total")
                .Help("Responses proxies rejected, by resource type and gRPC status code")
                .Register(registry);
  push_round_ = &prometheus::BuildHistogram()
                     .Name("weft_cp_xds_push_seconds")
                     .Help(
                         "Time to compute a configuration generation for every connected "
                         "proxy and queue what changed")
                     .Register(registry)
                     .Add({}, latencyBuckets());
}

void XdsMetrics::nacked(ResourceType type, const weft::v1::ErrorDetail& error) {
  // The code, not the message: messages name fields and values, which would make the label
  // set unbounded. The message is in the log and in proxy-status.
  nacks_->Add({{"type", std::string(shortName(type))}, {"code", std::to_string(error.code())}})
      .Increment();
}

void XdsMetrics::converged(ResourceType type, std::chrono::steady_clock::time_point changed_at) {
  if (changed_at == std::chrono::steady_clock::time_point{}) {
    return;
  }
  convergence_[static_cast<size_t>(type)]->Observe(
      seconds(std::chrono::steady_clock::now() - changed_at));
}

void XdsMetrics::pushRound(std::chrono::steady_clock::duration took) {
  push_round_->Observe(seconds(took));
}

}  // namespace weft::controlplane
