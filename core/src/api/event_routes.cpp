#include "berth/core/api/event_routes.hpp"

#include "berth/core/api/filters.hpp"

#include <chrono>

namespace berth::core::api {

namespace {

std::int64_t now_nano() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

void add_event_routes(Router& router, events::EventBus& bus) {
  router.add("GET", "/events", [&bus](Request& req, ResponseWriter& w) {
    auto since = timestamp_query(req, "since");
    if (!since) return w.send_error(since.error());
    auto until = timestamp_query(req, "until");
    if (!until) return w.send_error(until.error());
    if (until.value() != 0 && until.value() < since.value()) {
      auto text = [&](std::string_view name) {
        const std::string* v = req.query_value(name);
        return v != nullptr ? *v : std::string();
      };
      return w.send_error(400, "`since` time (" + text("since") + ") cannot be after `until` time (" + text("until") +
                                   ")");
    }
    auto filters = parse_filters(req, {"config", "container", "daemon", "event", "image", "label", "network", "node",
                                       "plugin", "scope", "secret", "service", "type", "volume"});
    if (!filters) return w.send_error(filters.error());

    std::vector<events::Event> past;
    auto live = bus.subscribe(since.value(), until.value(), events::Filter(std::move(filters).value()), past);
    std::ostream& out = w.stream(200, "application/json");
    // The header goes out now: clients wait for it before they show anything.
    out.flush();
    auto send = [&](const events::Event& e) {
      out << to_json_text(e.to_json()) << '\n';
      out.flush();
      return static_cast<bool>(out);
    };
    for (const auto& e : past) {
      if (!send(e)) return;
    }
    auto passed_until = [&] { return until.value() != 0 && now_nano() > until.value(); };
    while (!passed_until()) {
      // Short waits, so that a client that went away (or a daemon shutting
      // down its connections) ends the stream promptly.
      if (auto e = live->next(std::chrono::milliseconds(200))) {
        if (until.value() != 0 && e->time_nano > until.value()) break;
        if (!send(*e)) return;
      } else if (w.client_gone()) {
        return;
      }
    }
  });
}

}  // namespace berth::core::api
