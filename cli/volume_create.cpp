// berth volume create (docker/cli volume/create.go).
#include <boost/json.hpp>
#include <stdexcept>

#include "command.hpp"
#include "container_opts.hpp"
#include "json_fields.hpp"
#include "volume.hpp"

namespace berth::cli {
namespace json = boost::json;

namespace {

// MapOpts and ConvertKVStringsToMap: "k=v", or "k" for an empty value;
// the last value of a key wins.
json::object kv_object(const std::vector<std::string>& values) {
  json::object out;
  for (const auto& v : values) {
    auto eq = v.find('=');
    out[v.substr(0, eq)] = eq == std::string::npos ? "" : v.substr(eq + 1);
  }
  return out;
}

}  // namespace

json::object volume_create_body(const VolumeCreateFlags& f) {
  for (const auto& label : f.labels) {
    try {
      validate_label(label);
    } catch (const std::invalid_argument& e) {
      throw FlagError("invalid argument \"" + label + "\" for \"--label\" flag: " + e.what(), 125);
    }
  }
  if (!f.name.empty() && !f.name_flag.empty()) {
    throw CliError(
        "conflicting options: either specify --name or provide positional arg, not both");
  }
  // volume.CreateOptions, in its members' order.
  return {
      {"Driver", f.driver},
      {"DriverOpts", kv_object(f.options)},
      {"Labels", kv_object(f.labels)},
      {"Name", f.name.empty() ? f.name_flag : f.name},
  };
}

namespace {

void create(Context& ctx, const VolumeCreateFlags& f) {
  json::object body;
  try {
    body = volume_create_body(f);
  } catch (const FlagError& e) {
    throw CliError(std::string("berth: ") + e.what() + "\nSee 'berth volume create --help'.", 125);
  }
  Response r =
      ctx.client().request("POST", "/volumes/create", json::serialize(body), "application/json");
  check_response(r);
  json::error_code ec;
  json::value v = json::parse(r.body, ec);
  if (ec || !v.is_object()) throw CliError("invalid answer from daemon for volume create");
  ctx.out << str(v.as_object(), "Name") << "\n";
}

}  // namespace

void configure_volume_create(CLI::App& cmd, Context& ctx) {
  auto f = std::make_shared<VolumeCreateFlags>();
  cmd.add_option("VOLUME", f->name, "Volume name");
  cmd.add_option("-d,--driver", f->driver, "Specify volume driver name (default \"local\")");
  cmd.add_option("--label", f->labels, "Set metadata for a volume")
      ->allow_extra_args(false)
      ->take_all();
  // Hidden, as in Docker: an empty group keeps it out of the help.
  cmd.add_option("--name", f->name_flag, "Specify volume name")->group("");
  cmd.add_option("-o,--opt", f->options, "Set driver specific options")
      ->allow_extra_args(false)
      ->take_all();
  cmd.callback([&ctx, f] { create(ctx, *f); });
}

}  // namespace berth::cli
