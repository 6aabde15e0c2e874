#include "common/app/command_line.h"

#include <iostream>

#include "common/version/version.h"

namespace weft {

namespace po = boost::program_options;

std::optional<int> parseCommandLine(int argc, const char* const argv[], const ProgramInfo& program,
                                    po::options_description& options, po::variables_map& values) {
  return parseCommandLine(argc, argv, program, options, po::positional_options_description(),
                          values);
}

std::optional<int> parseCommandLine(int argc, const char* const argv[], const ProgramInfo& program,
                                    po::options_description& options,
                                    const po::positional_options_description& positional,
                                    po::variables_map& values) {
  options.add_options()("help,h", "print this help and exit")("version",
                                                              "print the version and exit");
  try {
    po::store(po::command_line_parser(argc, argv).options(options).positional(positional).run(),
              values);
    if (values.count("help") != 0) {
      std::cout << program.name << " - " << program.summary << "\n\nUsage: " << program.usage
                << "\n\n"
                << options << "\n";
      return 0;
    }
    if (values.count("version") != 0) {
      std::cout << versionLine(program.name) << "\n";
      return 0;
    }
    po::notify(values);
  } catch (const po::error& e) {
    // Command-line errors are user input: say what is wrong and how to get help.
    std::cerr << program.name << ": " << e.what() << "\nTry '" << program.name
              << " --help' for the options.\n";
    return 2;
  }
  return std::nullopt;
}

}  // namespace weft
