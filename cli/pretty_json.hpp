// Docker-style JSON output for `inspect` commands: the daemon's JSON text
// re-indented (Go's json.Indent with four spaces), so members keep the
// daemon's order and numbers keep their exact text, with "<", ">" and "&"
// (and U+2028, U+2029) escaped the way Go's encoder writes them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace berth::cli {

// Re-indents one JSON text. `raw` must be valid JSON (callers parse it
// first); white space outside strings is dropped, empty objects and arrays
// stay "{}" and "[]", each member or element goes on its own line below
// `indent` per level, ":" is followed by one space. No trailing newline.
std::string indent_json(std::string_view raw, std::string_view indent = "    ");

// The JSON array of the given JSON texts, indented as indent_json() does:
// what `docker inspect` prints for several objects ("[]" for none).
std::string indented_array(const std::vector<std::string>& raw_elements);

// `s` with "<", ">", "&" written as \u003c, \u003e, \u0026 and U+2028,
// U+2029 as \u2028, \u2029, like Go's json.Marshal. `s` is JSON text; only
// string contents can hold these characters.
std::string go_html_escape(std::string_view s);

}  // namespace berth::cli
