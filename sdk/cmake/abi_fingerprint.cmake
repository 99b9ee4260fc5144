# Fingerprints the plugin ABI header and checks it against sdk/abi.lock.
#
#   cmake -DBERTH_C_COMPILER=<cc> -DBERTH_ABI_HEADER=<abi.h> -DBERTH_ABI_LOCK=<abi.lock>
#         [-DMODE=check|print] -P abi_fingerprint.cmake
#
# The fingerprint is the SHA-256 of the header as the C preprocessor sees it
# (comments gone, macro definitions kept via -dD, its own #include lines left
# out so the system headers do not leak in), with whitespace reduced to what
# separates two identifiers. Comments, blank lines and reformatting therefore
# keep the fingerprint; any change to a type, member, constant or macro
# changes it.
#
# print: writes "<major>.<minor> <sha256>", the line abi.lock needs.
# check: fails unless abi.lock has exactly that line for the header's version.
cmake_minimum_required(VERSION 3.25)

foreach(var BERTH_C_COMPILER BERTH_ABI_HEADER)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "abi_fingerprint: -D${var}=... is required")
  endif()
endforeach()
if(NOT DEFINED MODE)
  set(MODE check)
endif()

file(READ "${BERTH_ABI_HEADER}" header)
if(NOT header MATCHES "#define BERTH_ABI_MAJOR ([0-9]+)")
  message(FATAL_ERROR "abi_fingerprint: ${BERTH_ABI_HEADER}: no BERTH_ABI_MAJOR")
endif()
set(major "${CMAKE_MATCH_1}")
if(NOT header MATCHES "#define BERTH_ABI_MINOR ([0-9]+)")
  message(FATAL_ERROR "abi_fingerprint: ${BERTH_ABI_HEADER}: no BERTH_ABI_MINOR")
endif()
set(version "${major}.${CMAKE_MATCH_1}")

string(REGEX REPLACE "#[ \t]*include[^\n]*" "" header "${header}")
string(RANDOM LENGTH 12 suffix)
set(input "${CMAKE_CURRENT_BINARY_DIR}/abi_fingerprint_${suffix}.h")
# -dD also prints the compiler's predefined macros; everything before the
# marker is the compiler's, everything after it the header's.
set(marker "berth_abi_fingerprint_marker")
file(WRITE "${input}" "${marker}\n${header}")
execute_process(
  COMMAND "${BERTH_C_COMPILER}" -E -P -dD -x c "${input}"
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE preprocessed
  ERROR_VARIABLE errors)
file(REMOVE "${input}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "abi_fingerprint: preprocess ${BERTH_ABI_HEADER}: ${errors}")
endif()

string(FIND "${preprocessed}" "${marker}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "abi_fingerprint: the preprocessor dropped the marker line")
endif()
string(LENGTH "${marker}" marker_length)
math(EXPR at "${at} + ${marker_length}")
string(SUBSTRING "${preprocessed}" ${at} -1 preprocessed)

string(REGEX REPLACE "[ \t\r\n]+" " " normalised "${preprocessed}")
string(REGEX REPLACE " ([^A-Za-z0-9_])" "\\1" normalised "${normalised}")
string(REGEX REPLACE "([^A-Za-z0-9_]) " "\\1" normalised "${normalised}")
string(STRIP "${normalised}" normalised)
string(SHA256 fingerprint "${normalised}")

if(MODE STREQUAL "print")
  execute_process(COMMAND "${CMAKE_COMMAND}" -E echo "${version} ${fingerprint}")
  return()
elseif(NOT MODE STREQUAL "check")
  message(FATAL_ERROR "abi_fingerprint: MODE must be check or print, not '${MODE}'")
endif()

if(NOT DEFINED BERTH_ABI_LOCK)
  message(FATAL_ERROR "abi_fingerprint: -DBERTH_ABI_LOCK=... is required to check")
endif()
file(STRINGS "${BERTH_ABI_LOCK}" lines)
set(locked "")
foreach(line IN LISTS lines)
  if(line MATCHES "^([0-9]+\\.[0-9]+)[ \t]+([0-9a-f]+)[ \t]*$" AND CMAKE_MATCH_1 STREQUAL version)
    set(locked "${CMAKE_MATCH_2}")
  endif()
endforeach()

if(locked STREQUAL "")
  message(FATAL_ERROR
    "abi.lock has no line for ABI ${version}: add \"${version} ${fingerprint}\" to ${BERTH_ABI_LOCK} "
    "once ${version} is final")
endif()
if(NOT locked STREQUAL fingerprint)
  message(FATAL_ERROR
    "abi.h changed but BERTH_ABI_MAJOR.MINOR is still ${version}: bump the version and add a line "
    "to sdk/abi.lock (locked ${version} ${locked}, header now ${fingerprint})")
endif()
message(STATUS "abi.h matches abi.lock for ABI ${version}")
