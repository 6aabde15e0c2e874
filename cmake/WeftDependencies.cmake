# weft::<name>: a third-party library the way our targets link it.
#
# Normally the shared library of the Debian package. An executable that sets the target
# property WEFT_STATIC_DEPS (weft-proxy, the sidecar) links Debian's static archive instead:
# only the objects it uses are copied in, and no shared library is mapped and relocated at
# start, which saves the sidecar 1.7 MiB of resident memory (docs/decisions.md 39). The choice
# is made per executable, on the one being linked: the control plane keeps the shared
# libprotobuf that its gRPC library also uses, so the process holds one copy.
#
# The property is read from the target being linked ($<TARGET_PROPERTY:...> without a target
# in a link interface means the consumer), so libraries shared by both binaries need no
# variant of their own.
function(weft_dependency name shared archive)
  find_library(WEFT_ARCHIVE_${name} NAMES ${archive} NO_DEFAULT_PATH
               PATHS /usr/lib/${CMAKE_LIBRARY_ARCHITECTURE} /usr/lib)
  add_library(weft_dependency_${name} INTERFACE)
  add_library(weft::${name} ALIAS weft_dependency_${name})
  set(static "$<BOOL:$<TARGET_PROPERTY:WEFT_STATIC_DEPS>>")
  if(WEFT_ARCHIVE_${name})
    target_link_libraries(weft_dependency_${name} INTERFACE
                          "$<$<NOT:${static}>:${shared}>"
                          "$<${static}:${WEFT_ARCHIVE_${name}}>"
                          ${ARGN})
  else()
    message(STATUS "no ${archive}: weft-proxy links ${shared} as a shared library")
    target_link_libraries(weft_dependency_${name} INTERFACE ${shared})
  endif()
  # Headers and definitions come from the package's target in either case.
  target_include_directories(weft_dependency_${name} SYSTEM INTERFACE
                             $<TARGET_PROPERTY:${shared},INTERFACE_INCLUDE_DIRECTORIES>)
  target_compile_definitions(weft_dependency_${name} INTERFACE
                             $<TARGET_PROPERTY:${shared},INTERFACE_COMPILE_DEFINITIONS>)
endfunction()

# weft_dependency_target(<name> <shared target> <static target>): the same, where the static
# variant is a library we build (from a package's headers) rather than an archive it ships.
function(weft_dependency_target name shared static_target)
  add_library(weft_dependency_${name} INTERFACE)
  add_library(weft::${name} ALIAS weft_dependency_${name})
  set(static "$<BOOL:$<TARGET_PROPERTY:WEFT_STATIC_DEPS>>")
  target_link_libraries(weft_dependency_${name} INTERFACE
                        "$<$<NOT:${static}>:${shared}>"
                        "$<${static}:${static_target}>")
  target_include_directories(weft_dependency_${name} SYSTEM INTERFACE
                             $<TARGET_PROPERTY:${shared},INTERFACE_INCLUDE_DIRECTORIES>)
  target_compile_definitions(weft_dependency_${name} INTERFACE
                             $<TARGET_PROPERTY:${shared},INTERFACE_COMPILE_DEFINITIONS>)
endfunction()

