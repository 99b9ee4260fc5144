#include "berth/core/api/container_routes.hpp"
#include "berth/core/api/filters.hpp"

#include "berth/core/log.hpp"
#include "berth/core/time_format.hpp"

#include <boost/json.hpp>

#include <sys/socket.h>

#include <atomic>
#include <functional>
#include <set>
#include <cstring>
#include <ctime>
#include <thread>

namespace berth::core::api {
namespace json = boost::json;
using container::Container;
using container::ContainerManager;

namespace {

constexpr std::string_view kRawStream = "application/vnd.docker.raw-stream";
constexpr std::string_view kMultiplexedStream = "application/vnd.docker.multiplexed-stream";

const json::object& obj(const json::object& o, std::string_view key) {
  static const json::object empty;
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_object() ? v->get_object() : empty;
}

// go-units HumanDuration, as Docker's Status column spells it.
std::string human_duration(std::int64_t seconds) {
  if (seconds < 1) return "Less than a second";
  if (seconds == 1) return "1 second";
  if (seconds < 60) return std::to_string(seconds) + " seconds";
  std::int64_t minutes = seconds / 60;
  if (minutes == 1) return "About a minute";
  if (minutes < 60) return std::to_string(minutes) + " minutes";
  std::int64_t hours = seconds / 3600;
  if (hours == 1) return "About an hour";
  if (hours < 48) return std::to_string(hours) + " hours";
  if (hours < 24 * 7 * 2) return std::to_string(hours / 24) + " days";
  if (hours < 24 * 30 * 2) return std::to_string(hours / 24 / 7) + " weeks";
  if (hours < 24 * 365 * 2) return std::to_string(hours / 24 / 30) + " months";
  return std::to_string(hours / 24 / 365) + " years";
}

std::string status_text(const container::State& s) {
  std::int64_t now = std::time(nullptr);
  if (s.status == "running") return "Up " + human_duration(now - parse_rfc3339(s.started_at));
  if (s.status == "paused") return "Up " + human_duration(now - parse_rfc3339(s.started_at)) + " (Paused)";
  if (s.status == "restarting") {
    return "Restarting (" + std::to_string(s.exit_code) + ") " + human_duration(now - parse_rfc3339(s.finished_at)) + " ago";
  }
  if (s.status == "removing") return "Removal In Progress";
  if (s.status == "dead") return "Dead";
  if (s.status == "exited") {
    if (parse_rfc3339(s.finished_at) <= 0) return "Exited (" + std::to_string(s.exit_code) + ")";
    return "Exited (" + std::to_string(s.exit_code) + ") " + human_duration(now - parse_rfc3339(s.finished_at)) + " ago";
  }
  return "Created";
}

std::string shell_join(const Container& c) {
  std::string out;
  auto add = [&](const json::value& v) {
    if (!v.is_string()) return;
    if (!out.empty()) out += " ";
    out += v.get_string();
  };
  if (const auto* p = c.config.if_contains("Path")) add(*p);
  if (const auto* a = c.config.if_contains("Args"); a != nullptr && a->is_array()) {
    for (const auto& x : a->get_array()) add(x);
  }
  return out;
}

// NetworkSettings as Docker shows it (empty without networking).
// Docker's "Mounts" of inspect and lists.
json::array mounts_json(const Container& c) {
  json::array out;
  for (const auto& m : container::mount_points(c)) out.emplace_back(m.inspect());
  return out;
}

json::object network_settings(const ContainerManager& containers, const Container& c) {
  if (const auto* net = containers.network()) return net->settings(containers.networking_of(c));
  return json::object{{"Ports", json::object{}}, {"Networks", json::object{}}};
}

json::object inspect_json(const ContainerManager& containers, const Container& c,
                          const std::vector<std::string>& exec_ids) {
  json::array execs;
  for (const auto& x : exec_ids) execs.emplace_back(x);
  json::object out{
      {"Id", c.id},
      {"Created", c.created},
      {"Path", c.config.contains("Path") ? c.config.at("Path") : json::value("")},
      {"Args", c.config.contains("Args") ? c.config.at("Args") : json::value(json::array{})},
      {"State", c.state.to_json()},
      {"Image", c.image_id},
      {"ResolvConfPath", c.config.contains("ResolvConfPath") ? c.config.at("ResolvConfPath") : json::value("")},
      {"HostnamePath", c.config.contains("HostnamePath") ? c.config.at("HostnamePath") : json::value("")},
      {"HostsPath", c.config.contains("HostsPath") ? c.config.at("HostsPath") : json::value("")},
      {"LogPath", c.config.contains("LogPath") ? c.config.at("LogPath") : json::value("")},
      {"Name", c.name},
      {"RestartCount", c.state.restart_count},
      {"Driver", c.config.contains("Driver") ? c.config.at("Driver") : json::value("")},
      {"Platform", "linux"},
      {"MountLabel", ""},
      {"ProcessLabel", ""},
      {"AppArmorProfile", ""},
      {"ExecIDs", execs.empty() ? json::value(nullptr) : json::value(execs)},
      {"HostConfig", c.host_config()},
      {"GraphDriver", json::object{{"Data", json::object{}},
                                   {"Name", c.config.contains("Driver") ? c.config.at("Driver") : json::value("")}}},
      {"Mounts", mounts_json(c)},
      {"Config", c.container_config()},
      {"NetworkSettings", network_settings(containers, c)},
  };
  out["State"].as_object().erase("StoppedByUser");
  return out;
}

json::object summary_json(const ContainerManager& containers, const Container& c) {
  const auto& labels = obj(c.container_config(), "Labels");
  std::string network_mode = "default";
  if (const auto* m = c.host_config().if_contains("NetworkMode"); m != nullptr && m->is_string() && !m->get_string().empty()) {
    network_mode = m->get_string();
  }
  return json::object{
      {"Id", c.id},
      {"Names", json::array{c.name}},
      {"Image", c.image_name()},
      {"ImageID", c.image_id},
      {"Command", shell_join(c)},
      {"Created", parse_rfc3339(c.created)},
      {"Ports", containers.network() != nullptr ? containers.network()->ports_summary(c.id) : json::array{}},
      {"Labels", labels},
      {"State", c.state.status},
      {"Status", status_text(c.state)},
      {"HostConfig", json::object{{"NetworkMode", network_mode}}},
      {"NetworkSettings", containers.network() != nullptr
                              ? containers.network()->networks_summary(containers.networking_of(c, false))
                              : json::object{{"Networks", json::object{}}}},
      {"Mounts", mounts_json(c)},
  };
}

// Docker's `filters` for containers: {"status": ["running"], "name": [...]}.
Result<Filters> container_filters(const Request& req) {
  BERTH_TRY(auto out, parse_filters(req, {"id", "name", "status", "label", "ancestor", "exited", "before", "since",
                                          "volume", "network", "health", "publish", "expose", "isolation",
                                          "is-task"}));
  if (auto it = out.find("status"); it != out.end()) {
    static const std::set<std::string> states = {"created", "restarting", "running", "removing",
                                                 "paused",  "exited",     "dead"};
    for (const auto& s : it->second) {
      if (!states.contains(s)) return make_error(Errc::invalid_argument, "Invalid filter 'status=" + s + "'");
    }
  }
  return out;
}

bool matches(const Container& c, const std::map<std::string, std::vector<std::string>>& f, image::ImageStore& images) {
  auto any = [&](const char* key, auto&& pred) {
    auto it = f.find(key);
    if (it == f.end() || it->second.empty()) return true;
    for (const auto& v : it->second) {
      if (pred(v)) return true;
    }
    return false;
  };
  if (!any("id", [&](const std::string& v) { return c.id.starts_with(v); })) return false;
  if (!any("name", [&](const std::string& v) { return c.name.find(v) != std::string::npos; })) return false;
  if (!any("status", [&](const std::string& v) { return c.state.status == v; })) return false;
  if (!any("exited", [&](const std::string& v) {
        return c.state.status == "exited" && std::to_string(c.state.exit_code) == v;
      })) {
    return false;
  }
  if (!any("ancestor", [&](const std::string& v) {
        auto id = images.resolve(v);
        return (id && id.value() == c.image_id) || c.image_name() == v;
      })) {
    return false;
  }
  if (auto it = f.find("label"); it != f.end() && !labels_match(it->second, &obj(c.container_config(), "Labels"))) {
    return false;
  }
  // A volume name or a mount destination (Docker's "volume" filter).
  if (!any("volume", [&](const std::string& v) {
        for (const auto& m : container::mount_points(c)) {
          if (m.name == v || m.destination == v) return true;
        }
        return false;
      })) {
    return false;
  }
  return true;
}

std::optional<int> int_query(const Request& req, std::string_view name) {
  const std::string* v = req.query_value(name);
  if (v == nullptr || v->empty()) return std::nullopt;
  try {
    return std::stoi(*v);
  } catch (...) {
    return std::nullopt;
  }
}

void frame_header(char (&h)[8], int stream, std::size_t len) {
  std::memset(h, 0, sizeof h);
  h[0] = static_cast<char>(stream);
  h[4] = static_cast<char>((len >> 24) & 0xff);
  h[5] = static_cast<char>((len >> 16) & 0xff);
  h[6] = static_cast<char>((len >> 8) & 0xff);
  h[7] = static_cast<char>(len & 0xff);
}

// Relays a shim's frames to a hijacked client (stdcopy frames without a
// TTY, raw bytes with one) and the client's bytes to the shim's stdin, until
// the output ends. Returns the exit code the last frame carried, if any.
// `finished` sees the exit code before the client sees the end of the stream,
// so a client inspecting right after the stream ends reads the exit code.
std::optional<int> relay(container::FrameStream& shim, RawConnection& client, bool tty, bool stdin_open,
                         const std::function<void(std::optional<int>)>& finished = {}) {
  std::atomic<bool> done{false};
  std::thread input;
  if (stdin_open) {
    input = std::thread([&] {
      std::vector<char> buf(32 << 10);
      for (;;) {
        std::int64_t n = client.read(buf.data(), buf.size());
        if (n <= 0 || done) break;
        if (!shim.send(0, buf.data(), static_cast<std::size_t>(n))) break;
      }
      // The client closed its side: the container's stdin ends too.
      if (!done) (void)shim.send(0, nullptr, 0);
    });
  }
  std::optional<int> exit_code;
  std::string payload;
  for (;;) {
    auto type = shim.receive(payload);
    if (!type || !type.value()) break;
    int t = *type.value();
    if (t == 3) {
      json::error_code ec;
      auto v = json::parse(payload, ec);
      if (!ec && v.is_object()) {
        if (const auto* code = v.get_object().if_contains("exit_code"); code != nullptr && code->is_int64()) {
          exit_code = static_cast<int>(code->get_int64());
        }
      }
      break;
    }
    if (tty) {
      if (!client.write(payload.data(), payload.size())) break;
    } else {
      char h[8];
      frame_header(h, t, payload.size());
      if (!client.write(h, sizeof h) || !client.write(payload.data(), payload.size())) break;
    }
  }
  done = true;
  if (finished) finished(exit_code);
  client.close_write();
  if (input.joinable()) {
    // The reader blocks on the client; shutting the shim side down lets it go.
    ::shutdown(shim.fd(), SHUT_RDWR);
    input.join();
  }
  return exit_code;
}

// Sends a finished run's output from the container's log, framed as an
// attach stream would have carried it.
void replay_log(ContainerManager& containers, const std::string& id, RawConnection& conn, bool tty, bool out,
                bool err) {
  auto c = containers.get(id);
  if (!c) return;
  container::LogsOptions o;
  o.stdout_ = out;
  o.stderr_ = err;
  o.since_unix_nano = parse_rfc3339(c.value().state.started_at) * 1'000'000'000;
  (void)containers.logs(
      id, o,
      [&](const LogRecord& rec) {
        if (rec.stream == BERTH_LOG_STDOUT ? !out : !err) return true;
        std::string line(rec.line);
        if (!rec.partial) line += tty ? "\r\n" : "\n";
        if (!tty) {
          char h[8];
          frame_header(h, rec.stream, line.size());
          if (!conn.write(h, sizeof h)) return false;
        }
        return conn.write(line.data(), line.size());
      },
      {});
  conn.close_write();
}

}  // namespace

void add_container_routes(Router& router, ContainerManager& containers, image::ImageStore& images) {
  router.add("POST", "/containers/create", [&containers](Request& req, ResponseWriter& w) {
    auto body = req.read_json();
    if (!body) return w.send_error(body.error());
    if (!body.value().is_object()) return w.send_error(400, "config cannot be empty in order to create a container");
    const std::string* name = req.query_value("name");
    auto r = containers.create(body.value().get_object(), name != nullptr ? *name : std::string());
    if (!r) return w.send_error(r.error());
    json::array warnings;
    for (const auto& x : r.value().second) warnings.emplace_back(x);
    w.send_json(201, json::object{{"Id", r.value().first}, {"Warnings", warnings}});
  });

  router.add("GET", "/containers/json", [&containers, &images](Request& req, ResponseWriter& w) {
    auto f = container_filters(req);
    if (!f) return w.send_error(f.error());
    bool all = req.query_bool("all");
    int limit = int_query(req, "limit").value_or(-1);
    if (limit > 0) all = true;
    json::array out;
    for (const auto& c : containers.list()) {
      if (!all && !c.state.running() && !f.value().contains("status") && !f.value().contains("exited")) continue;
      if (!matches(c, f.value(), images)) continue;
      out.emplace_back(summary_json(containers, c));
      if (limit > 0 && static_cast<int>(out.size()) >= limit) break;
    }
    w.send_json(200, out);
  });

  router.add("GET", "/containers/{name}/json", [&containers](Request& req, ResponseWriter& w) {
    auto c = containers.get(req.params.at("name"));
    if (!c) return w.send_error(c.error());
    w.send_json(200, inspect_json(containers, c.value(), {}));
  });

  router.add("POST", "/containers/{name}/start", [&containers](Request& req, ResponseWriter& w) {
    auto r = containers.start(req.params.at("name"));
    if (!r && r.error().code == Errc::already_exists) return w.send(304, "text/plain", "");
    if (!r) return w.send_error(r.error());
    w.send(204, "text/plain", "");
  });

  router.add("POST", "/containers/{name}/stop", [&containers](Request& req, ResponseWriter& w) {
    bool was_running = true;
    std::optional<std::string> signal;
    if (const std::string* s = req.query_value("signal"); s != nullptr && !s->empty()) signal = *s;
    auto r = containers.stop(req.params.at("name"), int_query(req, "t"), signal, &was_running);
    if (!r) return w.send_error(r.error());
    w.send(was_running ? 204 : 304, "text/plain", "");
  });

  router.add("POST", "/containers/{name}/restart", [&containers](Request& req, ResponseWriter& w) {
    auto r = containers.restart(req.params.at("name"), int_query(req, "t"));
    if (!r) return w.send_error(r.error());
    w.send(204, "text/plain", "");
  });

  router.add("POST", "/containers/{name}/kill", [&containers](Request& req, ResponseWriter& w) {
    const std::string* s = req.query_value("signal");
    auto r = containers.kill(req.params.at("name"), s != nullptr ? *s : std::string("SIGKILL"));
    if (!r) return w.send_error(r.error());
    w.send(204, "text/plain", "");
  });

  router.add("POST", "/containers/{name}/pause", [&containers](Request& req, ResponseWriter& w) {
    auto r = containers.pause(req.params.at("name"));
    if (!r) return w.send_error(r.error());
    w.send(204, "text/plain", "");
  });

  router.add("POST", "/containers/{name}/unpause", [&containers](Request& req, ResponseWriter& w) {
    auto r = containers.unpause(req.params.at("name"));
    if (!r) return w.send_error(r.error());
    w.send(204, "text/plain", "");
  });

  router.add("POST", "/containers/{name}/wait", [&containers](Request& req, ResponseWriter& w) {
    container::WaitCondition cond = container::WaitCondition::not_running;
    if (const std::string* c = req.query_value("condition"); c != nullptr && !c->empty()) {
      if (*c == "next-exit") {
        cond = container::WaitCondition::next_exit;
      } else if (*c == "removed") {
        cond = container::WaitCondition::removed;
      } else if (*c != "not-running") {
        return w.send_error(400, "invalid condition: \"" + *c + "\"");
      }
    }
    auto exists = containers.get(req.params.at("name"));
    if (!exists) return w.send_error(exists.error());
    // Headers go first, as Docker's: the client knows the wait is in place.
    std::ostream& out = w.stream(200, "application/json");
    out.flush();
    auto st = containers.wait(req.params.at("name"), cond, [&w] { return w.client_gone(); });
    if (!st) {
      out << to_json_text(json::object{{"StatusCode", -1}, {"Error", json::object{{"Message", st.error().message}}}}) << "\n";
      return;
    }
    json::value error = nullptr;
    if (!st.value().error.empty()) error = json::object{{"Message", st.value().error}};
    out << to_json_text(json::object{{"StatusCode", st.value().exit_code}, {"Error", error}}) << "\n";
  });

  router.add("DELETE", "/containers/{name}", [&containers](Request& req, ResponseWriter& w) {
    auto r = containers.remove(req.params.at("name"), req.query_bool("force"), req.query_bool("v"));
    if (!r) return w.send_error(r.error());
    w.send(204, "text/plain", "");
  });

  router.add("POST", "/containers/{name}/rename", [&containers](Request& req, ResponseWriter& w) {
    const std::string* n = req.query_value("name");
    auto r = containers.rename(req.params.at("name"), n != nullptr ? *n : std::string());
    if (!r) return w.send_error(r.error());
    w.send(204, "text/plain", "");
  });

  router.add("POST", "/containers/{name}/resize", [&containers](Request& req, ResponseWriter& w) {
    auto h = int_query(req, "h"), wd = int_query(req, "w");
    if (!h || !wd || *h < 0 || *wd < 0) return w.send_error(400, "invalid resize: h and w must be numbers");
    auto r = containers.resize(req.params.at("name"), *h, *wd);
    if (!r) return w.send_error(r.error());
    w.send(200, "text/plain", "");
  });

  router.add("POST", "/containers/prune", [&containers](Request&, ResponseWriter& w) {
    json::array deleted;
    for (const auto& c : containers.list()) {
      if (c.state.status != "exited" && c.state.status != "created" && c.state.status != "dead") continue;
      if (containers.remove(c.id, false, false)) deleted.emplace_back(c.id);
    }
    containers.log_event("prune", "", {{"reclaimed", "0"}});
    w.send_json(200, json::object{{"ContainersDeleted", deleted.empty() ? json::value(nullptr) : json::value(deleted)},
                                  {"SpaceReclaimed", 0}});
  });

  router.add("GET", "/containers/{name}/logs", [&containers](Request& req, ResponseWriter& w) {
    auto c = containers.get(req.params.at("name"));
    if (!c) return w.send_error(c.error());
    container::LogsOptions o;
    o.stdout_ = req.query_bool("stdout");
    o.stderr_ = req.query_bool("stderr");
    if (!o.stdout_ && !o.stderr_) return w.send_error(400, "Bad parameters: you must choose at least one stream");
    o.follow = req.query_bool("follow");
    o.timestamps = req.query_bool("timestamps");
    auto since = timestamp_query(req, "since");
    if (!since) return w.send_error(since.error());
    auto until = timestamp_query(req, "until");
    if (!until) return w.send_error(until.error());
    o.since_unix_nano = since.value();
    o.until_unix_nano = until.value();
    if (const std::string* t = req.query_value("tail"); t != nullptr && !t->empty() && *t != "all") {
      try {
        o.tail = std::stoll(*t);
      } catch (...) {
        o.tail = -1;
      }
    }
    bool tty = c.value().tty();
    bool multiplexed = !tty;
    std::ostream* out = nullptr;
    auto r = containers.logs(
        req.params.at("name"), o,
        [&](const LogRecord& rec) {
          if (rec.stream == BERTH_LOG_STDOUT ? !o.stdout_ : !o.stderr_) return true;
          if (out == nullptr) {
            out = &w.stream(200, req.version >= ApiVersion{1, 42} && multiplexed ? kMultiplexedStream : kRawStream);
          }
          std::string line;
          if (o.timestamps) {
            std::time_t secs = rec.time_unix_nano / 1'000'000'000;
            std::tm tm{};
            gmtime_r(&secs, &tm);
            char buf[64];
            std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
            char frac[16];
            std::snprintf(frac, sizeof frac, ".%09lldZ ", static_cast<long long>(rec.time_unix_nano % 1'000'000'000));
            line = std::string(buf) + frac;
          }
          line.append(rec.line);
          if (!rec.partial) line += "\n";
          if (multiplexed) {
            char h[8];
            frame_header(h, rec.stream, line.size());
            out->write(h, sizeof h);
          }
          out->write(line.data(), static_cast<std::streamsize>(line.size()));
          out->flush();
          return static_cast<bool>(*out);
        },
        [&w] { return w.client_gone(); });
    if (!r) {
      if (out == nullptr) return w.send_error(r.error());
      logger("api")->debug("logs {}: {}", req.params.at("name"), r.error().message);
      return;
    }
    if (out == nullptr) w.stream(200, req.version >= ApiVersion{1, 42} && multiplexed ? kMultiplexedStream : kRawStream);
  });

  router.add("POST", "/containers/{name}/attach", [&containers](Request& req, ResponseWriter& w) {
    auto c = containers.get(req.params.at("name"));
    if (!c) return w.send_error(c.error());
    bool in = req.query_bool("stdin"), out = req.query_bool("stdout"), err = req.query_bool("stderr");
    const auto& id = c.value().id;
    if (c.value().state.status == "paused") {
      return w.send_error(409, "You cannot attach to a paused container, unpause it first");
    }
    bool tty = c.value().tty();
    // docker run and start -a attach before they start the container: the
    // stream is answered now and joined to the container's output once it
    // runs, with what it printed before that replayed.
    bool before_start = !c.value().state.running();
    std::uint64_t starts = 0;
    if (before_start) {
      auto expected = containers.expect_attach(id);
      if (!expected) return w.send_error(expected.error());
      starts = expected.value();
    }
    auto conn = w.hijack(req.version >= ApiVersion{1, 42} && !tty ? kMultiplexedStream : kRawStream);
    if (!conn) {
      if (before_start) containers.forget_attach(id);
      return;
    }
    while (before_start) {
      auto started = containers.wait_started(id, starts, std::chrono::milliseconds(500));
      if (!started) return;
      if (started.value()) break;
      if (conn->peer_closed()) return containers.forget_attach(id);
    }
    auto stream = containers.attach(c.value().id, in, out, err, before_start);
    if (!stream) {
      // It ran and ended before the attach got to it: its output is in the log.
      if (before_start) replay_log(containers, c.value().id, *conn, tty, out, err);
      return;
    }
    relay(stream.value(), *conn, tty, in);
  });

  router.add("POST", "/containers/{name}/exec", [&containers](Request& req, ResponseWriter& w) {
    auto body = req.read_json();
    if (!body) return w.send_error(body.error());
    if (!body.value().is_object()) return w.send_error(400, "No exec command specified");
    auto id = containers.exec_create(req.params.at("name"), body.value().get_object());
    if (!id) return w.send_error(id.error());
    w.send_json(201, json::object{{"Id", id.value()}});
  });

  router.add("POST", "/exec/{id}/start", [&containers](Request& req, ResponseWriter& w) {
    auto body = req.read_json();
    if (!body) return w.send_error(body.error());
    bool detach = false;
    if (body.value().is_object()) {
      if (const auto* d = body.value().get_object().if_contains("Detach"); d != nullptr && d->is_bool()) {
        detach = d->get_bool();
      }
    }
    auto x = containers.exec_get(req.params.at("id"));
    if (!x) return w.send_error(x.error());
    auto stream = containers.exec_start(req.params.at("id"));
    if (!stream) return w.send_error(stream.error());
    bool tty = false, in = false;
    if (const auto* t = x.value().config.if_contains("Tty"); t != nullptr && t->is_bool()) tty = t->get_bool();
    if (const auto* i = x.value().config.if_contains("AttachStdin"); i != nullptr && i->is_bool()) in = i->get_bool();
    std::string exec_id = req.params.at("id");
    if (detach) {
      w.send(200, "application/json", "");
      // The exec runs on; its stream is drained so its exit is recorded.
      std::thread([&containers, exec_id, s = std::move(stream).value()]() mutable {
        std::string payload;
        int code = -1;
        for (;;) {
          auto t = s.receive(payload);
          if (!t || !t.value()) break;
          if (*t.value() == 3) {
            json::error_code ec;
            auto v = json::parse(payload, ec);
            if (!ec && v.is_object() && v.get_object().contains("exit_code")) {
              code = static_cast<int>(v.get_object().at("exit_code").to_number<std::int64_t>());
            }
            break;
          }
        }
        containers.exec_finished(exec_id, code);
      }).detach();
      return;
    }
    auto conn = w.hijack(req.version >= ApiVersion{1, 42} && !tty ? kMultiplexedStream : kRawStream);
    if (!conn) return;
    relay(stream.value(), *conn, tty, in,
          [&](std::optional<int> code) { containers.exec_finished(exec_id, code.value_or(-1)); });
  });

  router.add("GET", "/exec/{id}/json", [&containers](Request& req, ResponseWriter& w) {
    auto x = containers.exec_get(req.params.at("id"));
    if (!x) return w.send_error(x.error());
    const auto& cfg = x.value().config;
    auto get = [&](std::string_view k, json::value fallback) {
      const auto* v = cfg.if_contains(k);
      return v != nullptr ? *v : fallback;
    };
    json::value cmd = get("Cmd", json::array{});
    std::string entry;
    json::array args;
    if (cmd.is_array() && !cmd.get_array().empty()) {
      const auto& a = cmd.get_array();
      if (a[0].is_string()) entry = a[0].get_string();
      for (std::size_t i = 1; i < a.size(); ++i) args.push_back(a[i]);
    }
    w.send_json(200, json::object{
                         {"ID", x.value().id},
                         {"Running", x.value().running},
                         {"ExitCode", x.value().has_exit ? json::value(x.value().exit_code) : json::value(nullptr)},
                         {"ProcessConfig", json::object{{"tty", get("Tty", false)},
                                                        {"entrypoint", entry},
                                                        {"arguments", args},
                                                        {"privileged", get("Privileged", false)},
                                                        {"user", get("User", "")}}},
                         {"OpenStdin", get("AttachStdin", false)},
                         {"OpenStderr", get("AttachStderr", false)},
                         {"OpenStdout", get("AttachStdout", false)},
                         {"CanRemove", false},
                         {"ContainerID", x.value().container_id},
                         {"DetachKeys", ""},
                         {"Pid", x.value().pid},
                     });
  });

  router.add("POST", "/exec/{id}/resize", [&containers](Request& req, ResponseWriter& w) {
    auto h = int_query(req, "h"), wd = int_query(req, "w");
    if (!h || !wd) return w.send_error(400, "invalid resize: h and w must be numbers");
    auto r = containers.exec_resize(req.params.at("id"), *h, *wd);
    if (!r) return w.send_error(r.error());
    w.send(200, "text/plain", "");
  });
}

}  // namespace berth::core::api
