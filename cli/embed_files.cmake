# Writes text files into a C++ source as byte arrays, with their paths:
#   cmake -DROOT=<dir> -DFILES=<a|b/c|...> -DOUTPUT=<file.cc> -P embed_files.cmake
# FILES are paths relative to ROOT, separated by "|" (a ";" would have to survive the shell).
# Used for the install manifests of deploy/k8s that `weftctl install` prints (CMakeLists.txt);
# the same technique as controlplane/crd/embed_descriptor_set.cmake.
string(REPLACE "|" ";" files "${FILES}")
set(arrays "")
set(entries "")
set(index 0)
foreach(file IN LISTS files)
  file(READ "${ROOT}/${file}" hex HEX)
  string(LENGTH "${hex}" hex_length)
  math(EXPR size "${hex_length} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(REGEX REPLACE "((0x[0-9a-f][0-9a-f],){16})" "\\1\n" bytes "${bytes}")
  string(APPEND arrays "const unsigned char kFile${index}[] = {\n${bytes}0x00};\n")
  string(APPEND entries
         "    {\"${file}\", std::string_view(reinterpret_cast<const char*>(kFile${index}), ${size})},\n")
  math(EXPR index "${index} + 1")
endforeach()
file(WRITE "${OUTPUT}.tmp"
  "// Generated from ${ROOT} by cli/embed_files.cmake. Do not edit.\n"
  "#include \"cli/install_manifest_files.h\"\n\n"
  "namespace weft::cli {\n"
  "namespace {\n\n"
  "${arrays}\n"
  "const EmbeddedFile kFiles[] = {\n${entries}};\n\n"
  "}  // namespace\n\n"
  "std::span<const EmbeddedFile> installManifestFiles() { return kFiles; }\n\n"
  "}  // namespace weft::cli\n")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
