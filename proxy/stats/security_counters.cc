#include "proxy/stats/security_counters.h"

namespace weft::proxy {

SecurityCounters& securityCounters() {
  static SecurityCounters counters;
  return counters;
}

}  // namespace weft::proxy
