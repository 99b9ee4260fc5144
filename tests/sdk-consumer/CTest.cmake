# Defines the CTest sdk.out_of_tree_plugin: builds tests/sdk-consumer against
# the SDK installed from this build tree (see run.cmake), leaving the plugin
# at ${CMAKE_BINARY_DIR}/sdk-consumer-build/libberth-log-example.so. Tests
# that load it declare FIXTURES_REQUIRED sdk_consumer_plugin.
#
# include() it from tests/CMakeLists.txt (any directory after sdk/ was added).
add_test(NAME sdk.out_of_tree_plugin
  COMMAND "${CMAKE_COMMAND}"
          "-DBERTH_BUILD_DIR=${CMAKE_BINARY_DIR}"
          "-DPREFIX=${CMAKE_BINARY_DIR}/sdk-consumer-prefix"
          "-DCONSUMER_BUILD_DIR=${CMAKE_BINARY_DIR}/sdk-consumer-build"
          "-DCHECK_EXPORTS=${BERTH_SDK_DIR}/cmake/check_plugin_exports.cmake"
          "-DGENERATOR=${CMAKE_GENERATOR}"
          "-DBUILD_TYPE=$<CONFIG>"
          "-DC_COMPILER=${CMAKE_C_COMPILER}"
          "-DCXX_COMPILER=${CMAKE_CXX_COMPILER}"
          "-DCXX_FLAGS=${CMAKE_CXX_FLAGS}"
          "-DLINKER_FLAGS=${CMAKE_MODULE_LINKER_FLAGS}"
          "-DNM=${CMAKE_NM}"
          -P "${CMAKE_CURRENT_LIST_DIR}/run.cmake")
set_tests_properties(sdk.out_of_tree_plugin PROPERTIES
  FIXTURES_SETUP sdk_consumer_plugin
  TIMEOUT 600)
