# The out-of-tree plugin test: installs berth's SDK from a build tree into a
# fresh prefix, builds this directory's plugin against it like a third
# party, checks that the plugin exports exactly berth_plugin_entry and runs
# the installed conformance suite against it. Leaves the plugin at
# <CONSUMER_BUILD_DIR>/libberth-log-example.so.
#
#   cmake -DBERTH_BUILD_DIR=... -DPREFIX=... -DCONSUMER_BUILD_DIR=... -DCHECK_EXPORTS=...
#         [-DGENERATOR=... -DBUILD_TYPE=... -DC_COMPILER=... -DCXX_COMPILER=...
#          -DCXX_FLAGS=... -DLINKER_FLAGS=... -DNM=...] -P run.cmake
cmake_minimum_required(VERSION 3.25)

function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "sdk consumer: ${what} failed (${rc}):\n${out}\n${err}")
  endif()
  message(STATUS "sdk consumer: ${what}: ok")
endfunction()

file(REMOVE_RECURSE "${PREFIX}" "${CONSUMER_BUILD_DIR}")

set(install "${CMAKE_COMMAND}" --install "${BERTH_BUILD_DIR}" --component sdk --prefix "${PREFIX}")
if(BUILD_TYPE)
  list(APPEND install --config "${BUILD_TYPE}")
endif()
run("install the SDK" ${install})

set(configure "${CMAKE_COMMAND}" -S "${CMAKE_CURRENT_LIST_DIR}" -B "${CONSUMER_BUILD_DIR}"
  "-DCMAKE_PREFIX_PATH=${PREFIX}")
foreach(pair IN ITEMS "GENERATOR;-G" "BUILD_TYPE;-DCMAKE_BUILD_TYPE="
                      "C_COMPILER;-DCMAKE_C_COMPILER=" "CXX_COMPILER;-DCMAKE_CXX_COMPILER="
                      "CXX_FLAGS;-DCMAKE_CXX_FLAGS=" "LINKER_FLAGS;-DCMAKE_EXE_LINKER_FLAGS="
                      "LINKER_FLAGS;-DCMAKE_MODULE_LINKER_FLAGS=")
  list(GET pair 0 var)
  list(GET pair 1 flag)
  if(NOT "${${var}}" STREQUAL "")
    if(flag STREQUAL "-G")
      list(APPEND configure -G "${${var}}")
    else()
      list(APPEND configure "${flag}${${var}}")
    endif()
  endif()
endforeach()
run("configure against the installed SDK" ${configure})
run("build" "${CMAKE_COMMAND}" --build "${CONSUMER_BUILD_DIR}")

set(plugin "${CONSUMER_BUILD_DIR}/libberth-log-example.so")
run("check exports" "${CMAKE_COMMAND}" -DPLUGIN=${plugin} -DNM=${NM} -P "${CHECK_EXPORTS}")

set(conformance "${CONSUMER_BUILD_DIR}/log-example-conformance")
if(NOT EXISTS "${conformance}")
  message(FATAL_ERROR "sdk consumer: the installed SDK came without its conformance suite")
endif()
run("conformance suite" "${conformance}" --gtest_brief=1)
