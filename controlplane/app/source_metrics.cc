#include "controlplane/app/source_metrics.h"

#include "controlplane/app/metric_samples.h"

namespace weft::controlplane {

prometheus::MetricFamily documentsFamily(const std::map<std::string, DocumentCounts>& documents,
                                         std::string help) {
  auto family = metricFamily("weft_cp_source_documents_total", std::move(help),
                             prometheus::MetricType::Counter);
  for (const auto& [kind, counts] : documents) {
    for (const auto& [result, value] :
         {std::pair{"accepted", counts.accepted}, std::pair{"rejected", counts.rejected},
          std::pair{"ignored", counts.ignored}}) {
      family.metric.push_back(
          counterSample(static_cast<double>(value), {{"kind", kind}, {"result", result}}));
    }
  }
  return family;
}

prometheus::MetricFamily translationProblemsFamily(size_t problems) {
  auto family = metricFamily("weft_cp_translation_problems",
                             "Things the latest configuration asks for that could not be "
                             "translated (listed in the log)",
                             prometheus::MetricType::Gauge);
  family.metric.push_back(gaugeSample(static_cast<double>(problems)));
  return family;
}

SourceMetrics::SourceMetrics(Read read, Problems translation_problems)
    : read_(std::move(read)), translation_problems_(std::move(translation_problems)) {}

std::vector<prometheus::MetricFamily> SourceMetrics::Collect() const {
  const SourceStats stats = read_();
  std::vector<prometheus::MetricFamily> out;

  out.push_back(
      documentsFamily(stats.documents,
                      "Manifest documents read, by kind and result (accepted, rejected, ignored)"));

  auto reloads = metricFamily("weft_cp_source_reloads_total", "Reads of the manifest directory",
                              prometheus::MetricType::Counter);
  reloads.metric.push_back(counterSample(static_cast<double>(stats.reloads), {}));
  out.push_back(std::move(reloads));

  auto listings =
      metricFamily("weft_cp_source_listings_total",
                   "Reads that listed the whole manifest directory tree (the others read "
                   "only the files inotify named)",
                   prometheus::MetricType::Counter);
  listings.metric.push_back(counterSample(static_cast<double>(stats.listings), {}));
  out.push_back(std::move(listings));

  auto failed = metricFamily("weft_cp_source_failed_reloads_total",
                             "Reads that could not list the manifest directory",
                             prometheus::MetricType::Counter);
  failed.metric.push_back(counterSample(static_cast<double>(stats.failed_reloads), {}));
  out.push_back(std::move(failed));

  auto errors =
      metricFamily("weft_cp_source_last_reload_errors",
                   "Errors found by the latest read of the manifest directory (0: all good)",
                   prometheus::MetricType::Gauge);
  errors.metric.push_back(gaugeSample(static_cast<double>(stats.last_reload_errors)));
  out.push_back(std::move(errors));

  out.push_back(translationProblemsFamily(translation_problems_()));
  return out;
}

}  // namespace weft::controlplane
