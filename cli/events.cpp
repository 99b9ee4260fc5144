// berth events / berth system events (docker/cli system/events.go): the
// daemon's events as they happen, or those between --since and --until,
// one line each, until --until passes or the user interrupts.
#include "command.hpp"
#include "container_opts.hpp"

#include "format/template.hpp"

#include <boost/json.hpp>

#include <cstdio>
#include <ctime>
#include <optional>

namespace berth::cli {
namespace json = boost::json;

namespace {

struct Opts {
  std::string since, until, format;
  std::vector<std::string> filters;
};

std::int64_t integer(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || !v->is_number()) return 0;
  json::error_code ec;
  auto n = v->to_number<std::int64_t>(ec);
  return ec ? 0 : n;
}

std::string text(const json::value* v) { return v != nullptr && v->is_string() ? std::string(v->get_string()) : ""; }

// Docker's prettyPrintEvent: "<time> <type> <action> <actor> (k=v, ...)",
// the time in local time as jsonmessage.RFC3339NanoFixed.
std::string pretty(const json::object& e) {
  std::string out;
  std::int64_t nanos = integer(e, "timeNano");
  if (nanos == 0) nanos = integer(e, "time") * 1'000'000'000;
  if (nanos != 0) {
    std::int64_t seconds = nanos / 1'000'000'000, frac = nanos % 1'000'000'000;
    if (frac < 0) {
      --seconds;
      frac += 1'000'000'000;
    }
    std::string stamp = rfc3339_local(seconds);
    char fraction[16];
    std::snprintf(fraction, sizeof fraction, ".%09lld", static_cast<long long>(frac));
    // "2026-01-01T00:00:00" is 19 characters; the zone follows.
    out = stamp.insert(19, fraction) + " ";
  }
  const json::object* actor = nullptr;
  if (const auto* a = e.if_contains("Actor"); a != nullptr && a->is_object()) actor = &a->get_object();
  out += text(e.if_contains("Type")) + " " + text(e.if_contains("Action")) + " " +
         (actor != nullptr ? text(actor->if_contains("ID")) : "");
  const auto* attrs = actor != nullptr ? actor->if_contains("Attributes") : nullptr;
  if (attrs != nullptr && attrs->is_object() && !attrs->get_object().empty()) {
    std::map<std::string, std::string> sorted;
    for (const auto& [k, v] : attrs->get_object()) sorted[std::string(k)] = text(&v);
    std::string list;
    for (const auto& [k, v] : sorted) list += (list.empty() ? "" : ", ") + k + "=" + v;
    out += " (" + list + ")";
  }
  return out;
}

void events(Context& ctx, const Opts& o) {
  std::optional<format::Template> tmpl;
  if (!o.format.empty()) {
    try {
      tmpl = format::Template::parse(o.format);
    } catch (const format::TemplateError& e) {
      throw CliError(std::string("Error parsing format: ") + e.what(), 64);
    }
  }
  std::string query;
  auto now = static_cast<std::int64_t>(std::time(nullptr));
  for (const auto& [name, value] : {std::pair{"since", &o.since}, std::pair{"until", &o.until}}) {
    if (value->empty()) continue;
    try {
      query += std::string(query.empty() ? "?" : "&") + name + "=" + query_escape(api_timestamp(*value, now));
    } catch (const std::invalid_argument& e) {
      throw CliError(e.what());
    }
  }
  if (auto f = filters_json(o.filters); !f.empty()) query += (query.empty() ? "?" : "&") + ("filters=" + query_escape(f));

  auto conn = ctx.client().open({"GET", "/events" + query, "", "", false});
  if (conn->head().status < 200 || conn->head().status >= 300) {
    Response r = conn->head();
    r.body = conn->read_all();
    check_response(r);
  }
  auto print = [&](std::string_view line) {
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) return;
    json::error_code ec;
    auto v = json::parse(line, ec);
    if (ec || !v.is_object()) throw CliError("invalid event from the daemon: " + std::string(line));
    if (!tmpl) {
      ctx.out << pretty(v.get_object()) << '\n';
    } else {
      try {
        ctx.out << tmpl->render(v) << '\n';
      } catch (const format::TemplateError& e) {
        throw CliError(std::string("template parsing error: ") + e.what(), 125);
      }
    }
    ctx.out.flush();
  };
  std::string pending;
  std::vector<char> buffer(1 << 16);
  while (std::size_t n = conn->read_some(buffer.data(), buffer.size())) {
    pending.append(buffer.data(), n);
    for (auto nl = pending.find('\n'); nl != std::string::npos; nl = pending.find('\n')) {
      print(std::string_view(pending).substr(0, nl));
      pending.erase(0, nl + 1);
    }
  }
  print(pending);
}

}  // namespace

void configure_events(CLI::App& cmd, Context& ctx) {
  auto o = std::make_shared<Opts>();
  cmd.add_option("-f,--filter", o->filters, "Filter output based on conditions provided");
  cmd.add_option("--format", o->format,
                 "Format output using a custom template:\n"
                 "'json':             Print in JSON format\n"
                 "'TEMPLATE':         Print output using the given Go template.");
  cmd.add_option("--since", o->since, "Show all events created since timestamp");
  cmd.add_option("--until", o->until, "Stream events until this timestamp");
  cmd.callback([&ctx, o] { events(ctx, *o); });
}

}  // namespace berth::cli
