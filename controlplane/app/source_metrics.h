#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>
#include <prometheus/metric_type.h>

#include <functional>
#include <vector>

#include "controlplane/source/directory_source.h"

namespace weft::controlplane {

// Exposes a DirectorySource's counters at scrape time, so the source keeps plain counters and
// knows nothing of Prometheus.
class SourceMetrics final : public prometheus::Collectable {
 public:
  using Read = std::function<SourceStats()>;
  using Problems = std::function<size_t()>;

  SourceMetrics(Read read, Problems translation_problems);

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  Read read_;
  Problems translation_problems_;
};

}  // namespace weft::controlplane
