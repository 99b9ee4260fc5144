// What the volume commands send and show (docker/cli command/volume): the
// body of POST /volumes/create built from its flags, the filters of
// `volume prune`, and the rows of `volume ls` (and of `system df -v`).
// Pure functions, so that they are tested without a daemon.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <map>
#include <string>
#include <vector>

#include "format/template.hpp"

namespace berth::cli {

// The flags of `volume create` as CLI11 fills them.
struct VolumeCreateFlags {
  std::string name;       // the VOLUME argument
  std::string name_flag;  // --name, Docker's hidden spelling of it
  std::string driver = "local";
  std::vector<std::string> options, labels;  // -o/--opt and --label, as typed
};

// The CreateOptions body {"Driver","DriverOpts","Labels","Name"} for
// `flags`. An --opt or --label without "=" has an empty value (Docker's
// MapOpts and ConvertKVStringsToMap), the last value of a key wins.
// Throws FlagError for a --label ValidateLabel refuses, and CliError
// "conflicting options: either specify --name or provide positional arg,
// not both" when both name the volume.
boost::json::object volume_create_body(const VolumeCreateFlags& flags);

// One Volume of the API as Docker's volumeContext presents it, every field
// a string: Name, Driver, Scope, Mountpoint, Labels ("k=v,..." sorted),
// Links and Size (UsageData's RefCount and human size; "N/A" without
// UsageData), and the cluster-only Availability, Group and Status ("N/A").
boost::json::object volume_row(const boost::json::object& volume);

// The column titles of volume rows that Docker does not derive from the
// field name: {"Name", "VOLUME NAME"}.
const std::map<std::string, std::string>& volume_headers();

// The rows of `volume ls` for the daemon's list, in Docker's order (names
// in natural order).
std::vector<boost::json::value> volume_rows(const boost::json::array& volumes);

// The methods of the rows of `volumes`: Label "key", the value of that
// label of the row's volume ("" when it has none), found by the row's
// Name. The methods hold a copy of what they need.
format::Methods volume_methods(const boost::json::array& volumes);

// The `filters` query value of `volume prune`: the --filter values, with
// all=true added for --all (API 1.42: named volumes too). Empty when there
// is none. Throws CliError "conflicting options: cannot specify both --all
// and --filter all=1" for both, or filters_json's error for a bad filter.
std::string volume_prune_filters(const std::vector<std::string>& filters, bool all);

// What `volume prune` prints for the daemon's PruneReport: "Deleted
// Volumes:" and the names, a blank line, then "Total reclaimed space: 1kB"
// (Docker counts the space only when something was deleted).
std::string volume_prune_output(const boost::json::object& report);

}  // namespace berth::cli
