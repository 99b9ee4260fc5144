#include <algorithm>

#include "berth/core/build/dockerfile.hpp"

namespace berth::core::build {

namespace {

constexpr std::string_view kBlank = " \t\n\v\f\r";

std::string_view trim(std::string_view s) {
  auto start = s.find_first_not_of(kBlank);
  if (start == std::string_view::npos) return {};
  return s.substr(start, s.find_last_not_of(kBlank) - start + 1);
}

// Go's filepath.Clean: no empty or "." elements, ".." resolved, no trailing '/'.
std::string clean_path(std::string_view path) {
  bool rooted = path.starts_with('/');
  std::vector<std::string_view> parts;
  while (!path.empty()) {
    auto end = std::min(path.find('/'), path.size());
    std::string_view part = path.substr(0, end);
    path.remove_prefix(std::min(end + 1, path.size()));
    if (part.empty() || part == ".") continue;
    if (part != "..") {
      parts.push_back(part);
    } else if (!parts.empty() && parts.back() != "..") {
      parts.pop_back();
    } else if (!rooted) {
      parts.push_back(part);
    }
  }
  std::string out = rooted ? "/" : "";
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += '/';
    out += parts[i];
  }
  return out.empty() ? "." : out;
}

// One element of a [...] class at p[i] ('\' escapes); a bare '-' or ']' is a
// syntax error, as in filepath.Match.
std::optional<unsigned char> class_char(std::string_view p, std::size_t& i) {
  if (i >= p.size() || p[i] == '-' || p[i] == ']') return std::nullopt;
  if (p[i] == '\\' && ++i == p.size()) return std::nullopt;
  return static_cast<unsigned char>(p[i++]);
}

// The class that opens `p` (at its '['): its length, or nothing when it is
// malformed; `matched` says whether it matches `c`.
std::optional<std::size_t> scan_class(std::string_view p, char c, bool& matched) {
  std::size_t i = 1;
  bool negated = i < p.size() && p[i] == '^';
  if (negated) ++i;
  bool hit = false;
  for (int ranges = 0;; ++ranges) {
    if (ranges > 0 && i < p.size() && p[i] == ']') break;
    auto lo = class_char(p, i);
    if (!lo) return std::nullopt;
    auto hi = lo;
    if (i < p.size() && p[i] == '-') hi = class_char(p, ++i);
    if (!hi) return std::nullopt;
    auto u = static_cast<unsigned char>(c);
    hit = hit || (*lo <= u && u <= *hi);
  }
  matched = hit != negated;
  return i + 1;
}

bool valid_pattern(std::string_view p) {
  bool unused = false;
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (p[i] == '\\' && ++i == p.size()) return false;
    if (p[i] == '[') {
      auto length = scan_class(p.substr(i), '\0', unused);
      if (!length) return false;
      i += *length - 1;
    }
  }
  return true;
}

// patternmatcher's semantics: '*' and '?' never match '/', "**" matches any
// number of directories (with its '/': "(.*/)?"), "**" at the end matches
// everything below.
bool glob(std::string_view p, std::string_view s) {
  while (!p.empty()) {
    if (p.starts_with("**")) {
      p.remove_prefix(p.size() > 2 && p[2] == '/' ? 3 : 2);
      if (p.empty()) return true;
      if (glob(p, s)) return true;
      for (auto slash = s.find('/'); slash != std::string_view::npos;
           slash = s.find('/', slash + 1)) {
        if (glob(p, s.substr(slash + 1))) return true;
      }
      return false;
    }
    if (p[0] == '*') {
      p.remove_prefix(1);
      for (std::size_t i = 0;; ++i) {
        if (glob(p, s.substr(i))) return true;
        if (i == s.size() || s[i] == '/') return false;
      }
    }
    if (s.empty()) return false;
    if (p[0] == '?') {
      if (s[0] == '/') return false;
      p.remove_prefix(1);
    } else if (p[0] == '[') {
      bool matched = false;
      auto length = scan_class(p, s[0], matched);
      if (!length || !matched) return false;
      p.remove_prefix(*length);
    } else {
      if (p[0] == '\\' && p.size() > 1) p.remove_prefix(1);
      if (p[0] != s[0]) return false;
      p.remove_prefix(1);
    }
    s.remove_prefix(1);
  }
  return s.empty();
}

// Whether `pattern` could match `dir`, one of its parents, or something below
// it: element by element while both last, and anything once "**" appears.
bool could_match_at_or_below(std::string_view pattern, std::string_view dir) {
  if (dir.empty() || dir == ".") return true;
  for (;;) {
    auto pattern_end = pattern.find('/'), dir_end = dir.find('/');
    std::string_view element = pattern.substr(0, pattern_end);
    if (element.find("**") != std::string_view::npos) return true;
    if (!glob(element, dir.substr(0, dir_end))) return false;
    if (pattern_end == std::string_view::npos || dir_end == std::string_view::npos) return true;
    pattern.remove_prefix(pattern_end + 1);
    dir.remove_prefix(dir_end + 1);
  }
}

}  // namespace

Result<IgnoreMatcher> IgnoreMatcher::parse(std::string_view text) {
  IgnoreMatcher matcher;
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  while (!text.empty()) {
    auto end = std::min(text.find('\n'), text.size());
    std::string_view line = text.substr(0, end);
    text.remove_prefix(std::min(end + 1, text.size()));
    // Only a '#' in the first column starts a comment (ignorefile.ReadAll).
    if (line.starts_with('#')) continue;
    line = trim(line);
    if (line.empty()) continue;
    bool exception = line[0] == '!';
    if (exception) line = trim(line.substr(1));
    std::string pattern(line);
    if (!pattern.empty()) {
      pattern = clean_path(pattern);
      if (pattern.size() > 1 && pattern[0] == '/') pattern.erase(0, 1);
    }
    matcher.patterns_.push_back(exception ? "!" + pattern : pattern);
    if (exception && pattern.empty()) {
      return make_error(Errc::invalid_argument, "illegal exclusion pattern: \"!\"");
    }
    if (!valid_pattern(pattern)) {
      return make_error(Errc::invalid_argument,
                        ".dockerignore pattern \"" + pattern + "\": syntax error in pattern");
    }
    matcher.rules_.push_back({std::move(pattern), exception});
  }
  return matcher;
}

// A path is excluded when the last rule matching it or one of its parents is
// not an exception (patternmatcher's MatchesOrParentMatches).
bool IgnoreMatcher::excluded(std::string_view path) const {
  bool matched = false;
  for (const Pattern& rule : rules_) {
    // Only a rule that could change the verdict is worth matching.
    if (rule.exception != matched) continue;
    bool match = glob(rule.text, path);
    for (auto slash = path.find('/'); !match && slash != std::string_view::npos;
         slash = path.find('/', slash + 1)) {
      match = glob(rule.text, path.substr(0, slash));
    }
    if (match) matched = !rule.exception;
  }
  return matched;
}

bool IgnoreMatcher::may_include_below(std::string_view dir) const {
  return std::any_of(rules_.begin(), rules_.end(), [&](const Pattern& rule) {
    return rule.exception && could_match_at_or_below(rule.text, dir);
  });
}

}  // namespace berth::core::build
