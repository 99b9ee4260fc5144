#include "pretty_json.hpp"

namespace berth::cli {

namespace {

// Appends one byte of string content, escaped as Go's encoder would.
// Returns how many bytes of `s` from `i` it consumed.
std::size_t escaped(std::string& out, std::string_view s, std::size_t i) {
  switch (s[i]) {
    case '<':
      out += "\\u003c";
      return 1;
    case '>':
      out += "\\u003e";
      return 1;
    case '&':
      out += "\\u0026";
      return 1;
    default:
      break;
  }
  if (s.substr(i, 2) == "\xE2\x80" && i + 2 < s.size() &&
      (s[i + 2] == '\xA8' || s[i + 2] == '\xA9')) {
    out += s[i + 2] == '\xA8' ? "\\u2028" : "\\u2029";
    return 3;
  }
  out += s[i];
  return 1;
}

}  // namespace

std::string go_html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) i += escaped(out, s, i);
  return out;
}

std::string indent_json(std::string_view raw, std::string_view indent) {
  std::string out;
  out.reserve(raw.size() * 2);
  int depth = 0;
  // Set after "{" or "[": the indent waits for the next token so that empty
  // containers print as {} and [] (as Go's json.Indent does).
  bool need_indent = false;
  auto newline = [&](int level) {
    out += '\n';
    for (int k = 0; k < level; ++k) out += indent;
  };
  for (std::size_t i = 0; i < raw.size();) {
    char c = raw[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      ++i;
      continue;
    }
    if (need_indent && c != '}' && c != ']') {
      need_indent = false;
      newline(++depth);
    }
    switch (c) {
      case '"': {
        out += '"';
        ++i;
        while (i < raw.size() && raw[i] != '"') {
          if (raw[i] == '\\' && i + 1 < raw.size()) {
            out += raw.substr(i, 2);
            i += 2;
          } else {
            i += escaped(out, raw, i);
          }
        }
        if (i < raw.size()) out += raw[i++];
        continue;
      }
      case '{':
      case '[':
        need_indent = true;
        out += c;
        break;
      case ',':
        out += c;
        newline(depth);
        break;
      case ':':
        out += ": ";
        break;
      case '}':
      case ']':
        if (need_indent) {
          need_indent = false;
        } else {
          newline(--depth);
        }
        out += c;
        break;
      default:
        out += c;
        break;
    }
    ++i;
  }
  return out;
}

std::string indented_array(const std::vector<std::string>& raw_elements) {
  std::string all = "[";
  for (std::size_t k = 0; k < raw_elements.size(); ++k) {
    if (k > 0) all += ',';
    all += raw_elements[k];
  }
  all += ']';
  return indent_json(all);
}

}  // namespace berth::cli
