#pragma once

#include <map>
#include <string>
#include <vector>

#include "controlplane/model/mesh_model.h"
#include "controlplane/resources/built_resource.h"
#include "controlplane/translate/mesh_settings.h"
#include "controlplane/translate/problem_log.h"
#include "weft/v1/authorization.pb.h"

namespace weft::controlplane {

// One AuthorizationPolicy manifest as the proxy's weft.v1.AuthorizationPolicy, named
// "<namespace>/<name>": service accounts "<ns>/<sa>" become the principals
// "spiffe://<trust domain>/ns/<ns>/sa/<sa>", everything else is carried over.
//
// A value the proxy cannot express (a "*" inside a pattern rather than at one end, a
// malformed service account, a method that is not one) is reported, naming the policy and the
// field, and replaced in the direction that errs towards denying:
//   * ALLOW: the rule may only become narrower. An invalid value of a list that any value
//     may match (principals, paths, methods, ...) is dropped; a list left empty by that makes
//     its source or operation match nothing, so the entry is dropped, and a rule whose sources
//     or operations are all dropped is dropped. In an exclusion list (not_*), an invalid value
//     is widened (see DENY), so it excludes at least what was written.
//   * DENY and AUDIT: the rule may only become broader. An invalid pattern is widened to the
//     text before its first "*" followed by "*" ("/a/*/b" -> "/a/*"; "*a*" -> "*"), a method
//     list with an invalid method matches any method; in an exclusion list the invalid value
//     is dropped.
// An ALLOW policy left without rules still denies what no other ALLOW policy allows.
weft::v1::AuthorizationPolicy translateAuthorizationPolicy(const AuthorizationPolicy& policy,
                                                           const MeshSettings& settings,
                                                           ProblemLog& problems);

// "<namespace>/<name>".
std::string authorizationPolicyName(const AuthorizationPolicy& policy);

// The translated AuthorizationPolicies of a model and which of them apply to a workload: those
// of its namespace without a selector (or with one without labels), those of its namespace
// whose selector's labels the workload carries, and those of the root namespace without a
// selector (mesh-wide). Each is built once per model; a policy object that a previous model
// also had (the same object, under the same MeshConfig) keeps its resource.
class AuthorizationPolicies {
 public:
  // `mesh_mtls`: whether callers are identified (a certificate authority exists); without it,
  // rules on callers' identities are reported, since they can match no plaintext caller.
  AuthorizationPolicies(const MeshModel& model, const MeshSettings& settings, bool mesh_mtls,
                        const AuthorizationPolicies* previous, ProblemLog& problems);

  // The names of the policies that apply to the workload, sorted.
  std::vector<std::string> namesFor(const Workload& workload) const;

  // The resource of a name namesFor() returned.
  const BuiltResourcePtr& resource(const std::string& name) const;

 private:
  struct Entry {
    const AuthorizationPolicy* policy = nullptr;
    BuiltResourcePtr resource;
    std::vector<std::string> problems;
  };
  struct NamespacePolicies {
    std::vector<std::string> namespace_wide;                                    // names
    std::vector<std::pair<const AuthorizationPolicy*, std::string>> selectors;  // and names
  };

  std::map<std::string, Entry, std::less<>> by_name_;
  std::map<std::string, NamespacePolicies, std::less<>> by_namespace_;
};

}  // namespace weft::controlplane
