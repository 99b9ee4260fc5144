# berth_add_plugin(<word>-<id> SOURCES <src>...)
#
# Builds the berth driver plugin library libberth-<word>-<id>.so as a MODULE
# target named berth-<word>-<id>. <word> is storage, net, volume or log; <id>
# is the descriptor's id. The library links berth::sdk, compiles with hidden
# visibility, refuses undefined symbols at link time and exports exactly one
# symbol, berth_plugin_entry (linker version script plugin.map). The same
# function builds berth's in-tree plugins, so in-tree and third-party plugins
# get identical flags. Add further sources, include directories and libraries
# to the target with the usual target_* commands.
#
# In berth's own tree the library lands in ${CMAKE_BINARY_DIR}/plugins, next to
# every other in-tree plugin; out of tree it stays in the current binary
# directory. Either way it installs to ${CMAKE_INSTALL_LIBDIR}/berth/plugins
# (component "plugins").
include_guard(GLOBAL)
include(GNUInstallDirs)

function(berth_add_plugin name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "SOURCES")
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "berth_add_plugin(${name}): unexpected arguments: ${arg_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT name MATCHES "^(storage|net|volume|log)-[a-z0-9][a-z0-9-]*$")
    message(FATAL_ERROR "berth_add_plugin(${name}): the name must be <word>-<id> with <word> one of "
                        "storage, net, volume, log and <id> matching [a-z0-9][a-z0-9-]*")
  endif()
  if(NOT arg_SOURCES)
    message(FATAL_ERROR "berth_add_plugin(${name}): SOURCES is empty")
  endif()
  if(NOT TARGET berth::sdk)
    message(FATAL_ERROR "berth_add_plugin(${name}): berth::sdk is not defined; find_package(berth-sdk) first")
  endif()

  set(map "${CMAKE_CURRENT_FUNCTION_LIST_DIR}/plugin.map")
  set(target "berth-${name}")
  add_library(${target} MODULE ${arg_SOURCES})
  target_link_libraries(${target} PRIVATE berth::sdk)
  set_target_properties(${target} PROPERTIES
    PREFIX "lib"
    OUTPUT_NAME "berth-${name}"
    SUFFIX ".so"
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    LINK_DEPENDS "${map}")
  target_link_options(${target} PRIVATE
    "LINKER:--no-undefined"
    "LINKER:--version-script=${map}")

  get_target_property(sdk_imported berth::sdk IMPORTED)
  if(NOT sdk_imported)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/plugins")
  endif()
  install(TARGETS ${target}
    LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}/berth/plugins" COMPONENT plugins)
endfunction()
