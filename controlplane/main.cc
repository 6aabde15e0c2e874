// weft-controlplane: watches mesh configuration (the Kubernetes API or a
// directory of manifests), translates it into proxy resources, serves them
// over the xDS stream and signs workload certificates.
#include <iostream>

#include "common/app/command_line.h"

int main(int argc, char** argv) {
  namespace po = boost::program_options;
  const weft::ProgramInfo program{
      "weft-controlplane", "the Weft control plane: config sources, translation, xDS server and CA",
      "weft-controlplane [options]"};
  po::options_description options("Options");
  po::variables_map values;
  if (auto exit_code = weft::parseCommandLine(argc, argv, program, options, values)) {
    return *exit_code;
  }
  std::cerr << "weft-controlplane: no config source is built into this version yet; see --help\n";
  return 2;
}
