#include "proxy/filters/fault_injection.h"

#include <charconv>

namespace weft::proxy {
namespace {

std::optional<uint32_t> headerNumber(const RequestView& request, std::string_view name,
                                     std::string& scratch) {
  std::string_view value;
  if (request.headers == nullptr || !request.headers->find(name, scratch, value)) {
    return std::nullopt;
  }
  uint32_t number = 0;
  const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), number);
  if (error != std::errc() || end != value.data() + value.size()) {
    return std::nullopt;
  }
  return number;
}

}  // namespace

FaultVerdict decideFault(const FaultConfig& config, const RequestView& request, bool grpc,
                         uint32_t delay_draw, uint32_t abort_draw, std::string& scratch) {
  FaultVerdict verdict;
  for (const HeaderMatchConfig& header : config.headers) {
    if (!header.matches(request, scratch)) {
      return verdict;
    }
  }
  std::chrono::milliseconds delay = config.delay;
  unsigned abort_status = config.abort_http_status;
  int abort_grpc = config.abort_grpc_status;
  if (config.header_controlled) {
    if (const auto asked = headerNumber(request, "x-weft-fault-delay-ms", scratch)) {
      delay = std::chrono::milliseconds(std::min<uint32_t>(*asked, 3'600'000));
    }
    if (const auto asked = headerNumber(request, "x-weft-fault-abort", scratch);
        asked && *asked >= 200 && *asked <= 599) {
      abort_status = *asked;
      abort_grpc = -1;
    }
  }
  if (delay.count() > 0 && delay_draw < config.delay_share) {
    verdict.delay = delay;
  }
  if ((abort_status != 0 || abort_grpc > 0) && abort_draw < config.abort_share) {
    if (grpc && abort_grpc > 0) {
      verdict.abort_status = 200;
      verdict.abort_grpc_status = abort_grpc;
    } else {
      verdict.abort_status = abort_status != 0 ? abort_status : 503;
    }
  }
  if (verdict.any() && config.max_active != 0) {
    if (config.active.fetch_add(1, std::memory_order_relaxed) >= config.max_active) {
      config.active.fetch_sub(1, std::memory_order_relaxed);
      return FaultVerdict{};  // enough requests suffer already: this one passes unharmed
    }
  }
  return verdict;
}

}  // namespace weft::proxy
