#pragma once

#include <memory>
#include <string>
#include <vector>

#include "controlplane/model/mesh_model.h"
#include "weft/v1/core.pb.h"

namespace weft::controlplane::testing {

// A model and the proxies whose resources the golden files record.
struct GoldenCase {
  std::string name;  // golden/<name>.txt
  std::string description;
  MeshModelPtr model;
  std::vector<weft::v1::Node> nodes;
  // Fields the case sets on purpose that today's proxy does not implement yet (retries,
  // faults, circuit breakers, ...): the acceptance test allows exactly these "not implemented"
  // errors, by the last name of their field path.
  std::vector<std::string> unimplemented_fields;
  // The certificate authority's roots given to the Translator; null: no CA.
  std::shared_ptr<const std::string> trust_bundle_pem;
};

// A stand-in for the CA's PEM roots: translation copies it without parsing it.
std::shared_ptr<const std::string> testTrustBundle();

// Names of the cases, cheap to list (for test parameters); goldenCase() builds one.
std::vector<std::string> goldenCaseNames();
GoldenCase goldenCase(const std::string& name);

}  // namespace weft::controlplane::testing
