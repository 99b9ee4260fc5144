// The berth CLI's container commands against a real berthd: run (exit
// codes, -d, --rm, stdin, signals), logs, ps and its formats, the
// lifecycle commands, inspect, exec, attach and detach keys, and `run -it`
// and `start -ai` through a real pseudo-terminal (the seed scenario).
#include "harness.hpp"
#include "../support/image_builder.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <boost/json.hpp>

#include <chrono>
#include <memory>
#include <regex>
#include <sstream>
#include <thread>

namespace berth::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr const char* kImage = "berth-test/busybox:latest";

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

class CliContainers : public ::testing::Test {
 protected:
  void SetUp() override {
    daemon_ = std::make_unique<Daemon>(Daemon::Options{.args = {"--storage-driver", "overlay"}});
    ASSERT_TRUE(daemon_->started()) << daemon_->log();
    write_file(work_ / "busybox.tar", docker_archive({busybox_image(kImage)}));
    auto load = berth({"load", "-i", work_ / "busybox.tar"});
    ASSERT_EQ(load.exit_code, 0) << load.err << daemon_->log();
  }

  void TearDown() override {
    // Containers outlive the daemon by design: remove them while it runs.
    if (daemon_ && daemon_->started()) {
      for (const auto& id : lines(berth({"ps", "-aq"}).out)) berth({"rm", "-f", id});
    }
  }

  CommandResult berth(const std::vector<std::string>& args, const std::string& input = {}) {
    return daemon_->berth(args, input);
  }

  // berth on a pseudo-terminal (120 columns, 40 rows).
  CommandResult berth_on_terminal(std::vector<std::string> args, const std::vector<TerminalStep>& dialogue) {
    args.insert(args.begin(), {berth_path(), "-H", daemon_->host()});
    return run_on_terminal(args, {{"BERTH_HOST", ""}, {"DOCKER_HOST", ""}, {"BERTH_CONFIG", daemon_->cli_config()}},
                           120, dialogue);
  }

  std::string state(const std::string& container) {
    return berth({"inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", container}).out;
  }

  // Polls `container`'s logs until `text` shows.
  std::string logs_until(const std::string& container, const std::string& text) {
    std::string logs;
    for (int i = 0; i < 100 && !contains(logs, text); ++i) {
      std::this_thread::sleep_for(100ms);
      logs = berth({"logs", container}).out;
    }
    return logs;
  }

  TempDir work_{"cli-containers"};
  std::unique_ptr<Daemon> daemon_;
};

TEST_F(CliContainers, RunPrintsOutputAndExitsWithTheContainersStatus) {
  auto hi = berth({"run", "--rm", kImage, "echo", "hi"});
  EXPECT_EQ(hi.exit_code, 0) << hi.err << daemon_->log();
  EXPECT_EQ(hi.out, "hi\n");
  auto three = berth({"run", "--rm", kImage, "sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(three.exit_code, 3) << three.err;
  EXPECT_EQ(three.out, "out\n");
  EXPECT_EQ(three.err, "err\n");
  // What the container prints right after it starts reaches run too (the
  // attach is made before the start).
  auto early = berth({"run", "--rm", kImage, "sh", "-c", "echo early; sleep 1; echo late"});
  EXPECT_EQ(early.out, "early\nlate\n") << early.err;
  // --rm: nothing left behind.
  EXPECT_EQ(berth({"ps", "-aq"}).out, "");
}

TEST_F(CliContainers, RunFailuresUseDockersExitCodes) {
  auto missing = berth({"run", kImage, "nosuchcommand"});
  EXPECT_EQ(missing.exit_code, 127) << missing.err;
  EXPECT_TRUE(missing.err.starts_with("berth: Error response from daemon: ")) << missing.err;
  EXPECT_TRUE(contains(missing.err, "executable file not found")) << missing.err;
  auto not_executable = berth({"run", kImage, "/etc/passwd"});
  EXPECT_EQ(not_executable.exit_code, 126) << not_executable.err;
  auto bad_flag = berth({"run", "-m", "lots", kImage, "true"});
  EXPECT_EQ(bad_flag.exit_code, 125);
  EXPECT_EQ(bad_flag.err,
            "berth: invalid argument \"lots\" for \"-m, --memory\" flag: invalid size: 'lots'\nSee 'berth run --help'.\n");
  // An unknown flag is refused before anything reaches the daemon.
  auto unknown = run({berth_path(), "-H", "unix:///berth-test-nowhere.sock", "run", "--berth-test-nosuch", kImage});
  EXPECT_EQ(unknown.exit_code, 125);
  EXPECT_EQ(unknown.err, "berth: unknown flag: --berth-test-nosuch\nSee 'berth run --help'.\n");
  auto no_image = berth({"run", "127.0.0.1:1/berth-test/none", "true"});
  EXPECT_EQ(no_image.exit_code, 125);
  EXPECT_TRUE(contains(no_image.err, "Unable to find image '127.0.0.1:1/berth-test/none:latest' locally\n"))
      << no_image.err;
  auto never = berth({"run", "--pull", "never", "berth-test/absent", "true"});
  EXPECT_EQ(never.exit_code, 125);
  EXPECT_FALSE(contains(never.err, "Unable to find image")) << never.err;
  // Only the two containers whose start failed were created.
  EXPECT_EQ(lines(berth({"ps", "-aq"}).out).size(), 2u);
}

TEST_F(CliContainers, RunInteractiveFeedsStdinAndEndsIt) {
  auto cat = berth({"run", "-i", "--rm", kImage, "sh", "-c", "cat; echo end"}, "line one\nline two\n");
  EXPECT_EQ(cat.exit_code, 0) << cat.err << daemon_->log();
  EXPECT_EQ(cat.out, "line one\nline two\nend\n");
  // Without -i the container's stdin is closed from the start.
  auto no_stdin = berth({"run", "--rm", kImage, "sh", "-c", "cat; echo end"}, "ignored\n");
  EXPECT_EQ(no_stdin.out, "end\n");
}

TEST_F(CliContainers, DetachedContainerLogsStopAndRemove) {
  auto started = berth({"run", "-d", "--name", "berth-test-ticker", kImage, "sh", "-c",
                        "trap 'echo bye; exit 0' TERM; echo hello; echo oops >&2; while true; do sleep 0.1; done"});
  ASSERT_EQ(started.exit_code, 0) << started.err << daemon_->log();
  EXPECT_TRUE(std::regex_match(started.out, std::regex("[0-9a-f]{64}\n"))) << started.out;
  std::string id = started.out.substr(0, 64);
  logs_until("berth-test-ticker", "hello");
  auto logs = berth({"logs", "berth-test-ticker"});
  EXPECT_EQ(logs.out, "hello\n");
  EXPECT_EQ(logs.err, "oops\n");
  auto stamped = berth({"logs", "-t", "--tail", "1", id});
  EXPECT_TRUE(std::regex_match(stamped.out + stamped.err,
                               std::regex("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d+Z (hello|oops)\n")))
      << stamped.out << stamped.err;
  EXPECT_EQ(state(id), "running 0\n");
  auto stop = berth({"stop", "berth-test-ticker"});
  EXPECT_EQ(stop.exit_code, 0) << stop.err;
  EXPECT_EQ(stop.out, "berth-test-ticker\n");
  EXPECT_EQ(state(id), "exited 0\n");
  EXPECT_TRUE(contains(berth({"logs", id}).out, "bye\n"));
  auto rm = berth({"rm", "berth-test-ticker"});
  EXPECT_EQ(rm.exit_code, 0) << rm.err;
  EXPECT_EQ(rm.out, "berth-test-ticker\n");
  EXPECT_EQ(berth({"ps", "-aq"}).out, "");
  auto again = berth({"rm", "berth-test-ticker"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_TRUE(contains(again.err, "Error response from daemon: No such container: berth-test-ticker")) << again.err;
  auto forced = berth({"rm", "-f", "berth-test-ticker"});
  EXPECT_EQ(forced.exit_code, 0) << forced.err;
}

TEST_F(CliContainers, LogsFollowEndsWithTheContainer) {
  auto started = berth({"run", "-d", kImage, "sh", "-c", "for i in 1 2 3; do echo line $i; sleep 0.3; done"});
  ASSERT_EQ(started.exit_code, 0) << started.err;
  auto follow = berth({"logs", "-f", started.out.substr(0, 12)});
  EXPECT_EQ(follow.exit_code, 0) << follow.err;
  EXPECT_EQ(follow.out, "line 1\nline 2\nline 3\n");
}

TEST_F(CliContainers, PsShowsDockersColumnsAndFormats) {
  ASSERT_EQ(berth({"create", "--name", "berth-test-created", kImage, "true"}).exit_code, 0);
  ASSERT_EQ(berth({"run", "--name", "berth-test-exited", kImage, "true"}).exit_code, 0);
  auto running = berth({"run", "-d", "--name", "berth-test-running", "-l", "tier=web", kImage, "sleep", "300"});
  ASSERT_EQ(running.exit_code, 0) << running.err;

  auto ps = berth({"ps"});
  ASSERT_EQ(ps.exit_code, 0) << ps.err;
  auto rows = lines(ps.out);
  ASSERT_EQ(rows.size(), 2u) << ps.out;
  EXPECT_TRUE(std::regex_match(rows[0], std::regex("CONTAINER ID +IMAGE +COMMAND +CREATED +STATUS +PORTS +NAMES")))
      << rows[0];
  EXPECT_TRUE(std::regex_match(rows[1], std::regex("[0-9a-f]{12} +berth-test/busybox:latest +\"sleep 300\" +"
                                                   "(Less than a second|\\d+ seconds?) ago +Up .+ +berth-test-running")))
      << rows[1];

  auto all = berth({"ps", "-a", "--format", "{{.Names}}|{{.Status}}|{{.Command}}"});
  EXPECT_TRUE(contains(all.out, "berth-test-created|Created|\"true\"\n")) << all.out;
  EXPECT_TRUE(std::regex_search(all.out, std::regex("berth-test-exited\\|Exited \\(0\\) .+ ago\\|\"true\"\n"))) << all.out;
  EXPECT_TRUE(contains(all.out, "berth-test-running|Up ")) << all.out;
  EXPECT_EQ(lines(all.out).size(), 3u);

  auto quiet = berth({"ps", "-aq"});
  EXPECT_TRUE(std::regex_match(quiet.out, std::regex("([0-9a-f]{12}\n){3}"))) << quiet.out;
  auto full = berth({"ps", "-q", "--no-trunc"});
  EXPECT_EQ(full.out, running.out);
  // Newest first; -l is the newest, -n counts.
  EXPECT_EQ(berth({"ps", "-l", "--format", "{{.Names}}"}).out, "berth-test-running\n");
  EXPECT_EQ(berth({"ps", "-n", "2", "--format", "{{.Names}}"}).out, "berth-test-running\nberth-test-exited\n");
  EXPECT_EQ(berth({"ps", "-a", "--filter", "name=berth-test-cr", "--format", "{{.Names}}"}).out,
            "berth-test-created\n");
  EXPECT_EQ(berth({"ps", "-a", "--filter", "label=tier=web", "--format", "{{.Names}} {{.Labels}}"}).out,
            "berth-test-running tier=web\n");
  EXPECT_EQ(berth({"ps", "-a", "--filter", "status=exited", "--format", "{{.Names}}"}).out, "berth-test-exited\n");

  auto table = berth({"ps", "--format", "table {{.Names}}\t{{.State}}"});
  EXPECT_EQ(table.out, "NAMES                STATE\nberth-test-running   running\n");
  auto as_json = berth({"ps", "--format", "json"});
  json::value row = json::parse(lines(as_json.out).at(0));
  for (const char* key : {"Command", "CreatedAt", "ID", "Image", "Labels", "LocalVolumes", "Mounts", "Names",
                          "Networks", "Ports", "RunningFor", "Size", "State", "Status"}) {
    EXPECT_TRUE(row.as_object().contains(key)) << key << " in " << as_json.out;
  }
  EXPECT_EQ(row.at("Names"), "berth-test-running");
  EXPECT_EQ(row.at("Command"), "\"sleep 300\"");
  auto sized = berth({"ps", "-s"});
  EXPECT_TRUE(contains(lines(sized.out).at(0), "SIZE")) << sized.out;
  auto bad = berth({"ps", "--filter", "nonsense"});
  EXPECT_EQ(bad.exit_code, 125);
}

TEST_F(CliContainers, LifecycleCommands) {
  auto created = berth({"create", "--name", "berth-test-life", kImage, "sleep", "300"});
  ASSERT_EQ(created.exit_code, 0) << created.err << daemon_->log();
  EXPECT_TRUE(std::regex_match(created.out, std::regex("[0-9a-f]{64}\n"))) << created.out;
  EXPECT_EQ(state("berth-test-life"), "created 0\n");
  auto start = berth({"start", "berth-test-life"});
  EXPECT_EQ(start.exit_code, 0) << start.err;
  EXPECT_EQ(start.out, "berth-test-life\n");
  auto top = berth({"top", "berth-test-life"});
  EXPECT_EQ(top.exit_code, 0) << top.err;
  EXPECT_TRUE(contains(top.out, "PID")) << top.out;
  EXPECT_TRUE(contains(top.out, "sleep 300")) << top.out;
  EXPECT_EQ(berth({"pause", "berth-test-life"}).out, "berth-test-life\n");
  EXPECT_EQ(state("berth-test-life"), "paused 0\n");
  EXPECT_EQ(berth({"unpause", "berth-test-life"}).out, "berth-test-life\n");
  EXPECT_EQ(state("berth-test-life"), "running 0\n");
  auto renamed = berth({"rename", "berth-test-life", "berth-test-life2"});
  EXPECT_EQ(renamed.exit_code, 0) << renamed.err;
  EXPECT_EQ(berth({"container", "inspect", "-f", "{{.Name}}", created.out.substr(0, 12)}).out, "/berth-test-life2\n");
  auto restart = berth({"restart", "-t", "1", "berth-test-life2"});
  EXPECT_EQ(restart.exit_code, 0) << restart.err;
  EXPECT_EQ(state("berth-test-life2"), "running 0\n");
  auto kill = berth({"kill", "-s", "KILL", "berth-test-life2"});
  EXPECT_EQ(kill.out, "berth-test-life2\n") << kill.err;
  auto wait = berth({"wait", "berth-test-life2"});
  EXPECT_EQ(wait.out, "137\n") << wait.err;
  EXPECT_EQ(state("berth-test-life2"), "exited 137\n");
  auto missing = berth({"stop", "berth-test-life2", "berth-test-nothere"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.out, "berth-test-life2\n");
  EXPECT_TRUE(contains(missing.err, "No such container: berth-test-nothere")) << missing.err;
  auto prune = berth({"container", "prune", "-f"});
  EXPECT_EQ(prune.exit_code, 0) << prune.err;
  EXPECT_TRUE(contains(prune.out, "Deleted Containers:\n" + created.out)) << prune.out;
  EXPECT_EQ(berth({"container", "ls", "-aq"}).out, "");
}

TEST_F(CliContainers, InspectFindsContainersThenImages) {
  auto created = berth({"create", "--name", "berth-test-inspected", kImage});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  auto c = berth({"inspect", "berth-test-inspected"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  json::value v = json::parse(c.out);
  EXPECT_EQ(v.at(0).at("Id"), json::value(created.out.substr(0, 64)));
  EXPECT_TRUE(c.out.starts_with("[\n    {\n")) << c.out;
  auto image = berth({"inspect", "-f", "{{index .RepoTags 0}}", kImage});
  EXPECT_EQ(image.out, std::string(kImage) + "\n") << image.err;
  auto none = berth({"inspect", "berth-test-nothing"});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_EQ(none.out, "[]\n");
  EXPECT_EQ(none.err, "Error: No such object: berth-test-nothing\n");
  auto typed = berth({"inspect", "--type", "container", kImage});
  EXPECT_EQ(typed.err, std::string("Error: No such container: ") + kImage + "\n");
  auto both = berth({"container", "inspect", "-f", "{{.Config.Image}}", "berth-test-inspected", "berth-test-nothing"});
  EXPECT_EQ(both.exit_code, 1);
  EXPECT_EQ(both.out, std::string(kImage) + "\n");
  EXPECT_EQ(both.err, "Error: No such container: berth-test-nothing\n");
}

TEST_F(CliContainers, ExecRunsCommandsWithTheirOptions) {
  auto started = berth({"run", "-d", kImage, "sleep", "300"});
  ASSERT_EQ(started.exit_code, 0) << started.err;
  std::string id = started.out.substr(0, 12);
  auto four = berth({"exec", id, "sh", "-c", "echo from-exec; echo to-err >&2; exit 4"});
  EXPECT_EQ(four.exit_code, 4) << four.err;
  EXPECT_EQ(four.out, "from-exec\n");
  EXPECT_EQ(four.err, "to-err\n");
  auto piped = berth({"exec", "-i", id, "cat"}, "piped\n");
  EXPECT_EQ(piped.out, "piped\n") << piped.err;
  auto opts = berth({"exec", "-e", "FOO=bar", "-w", "/tmp", "-u", "1000", id, "sh", "-c", "echo $FOO $(pwd) $(id -u)"});
  EXPECT_EQ(opts.out, "bar /tmp 1000\n") << opts.err;
  auto detached = berth({"exec", "-d", id, "sh", "-c", "echo detached > /tmp/mark"});
  EXPECT_EQ(detached.exit_code, 0) << detached.err;
  EXPECT_EQ(detached.out, "");
  std::string mark;
  for (int i = 0; i < 50 && mark != "detached\n"; ++i) {
    std::this_thread::sleep_for(100ms);
    mark = berth({"exec", id, "cat", "/tmp/mark"}).out;
  }
  EXPECT_EQ(mark, "detached\n");
  auto no_container = berth({"exec", "berth-test-nothere", "true"});
  EXPECT_EQ(no_container.exit_code, 1);
  EXPECT_TRUE(contains(no_container.err, "No such container: berth-test-nothere")) << no_container.err;
  auto not_a_tty = berth({"exec", "-it", id, "sh"});
  EXPECT_EQ(not_a_tty.err, "the input device is not a TTY\n");
}

TEST_F(CliContainers, ExecInteractiveTerminal) {
  auto started = berth({"run", "-d", kImage, "sleep", "300"});
  ASSERT_EQ(started.exit_code, 0) << started.err;
  auto r = berth_on_terminal({"exec", "-it", started.out.substr(0, 12), "sh"},
                             {{"# ", "stty size; echo $((6*7)); exit 5\n"}});
  EXPECT_EQ(r.exit_code, 5) << r.out;
  EXPECT_TRUE(contains(r.out, "40 120")) << r.out;
  EXPECT_TRUE(contains(r.out, "42")) << r.out;
}

// The seed scenario: a shell on our terminal, `exit` leaves the container
// exited (not removed), `start -ai` brings it back, `rm` removes it.
TEST_F(CliContainers, RunInteractiveTerminalThenStartAttached) {
  auto r = berth_on_terminal({"run", "-i", "-t", "--name", "berth-test-shell", kImage, "sh"},
                             {{"# ", "hostname; echo pid=$$; stty size; exit\n"}});
  EXPECT_EQ(r.exit_code, 0) << r.out << daemon_->log();
  std::string id = berth({"inspect", "-f", "{{.Id}}", "berth-test-shell"}).out;
  ASSERT_GE(id.size(), 12u);
  EXPECT_TRUE(contains(r.out, id.substr(0, 12) + "\r\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "pid=1\r\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "40 120\r\n")) << r.out;
  EXPECT_EQ(state("berth-test-shell"), "exited 0\n");

  auto again = berth_on_terminal({"start", "-a", "-i", "berth-test-shell"}, {{"# ", "echo back-again; exit 7\n"}});
  EXPECT_EQ(again.exit_code, 7) << again.out;
  EXPECT_TRUE(contains(again.out, "back-again\r\n")) << again.out;
  EXPECT_EQ(state("berth-test-shell"), "exited 7\n");
  EXPECT_EQ(berth({"rm", "berth-test-shell"}).exit_code, 0);
  EXPECT_EQ(berth({"ps", "-aq"}).out, "");
}

TEST_F(CliContainers, TerminalIsRestoredAfterRawMode) {
  // A shell runs berth on the terminal, then shows the terminal's mode.
  std::string cmd = berth_path() + " -H " + daemon_->host() + " run --rm -it " + kImage +
                    " sh -c 'echo inside'; stty -a";
  auto r = run_on_terminal({"/bin/sh", "-c", cmd}, {{"BERTH_HOST", ""}, {"BERTH_CONFIG", daemon_->cli_config()}});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "inside")) << r.out;
  // Canonical mode and echo are back on.
  EXPECT_TRUE(std::regex_search(r.out, std::regex("[^-]icanon"))) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex("[^-]echo "))) << r.out;
}

TEST_F(CliContainers, DetachKeysLeaveTheContainerRunningAndAttachComesBack) {
  const char* ticker = "while true; do echo tick; sleep 0.2; done";
  auto r = berth_on_terminal({"run", "-it", "--name", "berth-test-detach", kImage, "sh", "-c", ticker},
                             {{"tick", "\x10\x11"}});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(state("berth-test-detach"), "running 0\n");
  // attach: the detach sequence is reported as Docker's attach reports it.
  auto detached = berth_on_terminal({"attach", "--detach-keys", "ctrl-a,x", "berth-test-detach"}, {{"tick", "\x01x"}});
  EXPECT_EQ(detached.exit_code, 1) << detached.out;
  EXPECT_TRUE(contains(detached.out, "read escape sequence")) << detached.out;
  EXPECT_EQ(state("berth-test-detach"), "running 0\n");

  // Attached until the container exits: its status is attach's.
  auto waiting = berth({"run", "-dit", "--name", "berth-test-reader", kImage, "sh", "-c",
                        "while ! read -t 1 line; do echo waiting; done; echo got $line; exit 6"});
  ASSERT_EQ(waiting.exit_code, 0) << waiting.err;
  auto ended = berth_on_terminal({"attach", "berth-test-reader"}, {{"waiting", "hello\n"}});
  EXPECT_EQ(ended.exit_code, 6) << ended.out;
  EXPECT_TRUE(contains(ended.out, "got hello")) << ended.out;
  EXPECT_EQ(state("berth-test-reader"), "exited 6\n");
  auto stopped = berth({"attach", "berth-test-reader"});
  EXPECT_EQ(stopped.exit_code, 1);
  EXPECT_EQ(stopped.err, "cannot attach to a stopped container, start it first\n");
}

// A process with its stdout on a pipe, for tests that signal it.
struct Child {
  pid_t pid = -1;
  int out = -1;
  ~Child() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    if (out >= 0) ::close(out);
  }
};

void spawn_child(Child& c, const std::vector<std::string>& argv) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  c.pid = ::fork();
  ASSERT_GE(c.pid, 0);
  if (c.pid == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    int null = ::open("/dev/null", O_RDONLY);
    ::dup2(null, STDIN_FILENO);
    ::unsetenv("BERTH_HOST");
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  c.out = fds[0];
}

std::string read_until(int fd, const std::string& text, std::chrono::seconds timeout) {
  std::string got;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[512];
  while (!contains(got, text) && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    got.append(buf, static_cast<std::size_t>(n));
  }
  return got;
}

TEST_F(CliContainers, SignalsAreForwardedToTheContainer) {
  Child c;
  spawn_child(c, {berth_path(), "-H", daemon_->host(), "run", "--rm", kImage, "sh", "-c",
                  "trap 'echo got-term; exit 9' TERM; echo ready; while true; do sleep 0.1; done"});
  std::string out = read_until(c.out, "ready\n", 30s);
  ASSERT_TRUE(contains(out, "ready\n")) << out << daemon_->log();
  ASSERT_EQ(::kill(c.pid, SIGTERM), 0);
  out += read_until(c.out, "got-term\n", 30s);
  int status = 0;
  ASSERT_EQ(::waitpid(c.pid, &status, 0), c.pid);
  c.pid = -1;
  EXPECT_TRUE(contains(out, "got-term\n")) << out;
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 9);
}

}  // namespace
}  // namespace berth::testing
