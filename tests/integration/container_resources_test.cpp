// A container's resources through a real berthd: docker top, stats and
// update with both docker CLIs (read back from the host's cgroup files and
// from inspect), the stats API streamed and one-shot, Docker's errors for
// bad values; and berth stats, top and update.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <filesystem>
#include <regex>
#include <sstream>

#include "container_fixture.hpp"

namespace berth::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

std::string trimmed(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())) != 0) s.pop_back();
  return s;
}

bool cgroup_v2() { return fs::exists("/sys/fs/cgroup/cgroup.controllers"); }

template <class Base>
class Resources : public ContainerFixture<Base> {
 protected:
  // A running `sleep 300` named `name`, started by the berth CLI; its ID.
  std::string run_sleeper(const std::string& name, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"run", "-d", "--name", name};
    args.insert(args.end(), extra.begin(), extra.end());
    args.insert(args.end(), {kImage, "sleep", "300"});
    auto r = this->daemon_->berth(args);
    EXPECT_EQ(r.exit_code, 0) << r.err << this->daemon_->log();
    return trimmed(r.out);
  }

  // A file of container `id`'s cgroup on the host: `v1` under the v1
  // controller's hierarchy, or `v2` on a unified host.
  std::string cgroup_file(const std::string& id, const std::string& controller, const std::string& v1,
                          const std::string& v2) {
    const std::string parent = fs::path(this->root_.path()).filename().string();
    if (cgroup_v2()) return trimmed(read_file("/sys/fs/cgroup/" + parent + "/" + id + "/" + v2));
    return trimmed(read_file("/sys/fs/cgroup/" + controller + "/" + parent + "/" + id + "/" + v1));
  }
  std::string memory_limit(const std::string& id) {
    return cgroup_file(id, "memory", "memory.limit_in_bytes", "memory.max");
  }

  json::object inspect_host_config(const std::string& name) {
    auto a = this->daemon_->api("GET", "/containers/" + name + "/json");
    EXPECT_EQ(a.status, 200) << a.body;
    return json::parse(a.body).as_object().at("HostConfig").as_object();
  }
};

class DockerResources : public Resources<::testing::TestWithParam<std::string>> {
 protected:
  CommandResult docker(std::vector<std::string> args) { return cli(GetParam(), std::move(args)); }
};

class ResourcesApi : public Resources<::testing::Test> {};

// --- docker CLIs ----------------------------------------------------------------

TEST_P(DockerResources, TopShowsTheContainersProcessesOnly) {
  run_sleeper("berth-test-top");
  auto top = docker({"top", "berth-test-top"});
  ASSERT_EQ(top.exit_code, 0) << top.err << daemon_->log();
  std::istringstream lines(top.out);
  std::vector<std::string> rows;
  for (std::string line; std::getline(lines, line);) rows.push_back(line);
  ASSERT_EQ(rows.size(), 2u) << top.out;  // the header and the sleep, nothing of the host
  EXPECT_TRUE(std::regex_search(rows[0], std::regex("^UID +PID +PPID +C +STIME +TTY +TIME +CMD$"))) << rows[0];
  EXPECT_TRUE(rows[1].ends_with("sleep 300")) << rows[1];
  EXPECT_FALSE(contains(top.out, "berthd")) << top.out;

  // ps options pass through; the thread rows of -L stay with their process.
  auto custom = docker({"top", "berth-test-top", "-o", "pid,comm"});
  ASSERT_EQ(custom.exit_code, 0) << custom.err;
  EXPECT_TRUE(std::regex_match(custom.out, std::regex(" *PID +COMMAND\n[0-9]+ +sleep\n"))) << custom.out;

  // Not running: Docker's 409.
  ASSERT_EQ(docker({"create", "--name", "berth-test-top-created", kImage, "true"}).exit_code, 0);
  auto stopped = docker({"top", "berth-test-top-created"});
  EXPECT_NE(stopped.exit_code, 0);
  EXPECT_TRUE(std::regex_search(stopped.err, std::regex("Container [0-9a-f]{64} is not running"))) << stopped.err;
}

TEST_P(DockerResources, StatsNoStreamShowsMemoryUsageAndLimit) {
  run_sleeper("berth-test-stats", {"-m", "64m"});
  auto stats = docker({"stats", "--no-stream", "berth-test-stats"});
  ASSERT_EQ(stats.exit_code, 0) << stats.err << daemon_->log();
  std::istringstream lines(stats.out);
  std::string header, row;
  std::getline(lines, header);
  std::getline(lines, row);
  EXPECT_TRUE(std::regex_match(header, std::regex("CONTAINER ID +NAME +CPU % +MEM USAGE / LIMIT +MEM % +NET I/O +"
                                                  "BLOCK I/O +PIDS")))
      << stats.out;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(row, m, std::regex(R"(berth-test-stats +([0-9.]+)% +([0-9.]+)([KMG]?i?B) / 64MiB +([0-9.]+)% .* 1$)")))
      << stats.out;
  EXPECT_GT(std::stod(m[2]), 0.0) << row;  // a non-zero MEM USAGE
  EXPECT_NE(m[3], "B") << row;              // a process uses more than bytes

  auto formatted = docker({"stats", "--no-stream", "--format", "{{.Name}} {{.MemUsage}} {{.PIDs}}", "berth-test-stats"});
  ASSERT_EQ(formatted.exit_code, 0) << formatted.err;
  EXPECT_TRUE(std::regex_match(formatted.out, std::regex("berth-test-stats [0-9.]+[KMG]iB / 64MiB 1\n")))
      << formatted.out;

  // Streaming, as `docker stats` runs by default.
  Background streaming({GetParam(), "-H", daemon_->host(), "stats", "--format", "{{.Name}}={{.MemUsage}}",
                        "berth-test-stats"},
                       {{"DOCKER_CONFIG", work_.path()}, {"DOCKER_HOST", ""}});
  const std::string& seen = streaming.read_until(" / 64MiB", std::chrono::milliseconds(8000));
  EXPECT_TRUE(std::regex_search(seen, std::regex("berth-test-stats=[0-9.]+[KMG]iB / 64MiB"))) << seen;
  streaming.stop(SIGKILL);  // docker 28 lets a SIGTERM wait for its streams
}

TEST_P(DockerResources, UpdateChangesTheCgroupAndHostConfig) {
  const std::string id = run_sleeper("berth-test-update", {"-m", "64m"});
  ASSERT_EQ(memory_limit(id), "67108864");
  auto update = docker({"update", "--memory", "32m", "--memory-swap", "64m", "berth-test-update"});
  ASSERT_EQ(update.exit_code, 0) << update.err << daemon_->log();
  EXPECT_EQ(update.out, "berth-test-update\n");
  EXPECT_EQ(memory_limit(id), "33554432");
  if (cgroup_v2()) {
    EXPECT_EQ(cgroup_file(id, "memory", "", "memory.swap.max"), "33554432");
  } else {
    EXPECT_EQ(cgroup_file(id, "memory", "memory.memsw.limit_in_bytes", ""), "67108864");
  }
  auto hc = inspect_host_config("berth-test-update");
  EXPECT_EQ(hc.at("Memory").to_number<std::int64_t>(), 33554432);
  EXPECT_EQ(hc.at("MemorySwap").to_number<std::int64_t>(), 67108864);

  // CPU and pids limits, and the restart policy.
  auto more = docker({"update", "--cpus", "0.5", "--pids-limit", "20", "--restart", "on-failure:3", "berth-test-update"});
  ASSERT_EQ(more.exit_code, 0) << more.err;
  EXPECT_EQ(cgroup_file(id, "pids", "pids.max", "pids.max"), "20");
  if (cgroup_v2()) {
    EXPECT_EQ(cgroup_file(id, "cpu", "", "cpu.max"), "50000 100000");
  } else {
    EXPECT_EQ(cgroup_file(id, "cpu", "cpu.cfs_quota_us", ""), "50000");
  }
  hc = inspect_host_config("berth-test-update");
  EXPECT_EQ(hc.at("NanoCpus").to_number<std::int64_t>(), 500000000);
  EXPECT_EQ(hc.at("PidsLimit").to_number<std::int64_t>(), 20);
  EXPECT_EQ(json::serialize(hc.at("RestartPolicy")), R"({"Name":"on-failure","MaximumRetryCount":3})");
  EXPECT_EQ(hc.at("Memory").to_number<std::int64_t>(), 33554432);  // untouched by this update
}

TEST_P(DockerResources, InvalidUpdatesAreRefusedAndChangeNothing) {
  const std::string id = run_sleeper("berth-test-update-bad", {"-m", "64m", "--cpus", "1"});
  const std::string before = json::serialize(inspect_host_config("berth-test-update-bad"));
  struct Case {
    std::vector<std::string> flags;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"--memory", "1m"}, "Minimum memory limit allowed is 6MB"},
      {{"--memory", "128m", "--memory-swap", "64m"},
       "Minimum memoryswap limit should be larger than memory limit, see usage."},
      {{"--memory", "256m"},
       "Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time"},
      {{"--cpus", "0.5", "--cpu-period", "100000"}, "Conflicting options: Nano CPUs and CPU Period cannot both be set"},
      {{"--cpu-quota", "50000"}, "Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set"},
      {{"--memory-reservation", "1m"}, "Minimum memory reservation allowed is 6MB"},
      {{"--blkio-weight", "5"}, "Range of blkio weight is from 10 to 1000"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> args{"update"};
    args.insert(args.end(), c.flags.begin(), c.flags.end());
    args.push_back("berth-test-update-bad");
    auto r = docker(args);
    EXPECT_NE(r.exit_code, 0) << c.message;
    EXPECT_TRUE(contains(r.err, "Error response from daemon: ")) << r.err;
    EXPECT_TRUE(contains(r.err, c.message)) << r.err;
  }
  EXPECT_EQ(json::serialize(inspect_host_config("berth-test-update-bad")), before);
  EXPECT_EQ(memory_limit(id), "67108864");
  auto missing = docker({"update", "--memory", "32m", "berth-test-nothere"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_TRUE(contains(missing.err, "No such container: berth-test-nothere")) << missing.err;
}

INSTANTIATE_TEST_SUITE_P(Clients, DockerResources, kDockerClients, docker_client_name);

// --- the API ----------------------------------------------------------------------

std::vector<json::object> stats_objects(const std::string& http) {
  std::vector<json::object> out;
  std::istringstream in(http);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.starts_with("{")) continue;
    json::error_code ec;
    auto v = json::parse(line, ec);
    if (!ec && v.is_object()) out.push_back(v.as_object());
  }
  return out;
}

TEST_F(ResourcesApi, StatsStreamSendsASampleEverySecond) {
  const std::string id = run_sleeper("berth-test-stream");
  // curl, as a client that keeps its side of the connection open.
  Background curl({"curl", "-sSN", "--unix-socket", daemon_->socket(),
                   "http://localhost/v1.43/containers/berth-test-stream/stats"});
  const std::string answer = curl.read_until("no such text", std::chrono::milliseconds(3500));
  curl.stop(SIGTERM);
  auto samples = stats_objects(answer);
  ASSERT_GE(samples.size(), 2u) << answer;
  ASSERT_LE(samples.size(), 5u) << answer;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const auto& s = samples[i];
    EXPECT_EQ(s.at("id").as_string(), id);
    EXPECT_EQ(s.at("name").as_string(), "/berth-test-stream");
    EXPECT_GT(s.at("memory_stats").at("usage").to_number<std::uint64_t>(), 0u);
    EXPECT_EQ(s.at("pids_stats").at("current").to_number<std::uint64_t>(), 1u);
    EXPECT_GT(s.at("cpu_stats").at("system_cpu_usage").to_number<std::uint64_t>(), 0u);
    if (i == 0) continue;
    const auto& prev = samples[i - 1];
    // `read` increases; each sample's precpu is the one before's cpu.
    EXPECT_GT(s.at("read").as_string(), prev.at("read").as_string());
    EXPECT_EQ(s.at("preread"), prev.at("read"));
    EXPECT_EQ(s.at("precpu_stats"), prev.at("cpu_stats"));
  }
}

TEST_F(ResourcesApi, StatsOneSampleOneShotAndStopped) {
  run_sleeper("berth-test-sample", {"-m", "64m"});
  // stream=false: precpu from a sample a second earlier.
  auto one = daemon_->api("GET", "/containers/berth-test-sample/stats?stream=false");
  ASSERT_EQ(one.status, 200) << one.body;
  auto s = json::parse(one.body).as_object();
  EXPECT_EQ(s.at("memory_stats").at("limit").to_number<std::uint64_t>(), 64u << 20);
  EXPECT_NE(s.at("preread").as_string(), "0001-01-01T00:00:00Z");
  EXPECT_GT(s.at("cpu_stats").at("system_cpu_usage").to_number<std::uint64_t>(),
            s.at("precpu_stats").at("system_cpu_usage").to_number<std::uint64_t>());
  if (!cgroup_v2()) {
    EXPECT_TRUE(s.at("cpu_stats").at("cpu_usage").as_object().contains("percpu_usage")) << one.body;
    EXPECT_TRUE(s.at("memory_stats").at("stats").as_object().contains("total_inactive_file")) << one.body;
  }
  // one-shot: no precpu.
  auto shot = daemon_->api("GET", "/containers/berth-test-sample/stats?stream=false&one-shot=true");
  ASSERT_EQ(shot.status, 200) << shot.body;
  EXPECT_EQ(json::parse(shot.body).at("preread").as_string(), "0001-01-01T00:00:00Z");
  auto both = daemon_->api("GET", "/containers/berth-test-sample/stats?stream=true&one-shot=true");
  EXPECT_EQ(both.status, 400) << both.body;

  // Not running: Docker's zeroed stats.
  ASSERT_EQ(daemon_->berth({"create", "--name", "berth-test-sample-created", kImage, "true"}).exit_code, 0);
  auto zero = daemon_->api("GET", "/containers/berth-test-sample-created/stats?stream=false");
  ASSERT_EQ(zero.status, 200) << zero.body;
  auto z = json::parse(zero.body).as_object();
  EXPECT_EQ(z.at("read").as_string(), "0001-01-01T00:00:00Z");
  EXPECT_EQ(z.at("name").as_string(), "/berth-test-sample-created");
  EXPECT_TRUE(z.at("memory_stats").as_object().empty());
  EXPECT_EQ(z.at("cpu_stats").at("cpu_usage").at("total_usage").to_number<std::uint64_t>(), 0u);
  EXPECT_EQ(daemon_->api("GET", "/containers/berth-test-nothere/stats?stream=false").status, 404);
}

TEST_F(ResourcesApi, TopErrorsAsDocker) {
  run_sleeper("berth-test-top-api");
  auto bad = daemon_->api("GET", "/containers/berth-test-top-api/top?ps_args=--no-such-option");
  EXPECT_EQ(bad.status, 500) << bad.body;
  EXPECT_TRUE(contains(bad.body, "\"ps: error: unknown gnu long option")) << bad.body;
  auto renamed_pid = daemon_->api("GET", "/containers/berth-test-top-api/top?ps_args=-o%20user%3DPID");
  EXPECT_EQ(renamed_pid.status, 500) << renamed_pid.body;
  EXPECT_TRUE(contains(renamed_pid.body, R"(specifying \"user=PID\" is not allowed)")) << renamed_pid.body;
  auto ok = daemon_->api("GET", "/containers/berth-test-top-api/top?ps_args=aux");
  ASSERT_EQ(ok.status, 200) << ok.body;
  auto top = json::parse(ok.body).as_object();
  EXPECT_EQ(top.at("Titles").as_array().at(1).as_string(), "PID");
  ASSERT_EQ(top.at("Processes").as_array().size(), 1u) << ok.body;
  EXPECT_EQ(top.at("Processes").as_array().at(0).as_array().back().as_string(), "sleep 300");
}

TEST_F(ResourcesApi, UpdateOfAStoppedContainerAppliesAtTheNextStart) {
  auto created = daemon_->berth({"create", "--name", "berth-test-later", "-m", "64m", kImage, "sleep", "300"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const std::string id = trimmed(created.out);
  auto update = daemon_->api("POST", "/containers/berth-test-later/update",
                             R"({"Memory": 50331648, "MemorySwap": 100663296})");
  ASSERT_EQ(update.status, 200) << update.body;
  EXPECT_EQ(trimmed(update.body), R"({"Warnings":[]})");
  EXPECT_EQ(inspect_host_config("berth-test-later").at("Memory").to_number<std::int64_t>(), 50331648);
  ASSERT_EQ(daemon_->berth({"start", "berth-test-later"}).exit_code, 0);
  EXPECT_EQ(memory_limit(id), "50331648");
  // A restart keeps it too.
  ASSERT_EQ(daemon_->berth({"restart", "-t", "0", "berth-test-later"}).exit_code, 0);
  EXPECT_EQ(memory_limit(id), "50331648");
}

TEST_F(ResourcesApi, PidsLimitUpdateHoldsAgainstAForkLoop) {
  const std::string id = run_sleeper("berth-test-forks");
  auto update = daemon_->berth({"update", "--pids-limit", "4", "berth-test-forks"});
  ASSERT_EQ(update.exit_code, 0) << update.err;
  auto forks = daemon_->berth(
      {"exec", "berth-test-forks", "sh", "-c", "for i in 1 2 3 4 5 6 7 8; do sleep 30 & done; echo done"});
  EXPECT_TRUE(contains(forks.err + forks.out, "can't fork")) << forks.out << forks.err;
  EXPECT_LE(std::stoi(cgroup_file(id, "pids", "pids.current", "pids.current")), 4);
  // -1 lifts the limit again.
  ASSERT_EQ(daemon_->berth({"update", "--pids-limit", "-1", "berth-test-forks"}).exit_code, 0);
  EXPECT_EQ(cgroup_file(id, "pids", "pids.max", "pids.max"), "max");
  EXPECT_EQ(inspect_host_config("berth-test-forks").at("PidsLimit").to_number<std::int64_t>(), 0);
}

// --- the berth CLI ----------------------------------------------------------------

TEST_F(ResourcesApi, BerthStatsTopAndUpdate) {
  const std::string id = run_sleeper("berth-test-cli", {"-m", "64m"});
  ASSERT_EQ(daemon_->berth({"create", "--name", "berth-test-cli-created", kImage, "true"}).exit_code, 0);
  auto stats = daemon_->berth({"stats", "--no-stream"});
  ASSERT_EQ(stats.exit_code, 0) << stats.err;
  EXPECT_TRUE(std::regex_search(
      stats.out, std::regex("^CONTAINER ID +NAME +CPU % +MEM USAGE / LIMIT +MEM % +NET I/O +BLOCK I/O +PIDS\n" +
                            id.substr(0, 12) + " +berth-test-cli +[0-9.]+% +[0-9.]+[KM]iB / 64MiB +[0-9.]+% +"
                                               "0B / 0B +[0-9.]+[kMG]?B / [0-9.]+[kMG]?B +1\n$")))
      << stats.out;
  // -a adds the stopped one, with zeros.
  auto all = daemon_->berth({"stats", "--no-stream", "-a", "--format", "{{.Name}}: {{.CPUPerc}} {{.MemUsage}} {{.PIDs}}"});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  EXPECT_TRUE(contains(all.out, "berth-test-cli-created: 0.00% 0B / 0B 0\n")) << all.out;
  EXPECT_TRUE(std::regex_search(all.out, std::regex("berth-test-cli: [0-9.]+% [0-9.]+[KM]iB / 64MiB 1\n"))) << all.out;
  auto as_json = daemon_->berth({"stats", "--no-stream", "--no-trunc", "--format", "json", "berth-test-cli"});
  ASSERT_EQ(as_json.exit_code, 0) << as_json.err;
  auto row = json::parse(as_json.out).as_object();
  EXPECT_EQ(row.at("ID").as_string(), id);
  EXPECT_EQ(row.at("Container").as_string(), "berth-test-cli");
  EXPECT_EQ(row.at("PIDs").as_string(), "1");
  auto missing = daemon_->berth({"stats", "--no-stream", "berth-test-nothere"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.err, "Error response from daemon: No such container: berth-test-nothere\n");

  // The streaming form redraws the table every second.
  Background streaming({berth_path(), "-H", daemon_->host(), "stats", "berth-test-cli"});
  const std::string& seen = streaming.read_until("berth-test-cli", std::chrono::milliseconds(5000));
  EXPECT_TRUE(contains(seen, "MEM USAGE / LIMIT")) << seen;
  streaming.stop(SIGTERM);

  auto update = daemon_->berth({"update", "-m", "48m", "--memory-swap", "96m", "berth-test-cli"});
  ASSERT_EQ(update.exit_code, 0) << update.err;
  EXPECT_EQ(update.out, "berth-test-cli\n");
  EXPECT_EQ(memory_limit(id), "50331648");
  auto bad = daemon_->berth({"update", "-m", "1m", "berth-test-cli"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(bad.err, "Error response from daemon: Minimum memory limit allowed is 6MB\n");

  auto top = daemon_->berth({"top", "berth-test-cli", "-o", "pid,args"});
  ASSERT_EQ(top.exit_code, 0) << top.err;
  EXPECT_TRUE(std::regex_match(top.out, std::regex("PID +COMMAND\n[0-9]+ +sleep 300\n"))) << top.out;
}

}  // namespace
}  // namespace berth::testing
