// weftctl: the operator's command line for a Weft mesh.
#include <iostream>

#include "common/app/command_line.h"

int main(int argc, char** argv) {
  namespace po = boost::program_options;
  const weft::ProgramInfo program{"weftctl", "operate a Weft service mesh",
                                  "weftctl [options] <command> [args]"};
  po::options_description options("Options");
  po::variables_map values;
  if (auto exit_code = weft::parseCommandLine(argc, argv, program, options, values)) {
    return *exit_code;
  }
  std::cerr << "weftctl: no command given; see --help\n";
  return 2;
}
