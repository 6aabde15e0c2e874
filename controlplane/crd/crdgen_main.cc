// weft-crdgen: writes the CustomResourceDefinitions of the mesh API (weft.dev/v1alpha1),
// generated from the weft.mesh.v1alpha1 protos, or checks that a directory holds exactly them.
//
//   weft-crdgen <out-dir>          write <plural>.weft.dev.yaml
//   weft-crdgen --check <dir>      exit 1 and print a diff if <dir> differs
#include <iostream>
#include <string_view>

#include "controlplane/crd/crd_generator.h"

namespace {

int usage() {
  std::cerr << "usage: weft-crdgen <out-dir>\n"
               "       weft-crdgen --check <dir>\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using weft::controlplane::crd::GeneratedFile;
  const bool check = argc == 3 && std::string_view(argv[1]) == "--check";
  if (!check && (argc != 2 || std::string_view(argv[1]).rfind("-", 0) == 0)) {
    return usage();
  }
  const std::string_view directory = check ? argv[2] : argv[1];

  std::vector<GeneratedFile> files;
  if (const std::string error = weft::controlplane::crd::generateCrdFiles(files); !error.empty()) {
    std::cerr << "weft-crdgen: " << error << "\n";
    return 2;
  }
  if (check) {
    const std::string report = weft::controlplane::crd::diffCrdFiles(files, directory);
    if (report.empty()) {
      return 0;
    }
    std::cerr << report << "\nweft-crdgen: " << directory
              << " is out of date with the protos; regenerate it with `"
              << weft::controlplane::crd::kRegenerateCommand << "`\n";
    return 1;
  }
  if (const std::string error = weft::controlplane::crd::writeCrdFiles(files, directory);
      !error.empty()) {
    std::cerr << "weft-crdgen: " << error << "\n";
    return 2;
  }
  return 0;
}
