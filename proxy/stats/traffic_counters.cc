#include "proxy/stats/traffic_counters.h"

namespace weft::proxy {

TrafficCounters& trafficCounters() {
  static TrafficCounters counters;
  return counters;
}

}  // namespace weft::proxy
