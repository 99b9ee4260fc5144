// berth stats / berth container stats: live resource usage of containers
// (docker/cli stats.go, stats_helpers.go, formatter/stats.go), computed
// from the Engine API's stats objects the way Docker's CLI computes it:
// CPU % = container CPU delta / system CPU delta * online CPUs * 100 over
// the daemon's precpu_stats; memory without the inactive page cache; block
// I/O summed by operation; network summed over interfaces.
//
// --no-stream asks each container for one sample (the daemon measures over
// a second) and prints one table. Otherwise one stream per container feeds
// a table redrawn every second; without names the running containers (all
// with -a) are listed again at each redraw, so new ones appear and removed
// ones go.
#include "json_fields.hpp"
#include "command.hpp"
#include "container_common.hpp"
#include "format/template.hpp"

#include <boost/json.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

namespace berth::cli {
namespace json = boost::json;

namespace {

struct Opts {
  bool all = false, no_stream = false, no_trunc = false;
  std::string format;
  std::vector<std::string> containers;
};

const json::object& member(const json::object& o, std::string_view key) {
  static const json::object empty;
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_object() ? v->as_object() : empty;
}

double num(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_number() ? v->to_number<double>() : 0.0;
}

// One container's figures (Docker's StatsEntry).
struct Entry {
  std::string container;  // as named on the command line, or the ID
  std::string id, name;
  double cpu = 0, memory = 0, memory_limit = 0, memory_percent = 0;
  double net_rx = 0, net_tx = 0, block_read = 0, block_write = 0;
  std::uint64_t pids = 0;
  bool invalid = false;  // no answer yet, or the stream failed
};

Entry compute(const std::string& container, const json::object& v) {
  Entry e;
  e.container = container;
  e.id = str(v, "id");
  e.name = str(v, "name");
  const auto& cpu = member(v, "cpu_stats");
  const auto& pre = member(v, "precpu_stats");
  const double cpu_delta = num(member(cpu, "cpu_usage"), "total_usage") - num(member(pre, "cpu_usage"), "total_usage");
  const double system_delta = num(cpu, "system_cpu_usage") - num(pre, "system_cpu_usage");
  double online = num(cpu, "online_cpus");
  if (online == 0) {
    const auto* percpu = member(cpu, "cpu_usage").if_contains("percpu_usage");
    online = percpu != nullptr && percpu->is_array() ? static_cast<double>(percpu->as_array().size()) : 0;
  }
  if (system_delta > 0 && cpu_delta > 0) e.cpu = cpu_delta / system_delta * online * 100.0;

  const auto& mem = member(v, "memory_stats");
  const auto& mem_stats = member(mem, "stats");
  const double usage = num(mem, "usage");
  e.memory = usage;
  // Docker's calculateMemUsageUnixNoCache: v1's total_inactive_file, else v2's inactive_file.
  if (mem_stats.contains("total_inactive_file")) {
    if (double f = num(mem_stats, "total_inactive_file"); f < usage) e.memory = usage - f;
  } else if (double f = num(mem_stats, "inactive_file"); f < usage) {
    e.memory = usage - f;
  }
  e.memory_limit = num(mem, "limit");
  if (e.memory_limit != 0) e.memory_percent = e.memory / e.memory_limit * 100.0;

  if (const auto* list = member(v, "blkio_stats").if_contains("io_service_bytes_recursive");
      list != nullptr && list->is_array()) {
    for (const auto& x : list->as_array()) {
      if (!x.is_object()) continue;
      const std::string op = str(x.as_object(), "op");
      const char first = op.empty() ? '\0' : static_cast<char>(std::tolower(static_cast<unsigned char>(op[0])));
      if (first == 'r') e.block_read += num(x.as_object(), "value");
      if (first == 'w') e.block_write += num(x.as_object(), "value");
    }
  }
  for (const auto& [name, net] : member(v, "networks")) {
    if (!net.is_object()) continue;
    e.net_rx += num(net.as_object(), "rx_bytes");
    e.net_tx += num(net.as_object(), "tx_bytes");
  }
  e.pids = static_cast<std::uint64_t>(num(member(v, "pids_stats"), "current"));
  return e;
}

std::string percent(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f%%", v);
  return buf;
}

// Docker's statsContext: every column a string.
json::value row(const Entry& e, bool trunc) {
  auto pair = [&](double a, double b, bool binary) {
    return e.invalid ? std::string("--")
                     : (binary ? binary_size(a) : human_size(a, 3)) + " / " + (binary ? binary_size(b) : human_size(b, 3));
  };
  std::string name = e.name.size() > 1 ? e.name.substr(e.name.starts_with("/") ? 1 : 0) : "--";
  return json::object{
      {"BlockIO", pair(e.block_read, e.block_write, false)},
      {"CPUPerc", e.invalid ? "--" : percent(e.cpu)},
      {"Container", e.container},
      {"ID", trunc ? short_id(e.id) : e.id},
      {"MemPerc", e.invalid ? "--" : percent(e.memory_percent)},
      {"MemUsage", e.invalid ? "-- / --" : pair(e.memory, e.memory_limit, true)},
      {"Name", name},
      {"NetIO", pair(e.net_rx, e.net_tx, false)},
      {"PIDs", e.invalid ? "--" : std::to_string(e.pids)},
  };
}

void print_table(Context& ctx, const Opts& o, const std::vector<Entry>& entries) {
  std::vector<json::value> rows;
  for (const auto& e : entries) rows.push_back(row(e, !o.no_trunc));
  print_rows(ctx, o.format,
             "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}",
             rows,
             {{"ID", "CONTAINER ID"},
              {"Name", "NAME"},
              {"CPUPerc", "CPU %"},
              {"MemUsage", "MEM USAGE / LIMIT"},
              {"MemPerc", "MEM %"},
              {"NetIO", "NET I/O"},
              {"BlockIO", "BLOCK I/O"},
              {"PIDs", "PIDS"},
              {"Container", "CONTAINER"}});
}

std::vector<std::string> listed(Context& ctx, bool all) {
  json::value list = ctx.client().get_json(std::string("/containers/json") + (all ? "?all=1" : ""));
  std::vector<std::string> ids;
  if (!list.is_array()) return ids;
  for (const auto& c : list.as_array()) {
    if (c.is_object()) ids.push_back(str(c.as_object(), "Id"));
  }
  return ids;
}

json::object parse_object(const std::string& text, const std::string& what) {
  json::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) throw CliError("invalid stats answer from daemon for " + what);
  return v.as_object();
}

void no_stream(Context& ctx, const Opts& o, const std::vector<std::string>& containers) {
  ctx.client().api_version();
  std::vector<Entry> entries(containers.size());
  std::vector<std::string> errors(containers.size());
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < containers.size(); ++i) {
    threads.emplace_back([&, i] {
      try {
        Response r = container_request(ctx, "GET", "/containers/" + path_escape(containers[i]) + "/stats?stream=0");
        entries[i] = compute(containers[i], parse_object(r.body, containers[i]));
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  std::string message;
  std::vector<Entry> shown;
  for (std::size_t i = 0; i < containers.size(); ++i) {
    if (!errors[i].empty()) {
      message += (message.empty() ? "" : "\n") + errors[i];
    } else {
      shown.push_back(entries[i]);
    }
  }
  if (!message.empty()) throw CliError(message);
  print_table(ctx, o, shown);
}

// The streams of the containers shown, each read on its own thread.
class Streams {
 public:
  explicit Streams(Context& ctx) : ctx_(ctx) {}

  void watch(const std::string& container) {
    {
      std::lock_guard lock(state_->mutex);
      if (state_->entries.contains(container)) return;
      Entry e;
      e.container = e.id = container;
      e.invalid = true;
      state_->entries[container] = e;
      state_->order.push_back(container);
    }
    std::shared_ptr<Connection> conn;
    try {
      conn = ctx_.client().open({"GET", "/containers/" + path_escape(container) + "/stats?stream=1", "", "", false});
      if (conn->head().status / 100 != 2) {
        Response answer = conn->head();
        answer.body = conn->read_all();
        check_response(answer);
      }
    } catch (const CliError& err) {
      std::lock_guard lock(state_->mutex);
      state_->errors[container] = err.what();
      return;
    }
    std::thread([state = state_, conn, container] {
      std::string buffer;
      char chunk[8192];
      try {
        for (std::size_t n; (n = conn->read_some(chunk, sizeof chunk)) > 0;) {
          buffer.append(chunk, n);
          for (std::size_t nl; (nl = buffer.find('\n')) != std::string::npos;) {
            std::string line = buffer.substr(0, nl);
            buffer.erase(0, nl + 1);
            json::error_code ec;
            json::value v = json::parse(line, ec);
            if (ec || !v.is_object()) continue;
            std::lock_guard lock(state->mutex);
            if (!state->entries.contains(container)) return;  // dropped
            state->entries[container] = compute(container, v.as_object());
          }
        }
      } catch (const CliError&) {
      }
      std::lock_guard lock(state->mutex);
      if (auto it = state->entries.find(container); it != state->entries.end()) it->second.invalid = true;
    }).detach();
  }

  // Keeps only `containers` (a fresh listing).
  void keep(const std::set<std::string>& containers) {
    std::lock_guard lock(state_->mutex);
    std::erase_if(state_->order, [&](const std::string& c) {
      if (containers.contains(c)) return false;
      state_->entries.erase(c);
      return true;
    });
  }

  std::vector<Entry> entries() {
    std::lock_guard lock(state_->mutex);
    std::vector<Entry> out;
    for (const auto& c : state_->order) out.push_back(state_->entries.at(c));
    return out;
  }

  std::string errors() {
    std::lock_guard lock(state_->mutex);
    std::string out;
    for (const auto& [c, e] : state_->errors) out += (out.empty() ? "" : "\n") + e;
    return out;
  }

 private:
  struct State {
    std::mutex mutex;
    std::map<std::string, Entry> entries;
    std::vector<std::string> order;
    std::map<std::string, std::string> errors;
  };
  Context& ctx_;
  // Shared with the reader threads, which outlive this object at exit.
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

void stream(Context& ctx, const Opts& o) {
  ctx.client().api_version();
  Streams streams(ctx);
  for (const auto& c : o.containers) streams.watch(c);
  if (o.containers.empty()) {
    for (const auto& id : listed(ctx, o.all)) streams.watch(id);
  } else if (auto errors = streams.errors(); !errors.empty()) {
    throw CliError(errors);
  }
  for (;;) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    if (o.containers.empty()) {
      auto ids = listed(ctx, o.all);
      streams.keep(std::set<std::string>(ids.begin(), ids.end()));
      for (const auto& id : ids) streams.watch(id);
    }
    if (ctx.out_is_terminal()) ctx.out << "\033[2J\033[H";
    print_table(ctx, o, streams.entries());
    ctx.out.flush();
  }
}

void stats(Context& ctx, const Opts& o) {
  if (!o.no_stream) return stream(ctx, o);
  no_stream(ctx, o, o.containers.empty() ? listed(ctx, o.all) : o.containers);
}

}  // namespace

void configure_stats(CLI::App& cmd, Context& ctx) {
  auto o = std::make_shared<Opts>();
  cmd.add_option("CONTAINER", o->containers, "Containers (default: all running)");
  cmd.add_flag("-a,--all", o->all, "Show all containers (default shows just running)");
  cmd.add_option("--format", o->format,
                 "Format output: \"table\", \"json\", \"table TEMPLATE\" or a Go template");
  cmd.add_flag("--no-stream", o->no_stream, "Disable streaming stats and only pull the first result");
  cmd.add_flag("--no-trunc", o->no_trunc, "Do not truncate output");
  cmd.callback([&ctx, o] { stats(ctx, *o); });
}

}  // namespace berth::cli
