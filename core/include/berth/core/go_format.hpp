// Go's fmt verbs for the texts Docker formats with them, so messages and
// history entries read the same: %q of a string and of a []string, %v of a
// []string. Header-only: the Dockerfile library uses it without berth-core.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace berth::core {

// %q of a string: double-quoted, with Go's backslash escapes.
inline std::string go_quote(std::string_view s) {
  std::string out = "\"";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          out += buf;
        } else {
          out += ch;
        }
    }
  }
  return out + "\"";
}

// %q of a []string: ["a" "b c"].
inline std::string go_quote_list(const std::vector<std::string>& v) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? " " : "") + go_quote(v[i]);
  return out + "]";
}

// %v of a []string: [a b c].
inline std::string go_list(const std::vector<std::string>& v) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? " " : "") + v[i];
  return out + "]";
}

}  // namespace berth::core
