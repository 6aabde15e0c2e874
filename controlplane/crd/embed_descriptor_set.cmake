# Writes a binary file as a C++ byte array: cmake -DINPUT=<file> -DOUTPUT=<file.cc> -P <this>.
# Used for the mesh API's descriptor set with comments (see CMakeLists.txt).
file(READ "${INPUT}" hex HEX)
string(LENGTH "${hex}" hex_length)
math(EXPR size "${hex_length} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "((0x[0-9a-f][0-9a-f],){16})" "\\1\n" bytes "${bytes}")
file(WRITE "${OUTPUT}.tmp"
  "// Generated from ${INPUT} by embed_descriptor_set.cmake. Do not edit.\n"
  "#include \"controlplane/crd/descriptor_set.h\"\n\n"
  "namespace weft::controlplane::crd {\n\n"
  "const unsigned char kMeshDescriptorSet[] = {\n${bytes}\n};\n"
  "const std::size_t kMeshDescriptorSetSize = ${size};\n\n"
  "}  // namespace weft::controlplane::crd\n")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
