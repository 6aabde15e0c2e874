#include "controlplane/app/kubernetes_source_metrics.h"

#include <cstdint>
#include <string>
#include <tuple>
#include <utility>

#include "controlplane/app/metric_samples.h"
#include "controlplane/app/source_metrics.h"

namespace weft::controlplane {

KubernetesSourceMetrics::KubernetesSourceMetrics(Read read, Problems translation_problems,
                                                 Leadership leadership)
    : read_(std::move(read)),
      translation_problems_(std::move(translation_problems)),
      leadership_(std::move(leadership)) {}

std::vector<prometheus::MetricFamily> KubernetesSourceMetrics::Collect() const {
  const KubernetesSourceStats stats = read_();
  std::vector<prometheus::MetricFamily> out;
  using Field = uint64_t kube::ReflectorStats::*;
  struct PerResource {
    const char* name;
    const char* help;
    Field field;
  };
  static const PerResource kCounters[] = {
      {"weft_cp_kube_lists_total", "Complete lists of a resource (first, after 410 Gone, resyncs)",
       &kube::ReflectorStats::lists},
      {"weft_cp_kube_watches_total", "Watch requests of a resource that started streaming",
       &kube::ReflectorStats::watches},
      {"weft_cp_kube_watch_events_total",
       "ADDED, MODIFIED and DELETED events received for a resource", &kube::ReflectorStats::events},
      {"weft_cp_kube_relists_expired_total",
       "Lists forced by 410 Gone: the resourceVersion to resume from was compacted",
       &kube::ReflectorStats::relists_expired},
      {"weft_cp_kube_resyncs_total", "Periodic full lists of a resource",
       &kube::ReflectorStats::resyncs},
      {"weft_cp_kube_drift_repairs_total",
       "Differences a later list found from what the watch had delivered (missed events)",
       &kube::ReflectorStats::drift_repairs},
      {"weft_cp_kube_failures_total",
       "Failed lists and watches of a resource (the log says why); retried with backoff",
       &kube::ReflectorStats::failures},
  };
  for (const PerResource& counter : kCounters) {
    auto metric = metricFamily(counter.name, counter.help, prometheus::MetricType::Counter);
    for (const auto& [resource, reflector] : stats.resources) {
      metric.metric.push_back(
          counterSample(static_cast<double>(reflector.*counter.field), {{"resource", resource}}));
    }
    out.push_back(std::move(metric));
  }
  auto objects =
      metricFamily("weft_cp_kube_objects", "Objects of a resource the control plane holds",
                   prometheus::MetricType::Gauge);
  for (const auto& [resource, reflector] : stats.resources) {
    objects.metric.push_back(
        gaugeSample(static_cast<double>(reflector.objects), {{"resource", resource}}));
  }
  out.push_back(std::move(objects));
  auto synced = metricFamily("weft_cp_kube_synced",
                             "1 once a resource has been listed (or found not served), else 0",
                             prometheus::MetricType::Gauge);
  auto served =
      metricFamily("weft_cp_kube_served",
                   "1 when the API serves the resource, 0 after a 404 (CRD not installed)",
                   prometheus::MetricType::Gauge);
  for (const auto& [resource, reflector] : stats.resources) {
    synced.metric.push_back(gaugeSample(reflector.synced ? 1 : 0, {{"resource", resource}}));
    served.metric.push_back(gaugeSample(reflector.served ? 1 : 0, {{"resource", resource}}));
  }
  out.push_back(std::move(synced));
  out.push_back(std::move(served));

  out.push_back(documentsFamily(
      stats.documents,
      "Objects read into the model, by kind and result (accepted, rejected, ignored)"));
  auto errors = metricFamily("weft_cp_source_current_errors",
                             "Errors in the mesh's resources as they are now (rejected objects)",
                             prometheus::MetricType::Gauge);
  errors.metric.push_back(gaugeSample(static_cast<double>(stats.current_errors), {}));
  out.push_back(std::move(errors));
  auto models =
      metricFamily("weft_cp_source_models_total", "Mesh models built that changed something",
                   prometheus::MetricType::Counter);
  models.metric.push_back(counterSample(static_cast<double>(stats.models), {}));
  out.push_back(std::move(models));
  out.push_back(translationProblemsFamily(translation_problems_()));

  const LeadershipStats leadership = leadership_();
  const std::pair<const char*, const char*> gauge_help = {
      "weft_cp_leader", "1 while this replica holds the leader Lease (and writes status), else 0"};
  auto leader = metricFamily(gauge_help.first, gauge_help.second, prometheus::MetricType::Gauge);
  leader.metric.push_back(gaugeSample(leadership.election.leader ? 1 : 0, {}));
  out.push_back(std::move(leader));
  for (const auto& [name, help, value] :
       {std::tuple{"weft_cp_leader_acquisitions_total", "Times this replica became the leader",
                   leadership.election.acquisitions},
        std::tuple{"weft_cp_leader_losses_total",
                   "Times this replica stopped leading while running (renewal failed, or taken "
                   "over)",
                   leadership.election.losses},
        std::tuple{"weft_cp_leader_failures_total", "Lease requests that failed (the log says why)",
                   leadership.election.failures},
        std::tuple{"weft_cp_status_writes_total", "Resource statuses written",
                   leadership.status.writes},
        std::tuple{"weft_cp_status_write_failures_total", "Status writes that failed (retried)",
                   leadership.status.failures}}) {
    auto metric = metricFamily(name, help, prometheus::MetricType::Counter);
    metric.metric.push_back(counterSample(static_cast<double>(value), {}));
    out.push_back(std::move(metric));
  }
  return out;
}

}  // namespace weft::controlplane
