#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <vector>

namespace weft::proxy::lb {

// Load-balancing settings of one cluster in typed form, parsed once from weft.v1.Cluster and
// ClusterLoadAssignment (see lb_config_proto.h) and never re-read on the request path. Defaults
// and bounds are those of the API (proto/weft/v1/cluster.proto, endpoint.proto).

enum class LbPolicy : uint8_t { kRoundRobin, kLeastRequest, kRandom, kRingHash, kMaglev };

const char* lbPolicyName(LbPolicy policy);

struct LbPolicyConfig {
  LbPolicy policy = LbPolicy::kRoundRobin;

  // LEAST_REQUEST: hosts drawn per pick, [2, 100].
  uint32_t choice_count = 2;

  // RING_HASH: ring size bounds, [1, 8388608], minimum <= maximum.
  uint64_t minimum_ring_size = 1024;
  uint64_t maximum_ring_size = 8388608;

  // MAGLEV: lookup table size, a prime in [3, 5000011]; a non-prime is rounded up to the next
  // prime by the table itself.
  uint64_t maglev_table_size = 65537;

  // Pick a locality first (weight x healthy fraction), then a host within it. Ignored by
  // RING_HASH and MAGLEV, whose hash must decide alone (as in Envoy).
  bool locality_weighted = false;

  // Percent of usable hosts of a priority that must be healthy (or degraded) for health to be
  // honoured; below it the priority balances over all its hosts. 0 disables panic mode.
  double healthy_panic_threshold = 50.0;

  // Headroom for priority spillover, percent, [100, 1000].
  uint32_t overprovisioning_factor = 140;
};

// Out-of-range settings are brought into the API's bounds rather than rejected: validation (and
// the NACK that explains it) happens before a config reaches the proxy's data plane; this only
// keeps a bad value from becoming a division by zero or an unbounded loop.
LbPolicyConfig normalizePolicy(LbPolicyConfig config);

// Health of an endpoint as the control plane reports it (LbEndpoint.health_status).
enum class EdsHealth : uint8_t {
  kHealthy,    // HEALTHY or HEALTH_STATUS_UNKNOWN
  kUnhealthy,  // UNHEALTHY: traffic only in panic mode
  kDraining,   // DRAINING: never new requests, not even in panic mode
  kDegraded,   // DEGRADED: traffic only when healthy hosts fall short
};

struct EndpointConfig {
  boost::asio::ip::tcp::endpoint address;
  uint32_t weight = 1;  // [1, 1000000]; 0 is treated as 1
  EdsHealth health = EdsHealth::kHealthy;
};

// One LocalityLbEndpoints: endpoints sharing a locality and a priority.
struct LocalityConfig {
  uint32_t priority = 0;
  // load_balancing_weight of the locality; 0 when unset, which gets no traffic when locality
  // weighting is on.
  uint32_t weight = 0;
  std::vector<EndpointConfig> endpoints;
};

struct ClusterLbConfig {
  LbPolicyConfig policy;
  std::vector<LocalityConfig> localities;
};

}  // namespace weft::proxy::lb
