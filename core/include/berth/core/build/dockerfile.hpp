// Dockerfiles as Docker's classic builder reads them (moby
// buildkit/frontend/dockerfile/parser and shell): parser directives,
// comments, line continuations, instructions with their flags, exec (JSON)
// and shell forms; variable substitution with Docker's shell-word rules;
// and .dockerignore patterns.
//
// Pure and thread-safe: no I/O.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "berth/core/error.hpp"

namespace berth::core::build {

struct Instruction {
  std::string keyword;   // upper case: "FROM", "RUN", "COPY", ...
  std::string original;  // the instruction as written, continuations joined (messages, history)
  int line = 0;          // 1-based line where it starts
  // Flags before the arguments ("--from=build", "--chown=1:1", "--platform=x",
  // "--interval=5s", "--link"), in order: name without "--", value ("" when
  // the flag has none).
  std::vector<std::pair<std::string, std::string>> flags;
  std::string rest;       // the arguments after keyword and flags, trimmed, not yet expanded
  bool json = false;      // `rest` was a JSON array of strings (exec form)
  std::vector<std::string> json_args;  // its elements when `json`
  // ONBUILD's trigger, parsed like any instruction (keyword ONBUILD only).
  std::vector<Instruction> onbuild;

  // The value of flag `name`, if given.
  std::optional<std::string> flag(std::string_view name) const;
};

struct Dockerfile {
  char escape = '\\';
  std::vector<Instruction> instructions;
  std::vector<std::string> warnings;  // e.g. "# syntax= directive ignored (no BuildKit frontends)"
};

// Parses a Dockerfile. Errors (invalid_argument) name the line as Docker
// does: "dockerfile parse error on line 3: unknown instruction: FOO",
// "dockerfile parse error on line 1: FROM requires either one or three
// arguments", "file with no instructions", an unterminated JSON array is
// the shell form as in Docker.
Result<Dockerfile> parse_dockerfile(std::string_view text);

// Variables visible to substitution: ENV and ARG values in force.
using Env = std::map<std::string, std::string>;

// Docker's shell-word processing (shell.Lex.ProcessWord): quotes removed,
// escapes applied (`escape` is the directive's), $VAR, ${VAR},
// ${VAR:-default}, ${VAR:+alternate} (and -/+ without the colon) expanded
// from `env`; unknown variables expand to "". Errors: unterminated quotes
// or braces ("missing '}'"), bad substitution ("unsupported modifier (x) in
// substitution").
Result<std::string> expand_word(std::string_view word, const Env& env, char escape = '\\');
// The same over a whole argument string, split into words on unquoted
// whitespace (ProcessWords) — for COPY/ADD sources, EXPOSE, VOLUME, USER...
Result<std::vector<std::string>> expand_words(std::string_view text, const Env& env, char escape = '\\');

// ENV, LABEL and ARG arguments: `k=v k2="v 2"` pairs (values expanded,
// quotes removed), or ENV's legacy `k value with spaces` form. ARG gives a
// name without '=' an empty optional value (returned as {name, std::nullopt}).
// Errors as Docker's: "ENV names can not be blank", "LABEL requires at least
// one argument", "Syntax error - can't find = in \"x\". Must be of the form:
// name=value".
Result<std::vector<std::pair<std::string, std::optional<std::string>>>> parse_key_values(
    const Instruction& instruction, const Env& env, char escape = '\\');

namespace detail {
// ENV, LABEL or ARG arguments split into (name, value) words and checked as
// parse_key_values does, but not yet expanded (quotes and escapes still in
// place): what parse_dockerfile validates and parse_key_values expands.
Result<std::vector<std::pair<std::string, std::optional<std::string>>>> split_key_values(
    std::string_view keyword, std::string_view rest, char escape);
}  // namespace detail

// .dockerignore (moby patternmatcher): one pattern per line, '#' comments,
// blank lines skipped, leading/trailing whitespace and a leading "/"
// dropped, paths cleaned; '*', '?', '[...]', '**' (any number of
// directories) and '!' exceptions, last match wins. A directory that is
// excluded excludes what is below it, unless an exception pattern could
// match below it.
class IgnoreMatcher {
 public:
  static Result<IgnoreMatcher> parse(std::string_view text);
  // `path` relative to the context root, '/'-separated, no leading "./".
  bool excluded(std::string_view path) const;
  // Whether some exception ("!pattern") could match below `dir` (then an
  // excluded directory must still be walked).
  bool may_include_below(std::string_view dir) const;
  const std::vector<std::string>& patterns() const { return patterns_; }

 private:
  struct Pattern {
    std::string text;  // cleaned, without '!'
    bool exception = false;
  };
  std::vector<Pattern> rules_;
  std::vector<std::string> patterns_;
};

}  // namespace berth::core::build
