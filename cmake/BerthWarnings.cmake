# berth_target_warnings(<target>): the project's warning set; errors in
# developer mode.
function(berth_target_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion
    -Wno-missing-field-initializers
    $<$<BOOL:${BERTH_DEVELOPER_MODE}>:-Werror>)
endfunction()
