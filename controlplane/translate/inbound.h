#pragma once

#include <vector>

#include "controlplane/resources/built_resource.h"
#include "controlplane/translate/problem_log.h"
#include "controlplane/translate/service_catalog.h"

namespace weft::controlplane {

// What a proxy needs to deliver traffic to its own application: a STATIC cluster
// "inbound/<port>" per application port that a service selecting the workload targets, the
// route configurations and the "inbound" listener. These depend on the workload only, so one
// set serves every connection of that workload's proxy.
struct InboundResources {
  std::vector<BuiltResourcePtr> clusters;  // sorted by name
  std::vector<BuiltResourcePtr> routes;    // sorted by name
  // Null with traffic capture when no service selects the workload (no chain to serve).
  BuiltResourcePtr listener;
};

// Local mode (the workload has a sidecar block): the listener on <address>:<inbound_port>
// routes by Host, with one virtual host per HTTP port of each selecting service, to
// <address>:<target port>. TCP ports are not reachable without capture and are left out.
// With capture: the listener on 0.0.0.0:15006 has a chain per target port (HTTP: routed by
// "inbound/<port>" to 127.0.0.1:<port>; TCP: forwarded there).
InboundResources inboundResources(const Workload& workload, const ServiceCatalog& catalog,
                                  ProblemLog& problems);

}  // namespace weft::controlplane
