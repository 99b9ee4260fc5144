// What every `inspect` command prints (docker/cli inspect.Inspect): the
// objects as an indented JSON array, or each through a --format template,
// then one error line per name that was not found.
#pragma once

#include "command.hpp"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace berth::cli {

// Fetches one object's JSON text; nullopt when the daemon has no such
// object. Other failures throw CliError, whose message is reported for
// that name.
using InspectFetch = std::function<std::optional<std::string>(const std::string& name)>;

// Prints the objects `fetch` finds for `names` with `format` (empty or
// "json": the indented array). A name not found is reported as "Error: No
// such <kind>: <name>" after the output, and the command then fails with
// exit 1. A template that does not parse or execute fails with exit 125.
void print_inspect(Context& ctx, const std::vector<std::string>& names, const std::string& format,
                   const std::string& kind, const InspectFetch& fetch);

// GET `path` for inspect: the body, nullopt for 404, CliError otherwise.
std::optional<std::string> fetch_object(Context& ctx, const std::string& path);

}  // namespace berth::cli
