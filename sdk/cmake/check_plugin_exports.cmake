# Fails unless the plugin library exports exactly one symbol,
# berth_plugin_entry, as a function.
#
#   cmake -DPLUGIN=<libberth-….so> [-DNM=<nm>] -P check_plugin_exports.cmake
cmake_minimum_required(VERSION 3.25)
if(NOT DEFINED NM OR NM STREQUAL "")
  set(NM nm)
endif()
if(NOT EXISTS "${PLUGIN}")
  message(FATAL_ERROR "check exports: ${PLUGIN}: no such file")
endif()
execute_process(COMMAND "${NM}" -D --defined-only "${PLUGIN}"
  RESULT_VARIABLE rc OUTPUT_VARIABLE listing ERROR_VARIABLE errors)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "check exports: ${NM} -D --defined-only ${PLUGIN}: ${errors}")
endif()
string(REGEX MATCHALL "[^\n]+" lines "${listing}")
set(symbols "")
foreach(line IN LISTS lines)
  if(line MATCHES "^[0-9a-fA-F]* *([A-Za-z]) (.+)$")
    list(APPEND symbols "${CMAKE_MATCH_1} ${CMAKE_MATCH_2}")
  endif()
endforeach()
if(NOT symbols STREQUAL "T berth_plugin_entry")
  string(REPLACE ";" "\n  " shown "${symbols}")
  message(FATAL_ERROR "${PLUGIN} must export exactly the function berth_plugin_entry; it exports:\n  ${shown}")
endif()
message(STATUS "${PLUGIN} exports only berth_plugin_entry")
