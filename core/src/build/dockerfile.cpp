#include "berth/core/build/dockerfile.hpp"

#include <algorithm>
#include <array>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <set>

namespace berth::core::build {

namespace {

constexpr std::string_view kBlank = " \t\n\v\f\r";

constexpr std::array<std::string_view, 18> kKeywords = {
    "FROM",    "RUN", "CMD",     "LABEL",      "MAINTAINER",  "EXPOSE",
    "ENV",     "ADD", "COPY",    "ENTRYPOINT", "VOLUME",      "USER",
    "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL"};
// The instructions that take flags at all; which flags is the builder's call.
constexpr std::array<std::string_view, 5> kFlagged = {"FROM", "RUN", "COPY", "ADD", "HEALTHCHECK"};
// The instructions with an exec (JSON array) form; HEALTHCHECK's follows its type.
constexpr std::array<std::string_view, 8> kExecForm = {"RUN",  "CMD", "ENTRYPOINT", "SHELL",
                                                       "COPY", "ADD", "VOLUME",     "HEALTHCHECK"};

template <std::size_t N>
bool one_of(const std::array<std::string_view, N>& list, std::string_view s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

bool is_blank(char c) { return kBlank.find(c) != std::string_view::npos; }

std::string_view trim_left(std::string_view s) {
  auto start = s.find_first_not_of(kBlank);
  return start == std::string_view::npos ? std::string_view() : s.substr(start);
}

std::string_view trim(std::string_view s) {
  s = trim_left(s);
  return s.substr(0, s.find_last_not_of(kBlank) + 1);
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  return out;
}

bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::vector<std::string_view> fields(std::string_view s) {
  std::vector<std::string_view> out;
  for (s = trim_left(s); !s.empty(); s = trim_left(s)) {
    auto end = std::min(s.find_first_of(kBlank), s.size());
    out.push_back(s.substr(0, end));
    s.remove_prefix(end);
  }
  return out;
}

Error invalid(std::string message) {
  return make_error(Errc::invalid_argument, std::move(message));
}

std::string location(int line) { return "dockerfile parse error on line " + std::to_string(line); }

// A parser directive: "# name = value", name [a-zA-Z][a-zA-Z0-9]*.
std::optional<std::pair<std::string, std::string_view>> directive_of(std::string_view line) {
  if (line.empty() || line[0] != '#') return std::nullopt;
  line = trim_left(line.substr(1));
  std::size_t n = 0;
  while (n < line.size() && (is_letter(line[n]) || (n > 0 && is_digit(line[n])))) ++n;
  std::string_view rest = trim_left(line.substr(n));
  if (n == 0 || rest.empty() || rest[0] != '=') return std::nullopt;
  std::string_view value = trim(rest.substr(1));
  if (value.empty()) return std::nullopt;
  return std::pair{lower(line.substr(0, n)), value};
}

struct Directives {
  bool done = false;
  std::set<std::string> seen;
};

// Directives count only in the comment lines that open the file: the first
// line that is not one (another comment, a blank line, an instruction, an
// unknown directive) ends them.
Result<void> apply_directive(std::string_view line, Directives& directives, Dockerfile& file) {
  if (directives.done) return ok();
  auto directive = directive_of(line);
  if (!directive || (directive->first != "escape" && directive->first != "syntax" &&
                     directive->first != "check")) {
    directives.done = true;
    return ok();
  }
  auto& [name, value] = *directive;
  if (!directives.seen.insert(name).second) {
    return invalid("only one " + name + " parser directive can be used");
  }
  if (name == "escape") {
    if (value != "\\" && value != "`") {
      return invalid("invalid escape token '" + std::string(value) + "' does not match ` or \\");
    }
    file.escape = value[0];
  } else if (name == "syntax") {
    file.warnings.push_back("# syntax=" + std::string(value) +
                            " directive ignored (no BuildKit frontends)");
  }
  return ok();
}

// Strips a trailing escape character (and blanks after it); true if there was one.
bool strip_continuation(std::string& line, char escape) {
  auto last = line.find_last_not_of(" \t");
  if (last == std::string::npos || line[last] != escape) return false;
  line.resize(last);
  return true;
}

bool is_comment(std::string_view line) { return trim_left(line).starts_with('#'); }

struct FlagWords {
  std::vector<std::string> words;
  std::string_view rest;
};

// Docker's extractBuilderFlags: the leading words that start with "--", with
// quotes and backslashes processed, up to the first other word or a lone "--".
FlagWords extract_flags(std::string_view s) {
  FlagWords out;
  std::size_t pos = 0;
  for (;;) {
    pos = s.find_first_not_of(kBlank, pos);
    if (pos == std::string_view::npos) return out;
    if (s.substr(pos, 2) != "--") {
      out.rest = s.substr(pos);
      return out;
    }
    std::string word;
    char quote = 0;
    for (; pos < s.size(); ++pos) {
      char c = s[pos];
      if (quote == 0 && is_blank(c)) break;
      if (quote != 0 && c == quote) {
        quote = 0;
        continue;
      }
      if (quote == 0 && (c == '\'' || c == '"')) {
        quote = c;
        continue;
      }
      if (c == '\\') {
        if (pos + 1 == s.size()) continue;
        c = s[++pos];
      }
      word += c;
    }
    if (word == "--") {
      out.rest = s.substr(pos);
      return out;
    }
    out.words.push_back(std::move(word));
  }
}

// Docker's parseJSON: an array of strings is the exec form; text that is not
// JSON is the shell form, but a JSON array holding anything else is an error.
Result<std::optional<std::vector<std::string>>> exec_form(std::string_view rest) {
  using Args = std::optional<std::vector<std::string>>;
  if (!rest.starts_with('[')) return Args();
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(rest, ec);
  if (ec || !value.is_array()) return Args();
  std::vector<std::string> args;
  for (const auto& element : value.get_array()) {
    if (!element.is_string()) {
      return invalid("when using JSON array syntax, arrays must be comprised of strings only");
    }
    args.emplace_back(element.get_string());
  }
  return Args(std::move(args));
}

Result<void> check_stage_name(const std::string& name) {
  bool valid = is_letter(name[0]) && std::all_of(name.begin(), name.end(), [](char c) {
                 return is_letter(c) || is_digit(c) || c == '-' || c == '_' || c == '.';
               });
  if (!valid) {
    return invalid("invalid name for build stage: \"" + name +
                   "\", name can't start with a number or contain symbols");
  }
  return ok();
}

Result<void> check_healthcheck(const Instruction& in) {
  auto words = fields(in.rest);
  if (words.empty()) return invalid("HEALTHCHECK requires at least one argument");
  std::string type = upper(words[0]);
  if (type == "NONE") {
    if (words.size() > 1) return invalid("HEALTHCHECK NONE takes no arguments");
  } else if (type == "CMD") {
    if (in.json ? in.json_args.empty() : words.size() == 1) {
      return invalid("Missing command after HEALTHCHECK CMD");
    }
  } else {
    return invalid("Unknown type \"" + type + "\" in HEALTHCHECK (try CMD)");
  }
  return ok();
}

// The argument checks Docker makes when it turns the parse tree into
// instructions, before anything is expanded.
Result<void> check_arguments(const Instruction& in, char escape) {
  const std::string& k = in.keyword;
  auto words = fields(in.rest);
  std::size_t count = in.json ? in.json_args.size() : words.size();
  if (k == "FROM") {
    if (words.size() == 3 && lower(words[1]) == "as") return check_stage_name(lower(words[2]));
    if (words.size() != 1) return invalid("FROM requires either one or three arguments");
  } else if (k == "COPY" || k == "ADD") {
    if (count < 2) {
      return invalid(k +
                     " requires at least two arguments, but only one was provided. Destination "
                     "could not be determined");
    }
  } else if (k == "ENV" || k == "LABEL" || k == "ARG") {
    BERTH_TRY(detail::split_key_values(k, in.rest, escape));
  } else if (k == "MAINTAINER" || k == "USER" || k == "WORKDIR" || k == "STOPSIGNAL") {
    if (in.rest.empty()) return invalid(k + " requires exactly one argument");
  } else if (k == "EXPOSE" || k == "VOLUME" || k == "SHELL" || k == "ONBUILD") {
    if (count == 0) return invalid(k + " requires at least one argument");
    if (k == "SHELL" && !in.json) return invalid("SHELL requires the arguments to be in JSON form");
    if (k == "VOLUME" && std::any_of(in.json_args.begin(), in.json_args.end(),
                                     [](const std::string& v) { return trim(v).empty(); })) {
      return invalid("VOLUME specified can not be an empty string");
    }
  } else if (k == "HEALTHCHECK") {
    return check_healthcheck(in);
  }
  return ok();
}

// One instruction, continuations joined; errors without the location.
Result<Instruction> parse_instruction(std::string_view line, int number, char escape) {
  Instruction in;
  line = trim(line);
  in.original = std::string(line);
  in.line = number;
  auto keyword_end = std::min(line.find_first_of(kBlank), line.size());
  in.keyword = upper(line.substr(0, keyword_end));
  if (!one_of(kKeywords, in.keyword)) return invalid("unknown instruction: " + in.keyword);

  auto flags = extract_flags(line.substr(keyword_end));
  for (const std::string& word : flags.words) {
    std::string_view flag = std::string_view(word).substr(2);
    auto eq = flag.find('=');
    std::string name(flag.substr(0, eq));
    if (name.empty()) return invalid("invalid flag: " + word);
    if (!one_of(kFlagged, in.keyword)) return invalid("unknown flag: " + name);
    in.flags.emplace_back(std::move(name), eq == std::string_view::npos
                                               ? std::string()
                                               : std::string(flag.substr(eq + 1)));
  }
  in.rest = std::string(trim(flags.rest));

  if (one_of(kExecForm, in.keyword)) {
    std::string_view command = in.rest;
    if (in.keyword == "HEALTHCHECK") {
      command = trim_left(command.substr(std::min(command.find_first_of(kBlank), command.size())));
    }
    BERTH_TRY(auto args, exec_form(command));
    if (args) {
      in.json = true;
      in.json_args = std::move(*args);
    }
  }

  if (in.keyword == "ONBUILD" && !in.rest.empty()) {
    std::string trigger = upper(fields(in.rest)[0]);
    if (trigger == "ONBUILD")
      return invalid("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
    if (trigger == "FROM" || trigger == "MAINTAINER") {
      return invalid(trigger + " isn't allowed as an ONBUILD trigger");
    }
    BERTH_TRY(auto parsed, parse_instruction(in.rest, number, escape));
    in.onbuild.push_back(std::move(parsed));
  }

  BERTH_TRY(check_arguments(in, escape));
  return in;
}

std::vector<std::string_view> split_lines(std::string_view text) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    auto end = std::min(text.find('\n'), text.size());
    std::string_view line = text.substr(0, end);
    if (line.ends_with('\r')) line.remove_suffix(1);
    lines.push_back(line);
    text.remove_prefix(std::min(end + 1, text.size()));
  }
  return lines;
}

}  // namespace

std::optional<std::string> Instruction::flag(std::string_view name) const {
  for (auto it = flags.rbegin(); it != flags.rend(); ++it) {
    if (it->first == name) return it->second;
  }
  return std::nullopt;
}

Result<Dockerfile> parse_dockerfile(std::string_view text) {
  Dockerfile file;
  Directives directives;
  bool empty_continuation_seen = false;
  auto lines = split_lines(text);
  for (std::size_t i = 0; i < lines.size();) {
    int number = static_cast<int>(i) + 1;
    std::string_view first = trim_left(lines[i++]);
    if (auto applied = apply_directive(first, directives, file); !applied) {
      return std::move(applied).error().wrap(location(number));
    }
    std::string line(is_comment(first) ? std::string_view() : first);
    bool continued = strip_continuation(line, file.escape);
    if (!continued && line.empty()) continue;

    // Docker skips comment lines and blank lines inside a continuation (and
    // warns about the blank ones); continuation lines keep their indentation.
    bool empty_continuation = false;
    while (continued && i < lines.size()) {
      std::string_view next = lines[i++];
      if (is_comment(next)) continue;
      if (trim_left(next).empty()) {
        empty_continuation = true;
        continue;
      }
      std::string part(next);
      continued = strip_continuation(part, file.escape);
      line += part;
    }
    if (empty_continuation) {
      file.warnings.push_back("Empty continuation line found in:\n    " + line);
      empty_continuation_seen = true;
    }

    auto instruction = parse_instruction(line, number, file.escape);
    if (!instruction) return std::move(instruction).error().wrap(location(number));
    file.instructions.push_back(std::move(instruction).value());
  }
  if (empty_continuation_seen) {
    file.warnings.push_back("Empty continuation lines will become errors in a future release.");
  }
  if (file.instructions.empty()) return invalid("file with no instructions");
  return file;
}

}  // namespace berth::core::build
