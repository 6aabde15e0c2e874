# Helpers that give every Weft target the same compile settings.
#
# Warnings are errors on our own code only: generated protobuf/gRPC sources are
# compiled without -Werror because their warnings are not ours to fix.

#
# Two GCC 12 warnings are off because they fire inside Boost.Asio's own headers
# on correct code: -Wnull-dereference (io_context executor comparison at -O2)
# and -Wmismatched-new-delete (Asio's coroutine frame allocator).
set(WEFT_WARNING_FLAGS
    -Wall -Wextra -Werror -Wpedantic -Wshadow -Wnon-virtual-dtor
    -Wcast-align -Wunused -Woverloaded-virtual -Wimplicit-fallthrough
    -Wno-mismatched-new-delete)

function(weft_target_defaults target)
  target_compile_options(${target} PRIVATE ${WEFT_WARNING_FLAGS})
  target_compile_features(${target} PUBLIC cxx_std_20)
endfunction()

# weft_library(<name> SOURCES ... [DEPS ...]): a static library of our own code.
function(weft_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
  weft_target_defaults(${name})
endfunction()

# weft_binary(<name> SOURCES ... [DEPS ...]): one of the shipped executables.
function(weft_binary name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
  weft_target_defaults(${name})
endfunction()

# weft_unit_test(<name> SOURCES ... [DEPS ...]): a GoogleTest binary registered
# with ctest under the "unit" label. Each TEST becomes its own ctest entry so a
# failure names the case.
function(weft_unit_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/tests)
  weft_target_defaults(${name})
  # The test files themselves are compiled without optimization (after the build type's -O2 or
  # -Og, so this one wins): they run for seconds in all, and -O0 compiles these gtest- and
  # Boost-heavy files in about 70 % of the time of -O2 (85 % of -Og with the sanitizers). The
  # code under test keeps the build's flags: it comes from the libraries.
  target_compile_options(${name} PRIVATE -O0)
  gtest_discover_tests(${name}
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
    PROPERTIES LABELS unit TIMEOUT 60 SKIP_REGULAR_EXPRESSION "\\[  SKIPPED \\]"
    DISCOVERY_TIMEOUT 60)
endfunction()

# weft_script_test(<name> LABEL <label> COMMAND ... [TIMEOUT s]): a test that
# drives the real binaries from a script. Exit code 77 means "skipped"; the
# test runner turns a skip into a failure when CI=true.
function(weft_script_test name)
  cmake_parse_arguments(ARG "" "LABEL;TIMEOUT" "COMMAND" ${ARGN})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 120)
  endif()
  add_test(NAME ${name} COMMAND ${ARG_COMMAND} WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  set_tests_properties(${name} PROPERTIES
    LABELS ${ARG_LABEL}
    TIMEOUT ${ARG_TIMEOUT}
    SKIP_RETURN_CODE 77
    ENVIRONMENT "WEFT_BIN_DIR=${PROJECT_BINARY_DIR}/bin;WEFT_SOURCE_DIR=${PROJECT_SOURCE_DIR};WEFT_SANITIZED=$<BOOL:${WEFT_SANITIZE}>")
endfunction()
