#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace weft::controlplane::crd {

// One file the generator writes: its name inside the output directory and its text.
struct GeneratedFile {
  std::string name;
  std::string content;
};

// How to bring deploy/k8s/crds/ up to date after a .proto change.
inline constexpr std::string_view kRegenerateCommand =
    "cmake --build <build-dir> --target weft-crds";

// Builds one CustomResourceDefinition (apiextensions.k8s.io/v1) per mesh kind from the
// weft.mesh.v1alpha1 descriptors linked into this binary, "<plural>.weft.dev.yaml"; sorted by
// name. (deploy/k8s/kustomization.yaml lists them: a kustomization beside them would make
// `kubectl apply -f deploy/k8s/crds/` fail.) The output depends only on the protos: the
// same bytes on every run and machine.
//
// Returns an empty string, or why a schema could not be generated.
std::string generateCrdFiles(std::vector<GeneratedFile>& out);

// Writes `files` into `directory` (created if missing) and deletes any other
// *.weft.dev.yaml there, which would be CRDs of kinds that no longer exist. Returns an empty
// string, or what failed.
std::string writeCrdFiles(const std::vector<GeneratedFile>& files,
                          const std::filesystem::path& directory);

// How `directory` differs from `files`: missing files, changed files with a unified diff,
// and *.weft.dev.yaml files the generator does not write. Empty when they are the same.
std::string diffCrdFiles(const std::vector<GeneratedFile>& files,
                         const std::filesystem::path& directory);

}  // namespace weft::controlplane::crd
