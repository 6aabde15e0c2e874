#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <functional>
#include <vector>

#include "common/kube/leader_elector.h"
#include "controlplane/source/kubernetes_source.h"
#include "controlplane/status/status_writer.h"

namespace weft::controlplane {

// Exposes a KubernetesSource's counters at scrape time: per watched resource, lists, watch
// events, relists forced by 410 Gone, drift repaired by resyncs, failures and whether it is
// synced; the documents read; and the translation problems (as SourceMetrics does for the
// directory source); the leader election and the status writes.
struct LeadershipStats {
  kube::LeaderElectionStats election;
  StatusWriterStats status;
};

class KubernetesSourceMetrics final : public prometheus::Collectable {
 public:
  using Read = std::function<KubernetesSourceStats()>;
  using Problems = std::function<size_t()>;
  // Read on the control plane's event loop, which serves the metrics.
  using Leadership = std::function<LeadershipStats()>;

  KubernetesSourceMetrics(Read read, Problems translation_problems, Leadership leadership);

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  Read read_;
  Problems translation_problems_;
  Leadership leadership_;
};

}  // namespace weft::controlplane
