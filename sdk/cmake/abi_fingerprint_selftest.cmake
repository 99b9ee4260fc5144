# Proves abi_fingerprint.cmake does its job on copies of abi.h: comment and
# whitespace edits keep the fingerprint, an added member changes it, and the
# check then fails with the "bump the version" message.
#
#   cmake -DBERTH_C_COMPILER=<cc> -DBERTH_ABI_HEADER=<abi.h> -DWORK_DIR=<dir> -P abi_fingerprint_selftest.cmake
cmake_minimum_required(VERSION 3.25)
set(script "${CMAKE_CURRENT_LIST_DIR}/abi_fingerprint.cmake")
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

function(fingerprint header out_var)
  execute_process(
    COMMAND "${CMAKE_COMMAND}" -DBERTH_C_COMPILER=${BERTH_C_COMPILER} -DBERTH_ABI_HEADER=${header}
            -DMODE=print -P "${script}"
    WORKING_DIRECTORY "${WORK_DIR}"
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT rc EQUAL 0 OR NOT out MATCHES "^[0-9]+\\.[0-9]+ [0-9a-f]+$")
    message(FATAL_ERROR "fingerprint ${header} failed (${rc}): ${out} ${err}")
  endif()
  set(${out_var} "${out}" PARENT_SCOPE)
endfunction()

function(check header lock rc_var err_var)
  execute_process(
    COMMAND "${CMAKE_COMMAND}" -DBERTH_C_COMPILER=${BERTH_C_COMPILER} -DBERTH_ABI_HEADER=${header}
            -DBERTH_ABI_LOCK=${lock} -DMODE=check -P "${script}"
    WORKING_DIRECTORY "${WORK_DIR}"
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  set(${rc_var} "${rc}" PARENT_SCOPE)
  set(${err_var} "${out}${err}" PARENT_SCOPE)
endfunction()

file(READ "${BERTH_ABI_HEADER}" original)
file(WRITE "${WORK_DIR}/original.h" "${original}")
fingerprint("${WORK_DIR}/original.h" base)

# Comment-only and whitespace-only edits.
string(REPLACE "typedef struct berth_str {" "/* a new comment */\ntypedef   struct\n berth_str {  // and another\n"
       cosmetic "${original}")
string(REPLACE "const char *data;" "const char*   data;" cosmetic "${cosmetic}")
if(cosmetic STREQUAL original)
  message(FATAL_ERROR "selftest: the cosmetic edit did not apply; update this script for abi.h")
endif()
file(WRITE "${WORK_DIR}/cosmetic.h" "${cosmetic}")
fingerprint("${WORK_DIR}/cosmetic.h" cosmetic_print)
if(NOT cosmetic_print STREQUAL base)
  message(FATAL_ERROR "selftest: a comment/whitespace edit changed the fingerprint: ${base} -> ${cosmetic_print}")
endif()

# A real change: a member appended to berth_str, version not bumped.
string(REPLACE "size_t len;" "size_t len;\n  size_t cap;" changed "${original}")
file(WRITE "${WORK_DIR}/changed.h" "${changed}")
fingerprint("${WORK_DIR}/changed.h" changed_print)
if(changed_print STREQUAL base)
  message(FATAL_ERROR "selftest: adding a member kept the fingerprint ${base}")
endif()

file(WRITE "${WORK_DIR}/abi.lock" "# comment\n${base}\n")
check("${WORK_DIR}/original.h" "${WORK_DIR}/abi.lock" rc err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "selftest: check of the unchanged header failed: ${err}")
endif()
check("${WORK_DIR}/changed.h" "${WORK_DIR}/abi.lock" rc err)
if(rc EQUAL 0 OR NOT err MATCHES "abi.h changed but BERTH_ABI_MAJOR.MINOR is still [0-9]+\\.[0-9]+: bump the version")
  message(FATAL_ERROR "selftest: check of a changed header did not fail as expected (${rc}): ${err}")
endif()

# A bumped version without its lock line.
string(REGEX REPLACE "#define BERTH_ABI_MINOR [0-9]+" "#define BERTH_ABI_MINOR 99" bumped "${changed}")
file(WRITE "${WORK_DIR}/bumped.h" "${bumped}")
check("${WORK_DIR}/bumped.h" "${WORK_DIR}/abi.lock" rc err)
if(rc EQUAL 0 OR NOT err MATCHES "abi.lock has no line for ABI [0-9]+\\.99")
  message(FATAL_ERROR "selftest: a version without a lock line was not refused (${rc}): ${err}")
endif()

file(REMOVE_RECURSE "${WORK_DIR}")
message(STATUS "abi fingerprint selftest passed")
