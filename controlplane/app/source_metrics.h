#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>
#include <prometheus/metric_type.h>

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "controlplane/source/directory_source.h"

namespace weft::controlplane {

// Exposes a DirectorySource's counters at scrape time, so the source keeps plain counters and
// knows nothing of Prometheus.
// The families both sources expose alike: documents (or objects) read by kind and result,
// and the translation problems of the latest configuration.
prometheus::MetricFamily documentsFamily(const std::map<std::string, DocumentCounts>& documents,
                                         std::string help);
prometheus::MetricFamily translationProblemsFamily(size_t problems);

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
