#pragma once

#include <gmock/gmock.h>

#include "proxy/upstream/lb/load_balancer.h"

namespace weft::proxy::lb {

// For tests of the layers around load balancing (router, retry): scripts which host each
// choose() returns.
class MockLoadBalancer : public LoadBalancer {
 public:
  MOCK_METHOD(Host*, choose, (const LbContext& context), (override));
};

}  // namespace weft::proxy::lb
