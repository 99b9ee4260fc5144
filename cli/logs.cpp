// berth logs (docker/cli logs.go): a container's output as its log driver
// kept it, multiplexed into stdout and stderr unless it has a TTY;
// followed with -f until the container stops.
#include "container_common.hpp"
#include "container_opts.hpp"

#include <boost/json.hpp>

#include <ctime>

namespace berth::cli {
namespace json = boost::json;

namespace {

struct Opts {
  bool follow = false, timestamps = false, details = false;
  std::string since, until, tail = "all", container;
};

void logs(Context& ctx, const Opts& o) {
  json::object c = inspect_container(ctx, o.container);
  std::string id(c.at("Id").as_string());
  const auto* config = c.if_contains("Config");
  bool tty = config != nullptr && config->is_object() && config->as_object().contains("Tty") &&
             config->as_object().at("Tty").is_bool() && config->as_object().at("Tty").as_bool();

  std::string path = "/containers/" + id + "/logs?stdout=1&stderr=1";
  auto now = static_cast<std::int64_t>(std::time(nullptr));
  for (const auto& [name, value] : {std::pair{"since", &o.since}, std::pair{"until", &o.until}}) {
    if (value->empty()) continue;
    try {
      path += std::string("&") + name + "=" + query_escape(api_timestamp(*value, now));
    } catch (const std::invalid_argument& e) {
      throw CliError(std::string("invalid value for \"") + name + "\": " + e.what());
    }
  }
  if (o.timestamps) path += "&timestamps=1";
  if (o.details) path += "&details=1";
  if (o.follow) path += "&follow=1";
  path += "&tail=" + query_escape(o.tail);

  auto conn = ctx.client().open({"GET", path, "", "", false});
  if (conn->head().status < 200 || conn->head().status >= 300) {
    Response r = conn->head();
    r.body = conn->read_all();
    check_response(r);
  }
  StdcopyDemuxer demux(&ctx.out, &ctx.err);
  std::vector<char> buffer(1 << 16);
  while (std::size_t n = conn->read_some(buffer.data(), buffer.size())) {
    std::string_view chunk(buffer.data(), n);
    if (tty) {
      ctx.out.write(chunk.data(), static_cast<std::streamsize>(n));
      ctx.out.flush();
    } else {
      demux.feed(chunk);
    }
  }
}

}  // namespace

void configure_logs(CLI::App& cmd, Context& ctx) {
  auto o = std::make_shared<Opts>();
  cmd.add_option("CONTAINER", o->container, "Container to show the logs of")->required();
  cmd.add_flag("--details", o->details, "Show extra details provided to logs");
  cmd.add_flag("-f,--follow", o->follow, "Follow log output");
  cmd.add_option("--since", o->since,
                 "Show logs since timestamp (e.g. \"2013-01-02T13:23:37Z\") or relative (e.g. \"42m\" for 42 minutes)");
  cmd.add_option("-n,--tail", o->tail, "Number of lines to show from the end of the logs (default \"all\")");
  cmd.add_flag("-t,--timestamps", o->timestamps, "Show timestamps");
  cmd.add_option("--until", o->until,
                 "Show logs before a timestamp (e.g. \"2013-01-02T13:23:37Z\") or relative (e.g. \"42m\" for 42 minutes)");
  cmd.callback([&ctx, o] { logs(ctx, *o); });
}

}  // namespace berth::cli
