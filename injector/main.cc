// weft-injector: the mutating admission webhook that adds the weft-proxy
// sidecar to pods in namespaces labelled weft.dev/inject=enabled.
#include <iostream>

#include "common/app/command_line.h"

int main(int argc, char** argv) {
  namespace po = boost::program_options;
  const weft::ProgramInfo program{"weft-injector",
                                  "the Weft sidecar injector (Kubernetes mutating webhook)",
                                  "weft-injector [options]"};
  po::options_description options("Options");
  po::variables_map values;
  if (auto exit_code = weft::parseCommandLine(argc, argv, program, options, values)) {
    return *exit_code;
  }
  std::cerr << "weft-injector: the admission webhook is not built into this version yet; see "
               "--help\n";
  return 2;
}
