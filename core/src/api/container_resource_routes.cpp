#include "berth/core/api/container_resource_routes.hpp"

#include "berth/core/container/oci_spec.hpp"
#include "berth/core/container/shim_protocol.hpp"
#include "berth/core/container/stats.hpp"
#include "berth/core/container/update.hpp"
#include "berth/core/unique_fd.hpp"
#include "berth/runtime/cgroups.hpp"

#include <boost/json.hpp>
#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <regex>
#include <thread>

namespace berth::core::api {
namespace json = boost::json;
using container::ContainerManager;

namespace {

// --- top ---------------------------------------------------------------------

// Docker's validatePSArgs: ps may not be asked to print a column titled
// like the PID column under another name ("-o user=PID").
Result<void> validate_ps_args(const std::string& args) {
  static const std::regex re(R"(\s+([^\s]*)=\s*(PID[^\s]*))");
  for (std::sregex_iterator it(args.begin(), args.end(), re), end; it != end; ++it) {
    if ((*it)[1] != "pid") {
      return make_error(Errc::internal,
                        "specifying \"" + (*it)[1].str() + "=" + (*it)[2].str() + "\" is not allowed");
    }
  }
  return ok();
}

struct Output {
  int status = -1;
  std::string out, err;
};

// Runs `args` with stdout and stderr collected.
Result<Output> run_captured(const std::vector<std::string>& args) {
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return errno_error(Errc::internal, "pipe", errno);
  UniqueFd out_r(out_pipe[0]), out_w(out_pipe[1]);
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) return errno_error(Errc::internal, "pipe", errno);
  UniqueFd err_r(err_pipe[0]), err_w(err_pipe[1]);
  BERTH_TRY(pid_t pid, container::shim_protocol::spawn(args, {{-1, 0}, {out_w.get(), 1}, {err_w.get(), 2}}));
  out_w = UniqueFd();
  err_w = UniqueFd();
  Output o;
  pollfd fds[2] = {{out_r.get(), POLLIN, 0}, {err_r.get(), POLLIN, 0}};
  std::string* sinks[2] = {&o.out, &o.err};
  int open = 2;
  while (open > 0) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[16384];
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        fds[i].fd = -1;
        --open;
        continue;
      }
      sinks[i]->append(buf, static_cast<std::size_t>(n));
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  o.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return o;
}

// Go's strings.FieldsFunc on ASCII white space (Docker's fieldsASCII).
std::vector<std::string> fields(std::string_view line) {
  std::vector<std::string> out;
  std::size_t i = 0;
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; };
  while (i < line.size()) {
    while (i < line.size() && space(line[i])) ++i;
    std::size_t start = i;
    while (i < line.size() && !space(line[i])) ++i;
    if (i > start) out.emplace_back(line.substr(start, i - start));
  }
  return out;
}

// Docker's parsePSOutput: the header, and the rows whose PID is one of
// `pids` (with the thread rows, PID "-", that follow one of them).
Result<json::object> parse_ps_output(const std::string& output, const std::vector<pid_t>& pids) {
  std::vector<std::string_view> lines;
  for (std::size_t start = 0; start <= output.size();) {
    std::size_t nl = output.find('\n', start);
    if (nl == std::string::npos) nl = output.size();
    lines.emplace_back(output.data() + start, nl - start);
    start = nl + 1;
  }
  std::vector<std::string> titles = fields(lines.empty() ? std::string_view() : lines[0]);
  auto pid_column = std::find(titles.begin(), titles.end(), "PID");
  if (pid_column == titles.end()) return make_error(Errc::internal, "Couldn't find PID field in ps output");
  const std::size_t pid_index = static_cast<std::size_t>(pid_column - titles.begin());
  json::array processes;
  auto append = [&](std::vector<std::string> f) {
    // Overhanging fields (a command's arguments) join the last column.
    json::array row;
    for (std::size_t i = 0; i + 1 < titles.size() && i < f.size(); ++i) row.emplace_back(f[i]);
    std::string last;
    for (std::size_t i = titles.size() - 1; i < f.size(); ++i) last += (last.empty() ? "" : " ") + f[i];
    row.emplace_back(last);
    processes.push_back(std::move(row));
  };
  bool in_container = false;
  for (std::size_t l = 1; l < lines.size(); ++l) {
    if (lines[l].empty()) continue;
    auto f = fields(lines[l]);
    if (f.size() <= pid_index) continue;
    if (f[pid_index] == "-") {
      if (in_container) append(std::move(f));
      continue;
    }
    pid_t p = 0;
    try {
      std::size_t used = 0;
      p = static_cast<pid_t>(std::stol(f[pid_index], &used));
      if (used != f[pid_index].size()) throw std::invalid_argument("pid");
    } catch (const std::exception&) {
      return make_error(Errc::internal, "Unexpected pid '" + f[pid_index] + "': strconv.Atoi: parsing \"" +
                                            f[pid_index] + "\": invalid syntax");
    }
    in_container = std::find(pids.begin(), pids.end(), p) != pids.end();
    if (in_container) append(std::move(f));
  }
  json::array title_array;
  for (auto& t : titles) title_array.emplace_back(t);
  return json::object{{"Titles", std::move(title_array)}, {"Processes", std::move(processes)}};
}

Result<json::object> top(ContainerManager& containers, const std::string& name, std::string ps_args) {
  if (ps_args.empty()) ps_args = "-ef";
  BERTH_TRY(validate_ps_args(ps_args));
  BERTH_TRY(auto cgroup, containers.cgroup_of(name));
  BERTH_TRY(auto pids, runtime::cgroups::pids(cgroup));
  // Go's strings.Split on single spaces, as Docker passes them.
  std::vector<std::string> args{"ps"};
  for (std::size_t start = 0;;) {
    std::size_t sp = ps_args.find(' ', start);
    args.push_back(ps_args.substr(start, sp == std::string::npos ? std::string::npos : sp - start));
    if (sp == std::string::npos) break;
    start = sp + 1;
  }
  std::string selection = "-q";
  for (std::size_t i = 0; i < pids.size(); ++i) selection += (i > 0 ? "," : "") + std::to_string(pids[i]);
  auto with_pids = args;
  with_pids.push_back(selection);
  BERTH_TRY(auto out, run_captured(with_pids));
  if (out.status != 0) {
    // Some ps options (f) do not go with -q: the whole list then.
    BERTH_TRY(auto all, run_captured(args));
    out = std::move(all);
    if (out.status != 0) {
      std::string first = out.err.substr(0, out.err.find('\n'));
      return make_error(Errc::internal, "ps: " + (first.empty() ? "exit status " + std::to_string(out.status) : first));
    }
  }
  return parse_ps_output(out.out, pids);
}

// --- stats -------------------------------------------------------------------

// Sleeps until `deadline`, or less once the client went away.
bool sleep_until(ResponseWriter& w, std::chrono::steady_clock::time_point deadline) {
  while (std::chrono::steady_clock::now() < deadline) {
    if (w.client_gone()) return false;
    std::this_thread::sleep_for(
        std::min<std::chrono::steady_clock::duration>(deadline - std::chrono::steady_clock::now(),
                                                      std::chrono::milliseconds(100)));
  }
  return !w.client_gone();
}

// A sample of the container's cgroup; none when it does not run (then
// Docker's zeroed stats go out).
std::optional<container::StatsSample> sample(ContainerManager& containers, const std::string& id) {
  auto cgroup = containers.cgroup_of(id);
  if (!cgroup) return std::nullopt;
  auto s = container::sample_stats(cgroup.value());
  if (!s) return std::nullopt;
  return std::move(s).value();
}

void stats(ContainerManager& containers, Request& req, ResponseWriter& w) {
  auto c = containers.get(req.params.at("name"));
  if (!c) return w.send_error(c.error());
  const std::string id = c.value().id, name = c.value().name;
  const bool stream = req.query_bool("stream", true), one_shot = req.query_bool("one-shot");
  if (stream && one_shot) return w.send_error(400, "cannot have stream=true and one-shot=true");
  if (!stream) {
    auto first = sample(containers, id);
    if (!first || one_shot) return w.send_json(200, container::stats_json(first ? &*first : nullptr, nullptr, name, id));
    // As dockerd: the answer has a sample a second older as precpu_stats,
    // so a CPU percentage can be computed from it alone.
    if (!sleep_until(w, std::chrono::steady_clock::now() + std::chrono::seconds(1))) return;
    auto second = sample(containers, id);
    if (!second) return w.send_json(200, container::stats_json(nullptr, nullptr, name, id));
    return w.send_json(200, container::stats_json(&*second, &*first, name, id));
  }
  std::ostream& out = w.stream(200, "application/json");
  std::optional<container::StatsSample> before;
  auto next = std::chrono::steady_clock::now();
  for (;;) {
    if (!containers.get(id)) return;  // removed: the stream ends
    auto now = sample(containers, id);
    const auto* prev = now && before ? &*before : nullptr;
    out << to_json_text(container::stats_json(now ? &*now : nullptr, prev, name, id)) << "\n";
    out.flush();
    if (!out) return;
    before = std::move(now);
    next += std::chrono::seconds(1);
    if (!sleep_until(w, next)) return;
  }
}

// --- update ------------------------------------------------------------------

void update(ContainerManager& containers, Request& req, ResponseWriter& w) {
  auto body = req.read_json();
  if (!body) return w.send_error(body.error());
  json::object changes;
  if (body.value().is_object()) {
    changes = body.value().get_object();
  } else if (!body.value().is_null()) {
    return w.send_error(400, "invalid JSON: the update body must be an object");
  }
  auto warnings = container::verify_update(changes, container::current_spec_host());
  if (!warnings) return w.send_error(warnings.error());
  auto r = containers.update(req.params.at("name"), [&changes](const container::Container&, json::object& hc) {
    return container::apply_update(changes, hc);
  });
  if (!r) return w.send_error(r.error());
  json::array list;
  for (const auto& x : warnings.value()) list.emplace_back(x);
  w.send_json(200, json::object{{"Warnings", std::move(list)}});
}

}  // namespace

void add_container_resource_routes(Router& router, ContainerManager& containers) {
  router.add("GET", "/containers/{name}/top", [&containers](Request& req, ResponseWriter& w) {
    const std::string* args = req.query_value("ps_args");
    auto r = top(containers, req.params.at("name"), args != nullptr ? *args : std::string());
    if (!r) return w.send_error(r.error());
    containers.log_event("top", req.params.at("name"));
    w.send_json(200, r.value());
  });
  router.add("GET", "/containers/{name}/stats",
             [&containers](Request& req, ResponseWriter& w) { stats(containers, req, w); });
  router.add("POST", "/containers/{name}/update",
             [&containers](Request& req, ResponseWriter& w) { update(containers, req, w); });
}

}  // namespace berth::core::api
