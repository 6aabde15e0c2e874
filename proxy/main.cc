// weft-proxy: the sidecar data plane.
#include <iostream>

#include "common/app/command_line.h"

int main(int argc, char** argv) {
  namespace po = boost::program_options;
  const weft::ProgramInfo program{"weft-proxy", "the Weft sidecar proxy",
                                  "weft-proxy [options]"};
  po::options_description options("Options");
  po::variables_map values;
  if (auto exit_code = weft::parseCommandLine(argc, argv, program, options, values)) {
    return *exit_code;
  }
  return 0;
}
