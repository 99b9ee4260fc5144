// The `--format` template engine used by the berth CLI.
//
// It accepts what Docker's CLI accepts for `--format`: a Go text/template
// (the subset people script with), the literal value "json", and the
// "table" prefix that turns the output into tab-aligned columns under a
// header row.
//
// Template language supported (Go text/template semantics):
//   - text, actions `{{ ... }}`, trim markers `{{- ` / ` -}}`, comments
//     `{{/* ... */}}`;
//   - field chains `.ID`, `.Config.Env`, `.` (the row), `$` (the root),
//     variables `$x := ...` / `$x = ...`, `(pipeline).Field`;
//   - pipelines `{{.Name | upper}}`;
//   - `if` / `else if` / `else with` / `with` / `range` (arrays, objects in
//     key order, integers) with `$i, $v :=`, `break`, `continue`, `else`;
//   - constants: strings "..." and `...`, numbers, 'c' characters, true,
//     false, nil;
//   - functions: Docker's `json split join title lower upper pad truncate`
//     and Go's builtins `and or not eq ne lt le gt ge len index slice print
//     printf println html js urlquery`.
//
// Values are JSON (boost::json). They print like Go's fmt prints the values
// encoding/json decodes into interface{}: strings raw, integers without a
// decimal point, other numbers in Go's %v form (1e+06, 0.5), true/false,
// arrays as `[a b c]`, objects as `map[k:v k2:v2]` with sorted keys. A
// missing object key, or a null, printed by an action shows `<no value>`.
//
// Deliberate differences from Docker:
//   - `truncate` counts characters (UTF-8 code points), not bytes, so it
//     never splits a multi-byte character;
//   - `join` accepts any JSON array (non-string elements print as %v);
//   - a raw newline inside a "quoted" string is accepted, so that
//     `{{join .Names "\n"}}` works after the `\n` escape replacement below;
//   - `define`, `template` and `block` are not supported (parse error).
#pragma once

#include <boost/json/value.hpp>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace berth::cli::format {

// Raised for template parse errors and execution errors. what() is the Go
// text/template message, e.g. `template: :1: function "foo" not defined` or
// `template: :1:2: executing "" at <.A.B>: nil pointer evaluating
// interface {}.B`. The CLI prefixes it with "template parsing error: " as
// Docker does.
class TemplateError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A method of the rows. Docker's formatter contexts have, beside their
// fields, methods that take arguments (`{{.Label "com.example.tier"}}` on
// a container, image, network or volume); a row here is plain JSON, so
// such a method is given to the renderer by name instead.
//   nargs: how many arguments it takes, each a string (Go's "wrong number
//          of args for Label: want 1 got 0", "expected string; found 1"
//          otherwise);
//   call:  the row the method is called on (the row rendered, `.` or `$`
//          at the top of the template; not a value inside it) and the
//          arguments; returns the method's result. It may throw
//          TemplateError. Called during render only; it must not keep the
//          references.
// A method is found before a member of the same name, as Go finds a
// method of a struct before its field.
struct Method {
  std::size_t nargs = 0;
  std::function<boost::json::value(const boost::json::value& row,
                                   const std::vector<std::string>& args)>
      call;
};
using Methods = std::map<std::string, Method, std::less<>>;

// A parsed --format value. Construct once with parse(), render many rows.
// Copies are cheap and share the parsed template; a Template is immutable,
// so it may be rendered from several threads at once.
class Template {
 public:
  // Parses a --format value the way Docker's formatter prepares it:
  //   - exactly "json": every row renders as compact JSON (`{{json .}}`);
  //   - a value starting with "table": the rest is the row template, and
  //     render_all() prints a header row first and aligns columns; "table"
  //     with nothing (or only spaces) after it asks for the command's
  //     default table (see is_default_table());
  //   - then leading/trailing spaces are trimmed and the two-character
  //     sequences `\t` and `\n` (as shells pass them) become a tab and a
  //     newline.
  // text: the --format argument as the user typed it.
  // Returns the parsed template.
  // Throws TemplateError when the template does not parse (unclosed action,
  // unknown function, undefined variable, unexpected {{end}}, ...).
  static Template parse(std::string_view text);

  // True when the format was exactly "json".
  bool is_json() const;
  // True when the format started with "table" (including the default table).
  bool is_table() const;
  // True when the format was "table" with no template after it: the caller
  // must parse its own default table format instead (rendering this one
  // yields empty cells).
  bool is_default_table() const;

  // Renders one row. No trailing newline is added and no header is printed,
  // even in table mode.
  // row: the row as a JSON value (usually an object, as the API returned it
  //      or as the command shaped it); `.` refers to it.
  // methods: the methods of the row (see Method); `json` output leaves
  //      them out, as Docker's does.
  // Returns the rendered text.
  // Throws TemplateError on execution errors (e.g. `{{.A.B}}` where A is a
  // string, a function given a value of the wrong type, `index` out of
  // range).
  std::string render(const boost::json::value& row, const Methods& methods = {}) const;

  // Renders all rows, each followed by a newline. In table mode a header
  // row comes first and everything is aligned into columns the way
  // Docker's tabwriter does it (tab-terminated cells, min width 10,
  // padding 3 spaces); cells that are not followed by a tab (the last
  // one of a line) are not padded.
  // The header is the row template executed with every field chain
  // replaced by its column title: header_overrides[path] where path is the
  // dotted chain ("ID", "Config.Image"), else header_overrides[last field],
  // else the last field name split on camel case and upper-cased
  // ({{.ID}} → "ID", {{.CreatedAt}} → "CREATED AT"). As in Docker, the
  // functions json, split, join, title, lower, upper and truncate pass
  // their first argument through unchanged in the header (pad still pads),
  // and an error while rendering the header only cuts the header short.
  // rows: the rows, in output order.
  // header_overrides: column titles by field path, e.g. {"ID", "CONTAINER ID"}.
  // methods: the methods of every row (see render()). In the header a
  //      method call fails, as Docker's does, and cuts the header short.
  // Returns the complete output.
  // Throws TemplateError when any row fails to render (nothing is returned).
  std::string render_all(const std::vector<boost::json::value>& rows,
                         const std::map<std::string, std::string>& header_overrides = {},
                         const Methods& methods = {}) const;

 private:
  struct Impl;
  explicit Template(std::shared_ptr<const Impl> impl);

  std::shared_ptr<const Impl> impl_;
};

}  // namespace berth::cli::format
