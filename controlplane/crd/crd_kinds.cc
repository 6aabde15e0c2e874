#include "controlplane/crd/crd_kinds.h"

#include "weft/mesh/v1alpha1/authorization_policy.pb.h"
#include "weft/mesh/v1alpha1/destination_policy.pb.h"
#include "weft/mesh/v1alpha1/mesh_config.pb.h"
#include "weft/mesh/v1alpha1/peer_authentication.pb.h"
#include "weft/mesh/v1alpha1/traffic_route.pb.h"
#include "weft/mesh/v1alpha1/workload.pb.h"

namespace weft::controlplane::crd {

namespace mesh = weft::mesh::v1alpha1;

const std::vector<MeshKind>& meshKinds() {
  static const std::vector<MeshKind> kinds = {
      {"TrafficRoute",
       "trafficroutes",
       "trafficroute",
       "tr",
       mesh::TrafficRouteSpec::descriptor(),
       {{"Hosts", "string", ".spec.hosts", "The services the routes apply to", 0},
        {"Port", "integer", ".spec.port", "The service port the routes apply to", 1}},
       {}},
      {"DestinationPolicy",
       "destinationpolicies",
       "destinationpolicy",
       "dp",
       mesh::DestinationPolicySpec::descriptor(),
       {{"Host", "string", ".spec.host", "The service the policy applies to", 0},
        {"Load Balancer", "string", ".spec.trafficPolicy.loadBalancer.algorithm",
         "Load-balancing algorithm", 1}},
       {}},
      {"AuthorizationPolicy",
       "authorizationpolicies",
       "authorizationpolicy",
       "authz",
       mesh::AuthorizationPolicySpec::descriptor(),
       {{"Action", "string", ".spec.action", "ALLOW (when empty), DENY or AUDIT", 0},
        {"Dry Run", "boolean", ".spec.dryRun", "Evaluated and recorded, not enforced", 1}},
       {}},
      {"PeerAuthentication",
       "peerauthentications",
       "peerauthentication",
       "pa",
       mesh::PeerAuthenticationSpec::descriptor(),
       {{"Mode", "string", ".spec.mode", "Whether plaintext is accepted", 0}},
       {}},
      {"MeshConfig",
       "meshconfigs",
       "meshconfig",
       "meshcfg",
       mesh::MeshConfigSpec::descriptor(),
       {{"Trust Domain", "string", ".spec.trustDomain", "SPIFFE trust domain", 0}},
       {{"self.metadata.name == 'default'",
         "a MeshConfig must be named default; the control plane reads only that one"}}},
      {"Workload",
       "workloads",
       "workload",
       "wl",
       mesh::WorkloadSpec::descriptor(),
       {{"Address", "string", ".spec.address", "IP address of the instance", 0},
        {"ServiceAccount", "string", ".spec.serviceAccount", "Identity of the instance", 0}},
       {}},
  };
  return kinds;
}

// Every rule tests has() before reading an optional field (reading an absent one is an
// evaluation error) and iterates only lists with a maxItems, so the API server's cost
// estimate stays bounded.
const std::vector<MessageCelRule>& messageCelRules() {
  static const std::vector<MessageCelRule> rules = {
      // A split needs every weight: an omitted one would be ambiguous (0? equal shares?).
      {"weft.mesh.v1alpha1.HttpRouteRule",
       {"!has(self.backends) || size(self.backends) <= 1 || "
        "self.backends.all(b, has(b.weight))",
        "when a rule has more than one backend, every backend must set weight"}},
      // Weights are unsigned, so "the sum is positive" is "some weight is positive", which
      // needs no arithmetic that could overflow.
      {"weft.mesh.v1alpha1.HttpRouteRule",
       {"!has(self.backends) || size(self.backends) <= 1 || "
        "self.backends.exists(b, has(b.weight) && b.weight > 0)",
        "the weights of a rule's backends must not all be 0"}},
      {"weft.mesh.v1alpha1.HttpRouteRule",
       {"!has(self.rewrite) || !has(self.rewrite.pathPrefix) || (has(self.matches) && "
        "size(self.matches) > 0 && self.matches.all(m, has(m.path) && has(m.path.prefix)))",
        "rewrite.pathPrefix replaces the matched prefix, so every match of the rule must "
        "have a path prefix"}},
      {"weft.mesh.v1alpha1.LoadBalancer",
       {"has(self.consistentHash) || !has(self.algorithm) || "
        "(self.algorithm != 'RING_HASH' && self.algorithm != 'MAGLEV')",
        "consistentHash is required when algorithm is RING_HASH or MAGLEV"}},
      {"weft.mesh.v1alpha1.DestinationPolicySpec",
       {"!has(self.subsets) || "
        "self.subsets.all(s, self.subsets.exists_one(t, t.name == s.name))",
        "subset names must be unique"}},
      {"weft.mesh.v1alpha1.Tracing",
       {"has(self.collector) || !has(self.exporter) || self.exporter == 'NONE'",
        "collector is required when an exporter is set"}},
      {"weft.mesh.v1alpha1.PeerAuthenticationSpec",
       {"!has(self.portModes) || has(self.selector)",
        "portModes requires a selector: per-port modes apply to selected workloads only"}},
      {"weft.mesh.v1alpha1.PeerAuthenticationSpec",
       {"!has(self.portModes) || self.portModes.all(p, int(p) >= 1 && int(p) <= 65535)",
        "the keys of portModes must be port numbers from 1 to 65535"}},
      {"weft.mesh.v1alpha1.WorkloadSpec",
       {"!has(self.ports) || self.ports.all(p, self.ports.exists_one(q, q.port == p.port))",
        "port numbers must be unique"}},
      {"weft.mesh.v1alpha1.WorkloadSpec",
       {"!has(self.ports) || self.ports.all(p, !has(p.name) || "
        "self.ports.exists_one(q, has(q.name) && q.name == p.name))",
        "port names must be unique"}},
      {"weft.mesh.v1alpha1.WorkloadSpec",
       {"!has(self.sidecar) || !has(self.ports) || "
        "self.ports.all(p, p.port != self.sidecar.inboundPort)",
        "sidecar.inboundPort must differ from the application's ports"}},
      {"weft.mesh.v1alpha1.WorkloadSpec",
       {"!has(self.sidecar) || !has(self.trafficCapture) || !self.trafficCapture",
        "a workload's proxy either captures its traffic (trafficCapture) or listens on ports of "
        "its own (sidecar), not both"}},
  };
  return rules;
}

}  // namespace weft::controlplane::crd
