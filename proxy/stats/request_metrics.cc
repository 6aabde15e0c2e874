#include "proxy/stats/request_metrics.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "common/log/logger.h"
#include "proxy/stats/prometheus_text.h"

namespace weft::proxy {
namespace {

constexpr std::string_view kUnknownValue = "unknown";

std::string internKey(std::string_view workload, std::string_view namespace_name,
                      std::string_view service) {
  std::string key;
  key.reserve(workload.size() + namespace_name.size() + service.size() + 2);
  // NUL cannot appear in any of them (names are validated), so the key is unambiguous.
  key.append(workload).push_back('\0');
  key.append(namespace_name).push_back('\0');
  key.append(service);
  return key;
}

std::string_view orUnknown(std::string_view value) {
  return value.empty() ? kUnknownValue : value;
}

constexpr uint64_t bits(uint64_t value, unsigned width) {
  return value & ((uint64_t{1} << width) - 1);
}

constexpr unsigned kSourceShift = 2;
constexpr unsigned kDestinationShift = 18;
constexpr unsigned kCodeShift = 34;
constexpr unsigned kGrpcShift = 44;
constexpr unsigned kFlagShift = 50;
constexpr uint64_t kNoGrpcStatus = 63;

}  // namespace

MetricLabelTable::MetricLabelTable() {
  peers_.push_back(
      {std::string(kUnknownValue), std::string(kUnknownValue), std::string(kUnknownValue)});
  peers_.push_back({"overflow", "overflow", "overflow"});
  ids_.emplace(internKey(kUnknownValue, kUnknownValue, kUnknownValue), kUnknown);
}

MetricLabelTable& MetricLabelTable::global() {
  static MetricLabelTable table;
  return table;
}

uint32_t MetricLabelTable::intern(std::string_view workload, std::string_view namespace_name,
                                  std::string_view service) {
  workload = orUnknown(workload);
  namespace_name = orUnknown(namespace_name);
  service = orUnknown(service);
  std::string key = internKey(workload, namespace_name, service);
  const std::lock_guard lock(mutex_);
  if (auto found = ids_.find(key); found != ids_.end()) {
    return found->second;
  }
  if (peers_.size() >= kMaxEntries) {
    if (peers_.size() == kMaxEntries) {
      // Said once: the table stops growing here.
      peers_.push_back({"overflow", "overflow", "overflow"});
      weft::log::logger("stats").warn(
          "more than {} distinct workload/namespace/service label sets; further ones are "
          "reported as 'overflow'",
          kMaxEntries);
    }
    return kOverflow;
  }
  const auto id = static_cast<uint32_t>(peers_.size());
  peers_.push_back({std::string(workload), std::string(namespace_name), std::string(service)});
  ids_.emplace(std::move(key), id);
  return id;
}

MetricPeer MetricLabelTable::peer(uint32_t id) const {
  const std::lock_guard lock(mutex_);
  return id < peers_.size() ? peers_[id] : peers_[kUnknown];
}

size_t MetricLabelTable::size() const {
  const std::lock_guard lock(mutex_);
  return std::min<size_t>(peers_.size(), kMaxEntries);
}

std::string_view directionName(TrafficDirection direction) {
  switch (direction) {
    case TrafficDirection::kInbound:
      return "inbound";
    case TrafficDirection::kOutbound:
      return "outbound";
    case TrafficDirection::kUnspecified:
      break;
  }
  return "unspecified";
}

uint64_t RequestSeries::key() const {
  const uint64_t grpc =
      grpc_status < 0 ? kNoGrpcStatus : std::min<uint64_t>(grpc_status, kNoGrpcStatus - 1);
  return bits(static_cast<uint64_t>(direction), 2) |
         (bits(std::min<uint32_t>(source, 0xffff), 16) << kSourceShift) |
         (bits(std::min<uint32_t>(destination, 0xffff), 16) << kDestinationShift) |
         (bits(std::min<uint16_t>(response_code, 999), 10) << kCodeShift) |
         (bits(grpc, 6) << kGrpcShift) | (bits(response_flag, 8) << kFlagShift);
}

RequestSeries RequestSeries::fromKey(uint64_t key) {
  RequestSeries series;
  series.direction = static_cast<TrafficDirection>(bits(key, 2));
  series.source = static_cast<uint32_t>(bits(key >> kSourceShift, 16));
  series.destination = static_cast<uint32_t>(bits(key >> kDestinationShift, 16));
  series.response_code = static_cast<uint16_t>(bits(key >> kCodeShift, 10));
  const uint64_t grpc = bits(key >> kGrpcShift, 6);
  series.grpc_status = grpc == kNoGrpcStatus ? int8_t{-1} : static_cast<int8_t>(grpc);
  series.response_flag = static_cast<uint8_t>(bits(key >> kFlagShift, 8));
  return series;
}

void RequestMetricsShard::setBuckets(std::span<const double> bounds_seconds) {
  bounds_ns_.clear();
  for (double bound : bounds_seconds) {
    bounds_ns_.push_back(static_cast<int64_t>(std::llround(bound * 1e9)));
  }
  requests_.clear();
}

void RequestMetricsShard::recordRequest(uint64_t series_key, std::chrono::nanoseconds duration,
                                        uint64_t request_bytes, uint64_t response_bytes) {
  if (!enabled_) {
    return;
  }
  RequestSlot& slot = requests_[series_key];
  if (slot.buckets.empty()) {
    slot.buckets.assign(bounds_ns_.size() + 1, 0);
  }
  ++slot.count;
  slot.request_bytes += request_bytes;
  slot.response_bytes += response_bytes;
  const int64_t ns = std::max<int64_t>(duration.count(), 0);
  slot.duration_ns += static_cast<uint64_t>(ns);
  // Prometheus buckets are upper-inclusive (le): the first bound not below the value.
  const size_t bucket = static_cast<size_t>(
      std::lower_bound(bounds_ns_.begin(), bounds_ns_.end(), ns) - bounds_ns_.begin());
  ++slot.buckets[bucket];
  dirty_ = true;
}

void RequestMetricsShard::recordTcpOpened(uint64_t series_key) {
  if (!enabled_) {
    return;
  }
  ++tcp_[series_key].opened;
  dirty_ = true;
}

void RequestMetricsShard::recordTcpClosed(uint64_t series_key, uint64_t received_bytes,
                                          uint64_t sent_bytes) {
  if (!enabled_) {
    return;
  }
  TcpSlot& slot = tcp_[series_key];
  ++slot.closed;
  slot.received_bytes += received_bytes;
  slot.sent_bytes += sent_bytes;
  dirty_ = true;
}

void RequestMetricsShard::flushInto(RequestMetricsRegistry& registry) {
  if (!dirty_) {
    return;
  }
  registry.add(*this);
  for (auto& [key, slot] : requests_) {
    slot.count = slot.request_bytes = slot.response_bytes = slot.duration_ns = 0;
    std::fill(slot.buckets.begin(), slot.buckets.end(), 0);
  }
  for (auto& [key, slot] : tcp_) {
    slot = TcpSlot{};
  }
  dirty_ = false;
}

std::vector<double> RequestMetricsRegistry::defaultBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
          0.1,    0.25,    0.5,    1,     2.5,    5,     10,   30,    60};
}

RequestMetricsRegistry::RequestMetricsRegistry(std::vector<double> bounds_seconds,
                                               std::vector<std::string> flag_names)
    : bounds_(std::move(bounds_seconds)), flag_names_(std::move(flag_names)) {}

void RequestMetricsRegistry::add(const RequestMetricsShard& shard) {
  const std::lock_guard lock(mutex_);
  for (const auto& [key, slot] : shard.requests_) {
    if (slot.count == 0) {
      continue;
    }
    RequestMetricsShard::RequestSlot& total = requests_[key];
    if (total.buckets.size() != slot.buckets.size()) {
      total.buckets.assign(slot.buckets.size(), 0);
    }
    total.count += slot.count;
    total.request_bytes += slot.request_bytes;
    total.response_bytes += slot.response_bytes;
    total.duration_ns += slot.duration_ns;
    for (size_t b = 0; b < slot.buckets.size(); ++b) {
      total.buckets[b] += slot.buckets[b];
    }
  }
  for (const auto& [key, slot] : shard.tcp_) {
    if (slot.opened == 0 && slot.closed == 0) {
      continue;
    }
    RequestMetricsShard::TcpSlot& total = tcp_[key];
    total.opened += slot.opened;
    total.closed += slot.closed;
    total.received_bytes += slot.received_bytes;
    total.sent_bytes += slot.sent_bytes;
  }
}

void RequestMetricsRegistry::render(std::string& out) const {
  // Copied under the lock, rendered without it: a scrape never holds up a flush for long.
  std::vector<std::pair<uint64_t, RequestMetricsShard::RequestSlot>> requests;
  std::vector<std::pair<uint64_t, RequestMetricsShard::TcpSlot>> tcp;
  {
    const std::lock_guard lock(mutex_);
    requests.assign(requests_.begin(), requests_.end());
    tcp.assign(tcp_.begin(), tcp_.end());
  }
  std::sort(requests.begin(), requests.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::sort(tcp.begin(), tcp.end(), [](const auto& a, const auto& b) { return a.first < b.first; });

  const MetricLabelTable& table = MetricLabelTable::global();
  struct Labels {
    std::string direction, source_workload, source_namespace, destination_workload,
        destination_namespace, destination_service, code, grpc, flag;
  };
  auto labelsOf = [&](uint64_t key) {
    const RequestSeries series = RequestSeries::fromKey(key);
    const MetricPeer source = table.peer(series.source);
    MetricPeer destination = table.peer(series.destination);
    Labels labels{std::string(directionName(series.direction)),
                  source.workload,
                  source.namespace_name,
                  std::move(destination.workload),
                  std::move(destination.namespace_name),
                  std::move(destination.service),
                  std::to_string(series.response_code),
                  series.grpc_status < 0 ? std::string() : std::to_string(series.grpc_status),
                  series.response_flag < flag_names_.size() && series.response_flag != 0
                      ? flag_names_[series.response_flag]
                      : std::string("-")};
    return labels;
  };
  std::vector<Labels> request_labels;
  request_labels.reserve(requests.size());
  for (const auto& [key, slot] : requests) {
    request_labels.push_back(labelsOf(key));
  }
  auto requestLabelList = [](const Labels& l) {
    return std::array<MetricLabel, 9>{{{"direction", l.direction},
                                       {"source_workload", l.source_workload},
                                       {"source_namespace", l.source_namespace},
                                       {"destination_workload", l.destination_workload},
                                       {"destination_namespace", l.destination_namespace},
                                       {"destination_service", l.destination_service},
                                       {"response_code", l.code},
                                       {"grpc_status", l.grpc},
                                       {"response_flags", l.flag}}};
  };

  out.reserve(out.size() + 512 + requests.size() * (2200 + 160 * bounds_.size()));
  PrometheusTextWriter writer(out);
  writer.beginFamily("weft_requests_total", MetricType::kCounter,
                     "Requests the proxy answered or relayed, by source, destination and outcome.");
  for (size_t i = 0; i < requests.size(); ++i) {
    const auto labels = requestLabelList(request_labels[i]);
    writer.sample({}, labels, requests[i].second.count);
  }
  writer.beginFamily("weft_request_duration_seconds", MetricType::kHistogram,
                     "Time from a request's first byte to the end of its response.");
  for (size_t i = 0; i < requests.size(); ++i) {
    const auto labels = requestLabelList(request_labels[i]);
    const auto& slot = requests[i].second;
    writer.histogram(labels, bounds_, slot.buckets, static_cast<double>(slot.duration_ns) / 1e9);
  }
  writer.beginFamily("weft_request_bytes_total", MetricType::kCounter,
                     "Request body bytes received from clients.");
  for (size_t i = 0; i < requests.size(); ++i) {
    writer.sample({}, requestLabelList(request_labels[i]), requests[i].second.request_bytes);
  }
  writer.beginFamily("weft_response_bytes_total", MetricType::kCounter,
                     "Response body bytes sent to clients.");
  for (size_t i = 0; i < requests.size(); ++i) {
    writer.sample({}, requestLabelList(request_labels[i]), requests[i].second.response_bytes);
  }

  std::vector<Labels> tcp_labels;
  tcp_labels.reserve(tcp.size());
  for (const auto& [key, slot] : tcp) {
    tcp_labels.push_back(labelsOf(key));
  }
  auto tcpLabelList = [](const Labels& l) {
    return std::array<MetricLabel, 6>{{{"direction", l.direction},
                                       {"source_workload", l.source_workload},
                                       {"source_namespace", l.source_namespace},
                                       {"destination_workload", l.destination_workload},
                                       {"destination_namespace", l.destination_namespace},
                                       {"destination_service", l.destination_service}}};
  };
  const struct {
    std::string_view name;
    std::string_view help;
    uint64_t RequestMetricsShard::TcpSlot::*field;
  } kTcpFamilies[] = {
      {"weft_tcp_connections_opened_total", "TCP connections proxied, counted when opened.",
       &RequestMetricsShard::TcpSlot::opened},
      {"weft_tcp_connections_closed_total", "TCP connections proxied, counted when closed.",
       &RequestMetricsShard::TcpSlot::closed},
      {"weft_tcp_received_bytes_total",
       "Bytes received from the downstream side of closed TCP connections.",
       &RequestMetricsShard::TcpSlot::received_bytes},
      {"weft_tcp_sent_bytes_total", "Bytes sent to the downstream side of closed TCP connections.",
       &RequestMetricsShard::TcpSlot::sent_bytes},
  };
  for (const auto& family : kTcpFamilies) {
    writer.beginFamily(family.name, MetricType::kCounter, family.help);
    for (size_t i = 0; i < tcp.size(); ++i) {
      writer.sample({}, tcpLabelList(tcp_labels[i]), tcp[i].second.*family.field);
    }
  }
}

}  // namespace weft::proxy
