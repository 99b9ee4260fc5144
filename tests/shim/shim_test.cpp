// berth-shim against real containers: the daemon's Shim client starts the
// real berth-shim binary on a busybox bundle, run by the native runtime and
// by crun. The test process is a child subreaper, so shims (which leave
// their starter) are re-parented to it and reaped here: every test checks
// that the shim exited, the container's processes and cgroup are gone, and
// the runtime kept no state.
//
// crun refuses this machine's cgroup layout (v1 with hugetlb on the v2
// mount, "hybrid") until the host is changed with cgroupfs-mount. Rather
// than change the host, crun runs through a wrapper that unmounts
// /sys/fs/cgroup/unified in a private mount namespace of its own, where the
// host looks like plain cgroup v1.
#include "berth/core/container/shim.hpp"

#include "harness.hpp"
#include "oci_bundle.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <gtest/gtest.h>

#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <random>
#include <sstream>
#include <thread>

namespace berth::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using core::container::ExitStatus;
using core::container::FrameStream;
using core::container::Shim;
using core::container::ShimOptions;
using namespace std::chrono_literals;

bool hybrid_cgroups_with_controllers() {
  std::ifstream in("/sys/fs/cgroup/unified/cgroup.controllers");
  std::string controllers;
  std::getline(in, controllers);
  return !controllers.empty();
}

std::string random_suffix() {
  std::random_device rd;
  std::ostringstream s;
  s << std::hex << rd() << rd();
  return s.str();
}

// Every mounted cgroup hierarchy's directory for `path`.
std::vector<std::string> cgroup_dirs(const std::string& path) {
  std::vector<std::string> out;
  std::ifstream mounts("/proc/self/mounts");
  for (std::string line; std::getline(mounts, line);) {
    std::istringstream f(line);
    std::string source, target, type;
    f >> source >> target >> type;
    if (type == "cgroup" || type == "cgroup2") out.push_back(target + path);
  }
  return out;
}

bool process_exists(pid_t pid) { return pid > 0 && (::kill(pid, 0) == 0 || errno != ESRCH); }

// Reaps `pid` (a re-parented shim), waiting up to `timeout`; its wait status or -1.
int reap(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0 || std::chrono::steady_clock::now() > deadline) return -1;
    std::this_thread::sleep_for(10ms);
  }
}

// Processes whose command line mentions `needle`.
std::vector<pid_t> processes_mentioning(const std::string& needle) {
  std::vector<pid_t> out;
  DIR* d = ::opendir("/proc");
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
    if (pid <= 0 || pid == ::getpid()) continue;
    std::string cmdline = read_file("/proc/" + std::string(e->d_name) + "/cmdline");
    if (cmdline.find(needle) != std::string::npos) out.push_back(pid);
  }
  ::closedir(d);
  return out;
}

std::uint64_t status_kib(pid_t pid, const std::string& file, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/" + file);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(field + ":", 0) == 0) return std::stoull(line.substr(field.size() + 1));
  }
  return 0;
}

struct Output {
  std::string out, err;
  std::vector<int> types;
  std::optional<int> exit_code;
};

// Reads frames until the exit frame, EOF, or 30 s without a frame.
Output read_all(FrameStream& stream) {
  Output o;
  std::string payload;
  for (;;) {
    pollfd p{stream.fd(), POLLIN, 0};
    if (::poll(&p, 1, 30'000) != 1) {
      ADD_FAILURE() << "no frame from the shim in 30 s";
      break;
    }
    auto frame = stream.receive(payload);
    if (!frame || !frame.value()) break;
    int type = *frame.value();
    o.types.push_back(type);
    if (type == 1) o.out += payload;
    if (type == 2) o.err += payload;
    if (type == 3) {
      o.exit_code = static_cast<int>(json::parse(payload).as_object().at("exit_code").as_int64());
      break;
    }
  }
  return o;
}

class ShimTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() { ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); }

  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    if (GetParam() == "crun" && ::access("/usr/bin/crun", X_OK) != 0) {
      GTEST_SKIP() << "crun is not installed (scripts/install-deps.sh)";
    }
    dir_.emplace("shim");
    id_ = "berth-test-" + random_suffix();
    cgroup_ = "/" + id_;
    fs::create_directories(state());
    fs::create_directories(dir_->path() + "/data");
  }

  void TearDown() override {
    if (!dir_) return;
    // Whatever a failed test left: the container, then the shim.
    if (init_pid_ > 0 && process_exists(init_pid_)) ::kill(init_pid_, SIGKILL);
    if (shim_pid_ > 0 && reap(shim_pid_, 10s) == -1) {
      ADD_FAILURE() << "shim " << shim_pid_ << " did not exit";
      ::kill(shim_pid_, SIGKILL);
      reap(shim_pid_, 5s);
    }
    // Anything else re-parented to this subreaper.
    while (::waitpid(-1, nullptr, WNOHANG) > 0) {
    }
    EXPECT_FALSE(process_exists(init_pid_)) << "container init " << init_pid_ << " is still there";
    for (pid_t pid : processes_mentioning(dir_->path())) {
      ADD_FAILURE() << "process " << pid << " still runs: " << read_file("/proc/" + std::to_string(pid) + "/cmdline");
      ::kill(pid, SIGKILL);
    }
    for (const auto& d : cgroup_dirs(cgroup_)) {
      EXPECT_FALSE(fs::exists(d)) << "cgroup " << d << " is left";
      ::rmdir(d.c_str());
    }
    if (GetParam() == "crun" && fs::exists(state() + "/crun/" + id_)) {
      ADD_FAILURE() << "crun kept the container's state";
      run({runtime(), "--root", state() + "/crun", "delete", "--force", id_});
    }
    dir_.reset();
  }

  std::string state() const { return dir_->path() + "/state"; }
  std::string bundle() const { return dir_->path() + "/bundle"; }
  std::string rootfs() const { return bundle() + "/rootfs"; }
  std::string log_path() const { return state() + "/" + id_ + "-json.log"; }

  std::string runtime() const {
    if (GetParam() == "native") return "native";
    if (!hybrid_cgroups_with_controllers()) return "/usr/bin/crun";
    std::string wrapper = dir_->path() + "/crun";
    if (!fs::exists(wrapper)) {
      write_file(wrapper,
                 "#!/bin/sh\n"
                 "exec unshare -m sh -c 'umount /sys/fs/cgroup/unified && exec /usr/bin/crun \"$@\"' crun \"$@\"\n");
      ::chmod(wrapper.c_str(), 0755);
    }
    return wrapper;
  }

  ShimOptions options(bool tty = false, bool open_stdin = false, bool stdin_once = false) const {
    ShimOptions o;
    o.shim_path = BERTH_TEST_SHIM;
    o.id = id_;
    o.bundle = bundle();
    o.state_dir = state();
    o.runtime = runtime();
    if (GetParam() == "crun") o.runtime_args = {"--root", state() + "/crun"};
    o.tty = tty;
    o.open_stdin = open_stdin;
    o.stdin_once = stdin_once;
    o.log_driver = "json-file";
    o.log_info_json = json::serialize(json::object{
        {"ContainerID", id_}, {"ContainerName", "/shim-test"}, {"LogPath", log_path()}, {"Config", json::object{}}});
    o.data_root = dir_->path() + "/data";
    return o;
  }

  // Writes the bundle and starts its shim; the init's PID.
  pid_t start(const std::vector<std::string>& args, const ShimOptions& o, bool pid_namespace = true) {
    BundleSpec spec;
    spec.args = args;
    spec.pid_namespace = pid_namespace;
    return start(spec, o);
  }
  pid_t start(BundleSpec spec, const ShimOptions& o) {
    spec.terminal = o.tty;
    spec.cgroups_path = cgroup_;
    write_bundle(bundle(), spec);
    auto pid = Shim::start(o);
    if (!pid) {
      ADD_FAILURE() << "start: " << pid.error().message << "\nshim.log:\n" << read_file(state() + "/shim.log");
      return -1;
    }
    init_pid_ = pid.value();
    shim_pid_ = std::atoi(read_file(state() + "/shim.pid").c_str());
    return init_pid_;
  }

  // Shim::wait, bounded: a shim that does not answer in 30 s fails the
  // test and is killed (which ends the wait).
  core::Result<ExitStatus> wait_exit() {
    auto waiting = std::async(std::launch::async, [dir = state()] { return Shim(dir).wait(); });
    if (waiting.wait_for(30s) != std::future_status::ready) {
      ADD_FAILURE() << "wait did not return in 30 s";
      if (shim_pid_ > 0) ::kill(shim_pid_, SIGKILL);
    }
    return waiting.get();
  }

  // The container waits for /go to appear before going on.
  static std::string after_go(const std::string& script) {
    return "while [ ! -e /go ]; do sleep 0.02; done; " + script;
  }
  void go() const { write_file(rootfs() + "/go", ""); }

  std::vector<json::object> log_records() const {
    std::vector<json::object> out;
    std::istringstream in(read_file(log_path()));
    for (std::string line; std::getline(in, line);) out.push_back(json::parse(line).as_object());
    return out;
  }

  std::optional<TempDir> dir_;
  std::string id_, cgroup_;
  pid_t init_pid_ = -1, shim_pid_ = -1;
};

TEST_P(ShimTest, EchoExitsZeroAndLogsJsonFileRecords) {
  ASSERT_GT(start({"sh", "-c", "echo hello; echo oops >&2"}, options()), 0);
  Shim shim(state());
  auto status = wait_exit();
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_EQ(status.value().exit_code, 0);
  EXPECT_FALSE(status.value().oom_killed);
  EXPECT_EQ(status.value().error, "");
  EXPECT_EQ(status.value().finished_at.size(), 30u) << status.value().finished_at;  // RFC 3339 nano, UTC

  // Docker's json-file lines, complete when wait answered.
  auto records = log_records();
  ASSERT_EQ(records.size(), 2u) << read_file(log_path());
  std::map<std::string, std::string> by_stream;
  for (const auto& r : records) {
    by_stream[std::string(r.at("stream").as_string())] = std::string(r.at("log").as_string());
    EXPECT_TRUE(r.at("time").as_string().ends_with("Z"));
  }
  EXPECT_EQ(by_stream["stdout"], "hello\n");
  EXPECT_EQ(by_stream["stderr"], "oops\n");

  auto recorded = shim.recorded_exit();
  ASSERT_TRUE(recorded);
  EXPECT_EQ(recorded->exit_code, 0);
  EXPECT_EQ(reap(shim_pid_, 10s), 0) << "the shim exits (status 0) after the container";
  shim_pid_ = -1;
}

TEST_P(ShimTest, ExitCodeOfTheCommand) {
  ASSERT_GT(start({"sh", "-c", "exit 3"}, options()), 0);
  auto status = wait_exit();
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_EQ(status.value().exit_code, 3);
}

TEST_P(ShimTest, OomKillIsReported) {
  BundleSpec spec;
  spec.args = {"dd", "if=/dev/zero", "of=/dev/null", "bs=256M", "count=1"};
  spec.memory_limit = 16 << 20;
  ASSERT_GT(start(spec, options()), 0);
  auto status = wait_exit();
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_EQ(status.value().exit_code, 137);
  EXPECT_TRUE(status.value().oom_killed);
}

TEST_P(ShimTest, LogDriverNoneLogsNothingAndAnUnknownOneFailsTheStart) {
  ShimOptions o = options();
  o.log_driver = "none";
  ASSERT_GT(start({"echo", "unlogged"}, o), 0);
  auto status = wait_exit();
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_EQ(status.value().exit_code, 0);
  EXPECT_FALSE(fs::exists(log_path()));
  EXPECT_EQ(reap(shim_pid_, 10s), 0);

  o.log_driver = "no-such-driver";
  auto failed = Shim::start(o);
  shim_pid_ = std::atoi(read_file(state() + "/shim.pid").c_str());
  init_pid_ = -1;
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, core::Errc::failed_precondition);
  EXPECT_NE(failed.error().message.find("log driver no-such-driver is not available"), std::string::npos)
      << failed.error().message;
}

TEST_P(ShimTest, LongLinesBecomePartialRecords) {
  // 40000 bytes without a newline, then "end": 16 KiB + 16 KiB partial
  // records, then the rest of the line with "end" as a complete one.
  ASSERT_GT(start({"sh", "-c", "head -c 40000 /dev/zero | tr '\\0' x; echo end; printf tail"}, options()), 0);
  ASSERT_TRUE(wait_exit());
  auto records = log_records();
  ASSERT_EQ(records.size(), 4u) << read_file(log_path()).substr(0, 300);
  EXPECT_EQ(records[0].at("log").as_string().size(), 16384u);
  EXPECT_EQ(records[1].at("log").as_string().size(), 16384u);
  EXPECT_EQ(std::string(records[2].at("log").as_string()), std::string(40000 - 32768, 'x') + "end\n");
  // The last, unterminated line is a record of its own at EOF.
  EXPECT_EQ(std::string(records[3].at("log").as_string()), "tail\n");
}

TEST_P(ShimTest, KillWithSigtermGives143) {
  // Without a PID namespace: a namespace's init ignores SIGTERM unless it
  // handles it, like `docker kill -s TERM` on a container running sleep.
  ASSERT_GT(start({"sleep", "1000"}, options(), /*pid_namespace=*/false), 0);
  Shim shim(state());
  auto st = shim.state();
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_EQ(st.value().at("running").as_bool(), true);
  EXPECT_EQ(st.value().at("pid").as_int64(), init_pid_);
  ASSERT_TRUE(shim.kill(SIGTERM));
  auto status = wait_exit();
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_EQ(status.value().exit_code, 143);
}

TEST_P(ShimTest, SigkillGives137AndBadSignalsAreRefused) {
  ASSERT_GT(start({"sleep", "1000"}, options()), 0);
  Shim shim(state());
  auto bad = shim.kill(0);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, core::Errc::invalid_argument);
  ASSERT_TRUE(shim.kill(SIGKILL));
  auto status = wait_exit();
  ASSERT_TRUE(status);
  EXPECT_EQ(status.value().exit_code, 137);
}

TEST_P(ShimTest, AttachReceivesLiveOutput) {
  ASSERT_GT(start({"sh", "-c", after_go("echo live-out; echo live-err >&2; exit 4")}, options()), 0);
  Shim shim(state());
  auto stream = shim.attach(false, true, true);
  ASSERT_TRUE(stream) << stream.error().message;
  go();
  Output o = read_all(stream.value());
  EXPECT_EQ(o.out, "live-out\n");
  EXPECT_EQ(o.err, "live-err\n");
  ASSERT_TRUE(o.exit_code);
  EXPECT_EQ(*o.exit_code, 4);
  EXPECT_EQ(wait_exit().value().exit_code, 4);
}

TEST_P(ShimTest, ASlowAttachedClientGetsEverythingAndSoDoesTheLog) {
  // 4 MB on one line: the client reads nothing for a second, so the shim's
  // buffer for it passes 1 MiB and the container must wait, then catch up.
  ASSERT_GT(start({"sh", "-c", after_go("head -c 4000000 /dev/zero | tr '\\0' a; echo")}, options()), 0);
  Shim shim(state());
  auto stream = shim.attach(false, true, true);
  ASSERT_TRUE(stream) << stream.error().message;
  go();
  std::this_thread::sleep_for(1s);
  Output o = read_all(stream.value());
  EXPECT_EQ(o.out.size(), 4000001u);
  EXPECT_EQ(o.out.find_first_not_of('a'), 4000000u);
  ASSERT_TRUE(o.exit_code);
  ASSERT_TRUE(wait_exit());
  std::size_t logged = 0, partial = 0;
  for (const auto& r : log_records()) {
    logged += r.at("log").as_string().size();
    if (!r.at("log").as_string().ends_with("\n")) ++partial;
  }
  EXPECT_EQ(logged, 4000001u);
  EXPECT_EQ(partial, 4000000u / 16384);
}

TEST_P(ShimTest, AttachWithReplayGetsTheOutputHeldSinceTheStart) {
  // docker run attaches before the start; the daemon joins the stream to the
  // container after it started, and what came before must not be lost.
  ShimOptions o = options();
  o.hold_output = true;
  ASSERT_GT(start({"sh", "-c", "echo early; echo early-err >&2; " + after_go("echo late")}, o), 0);
  std::this_thread::sleep_for(300ms);  // "early" is out before the attach
  Shim shim(state());
  auto stream = shim.attach(false, true, true, /*replay=*/true);
  ASSERT_TRUE(stream) << stream.error().message;
  go();
  Output out = read_all(stream.value());
  EXPECT_EQ(out.out, "early\nlate\n");
  EXPECT_EQ(out.err, "early-err\n");
  ASSERT_TRUE(wait_exit());
}

TEST_P(ShimTest, StdinThroughAttachReachesCat) {
  ASSERT_GT(start({"cat"}, options(false, true, true)), 0);
  Shim shim(state());
  auto stream = shim.attach(true, true, true);
  ASSERT_TRUE(stream) << stream.error().message;
  std::string line = "hello stdin\n";
  ASSERT_TRUE(stream.value().send(0, line.data(), line.size()));
  ASSERT_TRUE(stream.value().send(0, nullptr, 0));  // stdin_once: cat sees EOF
  Output o = read_all(stream.value());
  EXPECT_EQ(o.out, line);
  ASSERT_TRUE(o.exit_code);
  EXPECT_EQ(*o.exit_code, 0);
  ASSERT_TRUE(wait_exit());
  auto records = log_records();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(std::string(records[0].at("log").as_string()), line);
}

TEST_P(ShimTest, TtyOutputIsRawAndResizeReachesStty) {
  ASSERT_GT(start({"sh", "-c", after_go("stty size; echo to-stderr >&2")}, options(true, true)), 0);
  Shim shim(state());
  auto stream = shim.attach(true, true, true);
  ASSERT_TRUE(stream) << stream.error().message;
  ASSERT_TRUE(shim.resize(33, 111));
  auto not_tty = shim.resize(10, 10, "no-such-exec");
  EXPECT_FALSE(not_tty);
  go();
  Output o = read_all(stream.value());
  // One stream on a terminal, with the terminal's own line endings.
  EXPECT_EQ(o.out, "33 111\r\nto-stderr\r\n");
  EXPECT_EQ(o.err, "");
  for (int t : o.types) EXPECT_TRUE(t == 1 || t == 3) << t;
  ASSERT_TRUE(o.exit_code);
  EXPECT_EQ(*o.exit_code, 0);
  ASSERT_TRUE(wait_exit());
  auto records = log_records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(std::string(records[0].at("log").as_string()), "33 111\r\n");
  EXPECT_EQ(std::string(records[0].at("stream").as_string()), "stdout");
}

TEST_P(ShimTest, ResizeWithoutTtyIsRefused) {
  ASSERT_GT(start({"sleep", "1000"}, options()), 0);
  Shim shim(state());
  auto r = shim.resize(10, 10);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::Errc::failed_precondition);
  ASSERT_TRUE(shim.kill(SIGKILL));
  ASSERT_TRUE(wait_exit());
}

TEST_P(ShimTest, ExecRunsInTheContainerAndReturnsItsExitCode) {
  ASSERT_GT(start({"sh", "-c", "echo container-out; sleep 1000"}, options()), 0);
  Shim shim(state());
  pid_t exec_pid = -1;
  auto stream = shim.exec("exec-1", json::value(oci_process({"sh", "-c", "hostname; echo exec-err >&2; exit 7"})),
                          false, true, true, &exec_pid);
  ASSERT_TRUE(stream) << stream.error().message;
  EXPECT_GT(exec_pid, 0);
  Output o = read_all(stream.value());
  EXPECT_EQ(o.out, "berth-test\n");  // the container's UTS namespace
  EXPECT_EQ(o.err, "exec-err\n");
  ASSERT_TRUE(o.exit_code);
  EXPECT_EQ(*o.exit_code, 7);

  // On a terminal, with stdin, resized by exec id.
  auto tty = shim.exec("exec-2", json::value(oci_process({"sh", "-c", "read x; stty size; echo got $x"}, true)), true,
                       true, false);
  ASSERT_TRUE(tty) << tty.error().message;
  ASSERT_TRUE(shim.resize(20, 70, "exec-2"));
  std::string input = "word\r";
  ASSERT_TRUE(tty.value().send(0, input.data(), input.size()));
  Output t = read_all(tty.value());
  EXPECT_NE(t.out.find("20 70\r\n"), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("got word\r\n"), std::string::npos) << t.out;
  ASSERT_TRUE(t.exit_code);
  EXPECT_EQ(*t.exit_code, 0);

  auto missing = shim.exec("exec-3", json::value(oci_process({"nosuch"})), false, true, true);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("nosuch"), std::string::npos) << missing.error().message;

  ASSERT_TRUE(shim.kill(SIGKILL));
  ASSERT_TRUE(wait_exit());
  // Exec output is not the container's log.
  std::string log = read_file(log_path());
  EXPECT_NE(log.find("container-out"), std::string::npos);
  EXPECT_EQ(log.find("exec-err"), std::string::npos);
}

TEST_P(ShimTest, ShimOutlivesItsStarter) {
  // A child process plays berthd: it starts the shim and is SIGKILLed.
  BundleSpec spec;
  spec.args = {"sh", "-c", after_go("echo after; exit 5")};
  spec.cgroups_path = cgroup_;
  write_bundle(bundle(), spec);
  ShimOptions o = options();
  pid_t starter = ::fork();
  ASSERT_GE(starter, 0);
  if (starter == 0) {
    auto pid = Shim::start(o);
    ::kill(::getpid(), pid ? SIGKILL : SIGTERM);
    ::_exit(1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(starter, &status, 0), starter);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "the starter failed to start the shim";
  shim_pid_ = std::atoi(read_file(state() + "/shim.pid").c_str());
  init_pid_ = std::atoi(read_file(state() + "/init.pid").c_str());
  ASSERT_TRUE(process_exists(shim_pid_));
  ASSERT_TRUE(process_exists(init_pid_));

  Shim shim(state());
  EXPECT_TRUE(shim.alive());
  auto stream = shim.attach(false, true, true);
  ASSERT_TRUE(stream) << stream.error().message;
  go();
  Output out = read_all(stream.value());
  EXPECT_EQ(out.out, "after\n");
  auto exit = wait_exit();
  ASSERT_TRUE(exit) << exit.error().message;
  EXPECT_EQ(exit.value().exit_code, 5);
}

TEST_P(ShimTest, WaitAfterTheShimIsGoneReadsExitJson) {
  ASSERT_GT(start({"sh", "-c", "exit 9"}, options()), 0);
  EXPECT_EQ(reap(shim_pid_, 10s), 0);
  shim_pid_ = -1;
  Shim shim(state());
  EXPECT_FALSE(shim.alive());
  EXPECT_FALSE(fs::exists(state() + "/shim.sock"));
  auto status = wait_exit();
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_EQ(status.value().exit_code, 9);
  EXPECT_FALSE(shim.kill(SIGTERM));
}

TEST_P(ShimTest, CommandNotFoundFailsTheStart) {
  BundleSpec spec;
  spec.args = {"nosuch"};
  spec.cgroups_path = cgroup_;
  write_bundle(bundle(), spec);
  auto pid = Shim::start(options());
  ASSERT_FALSE(pid);
  EXPECT_NE(pid.error().message.find("nosuch"), std::string::npos) << pid.error().message;
  shim_pid_ = std::atoi(read_file(state() + "/shim.pid").c_str());
  auto recorded = Shim(state()).recorded_exit();
  ASSERT_TRUE(recorded);
  EXPECT_EQ(recorded->exit_code, 127);
  EXPECT_NE(recorded->error.find("nosuch"), std::string::npos);
}

TEST_P(ShimTest, IdleShimMemory) {
  ASSERT_GT(start({"sleep", "1000"}, options()), 0);
  Shim shim(state());
  // Some traffic first, so the measure is of a shim that served requests.
  ASSERT_TRUE(shim.state());
  std::this_thread::sleep_for(300ms);
  auto rss = status_kib(shim_pid_, "status", "VmRSS");
  auto pss = status_kib(shim_pid_, "smaps_rollup", "Pss");
  RecordProperty("shim_vmrss_kib", std::to_string(rss));
  RecordProperty("shim_pss_kib", std::to_string(pss));
  std::cout << "idle berth-shim (" << GetParam() << "): VmRSS " << rss << " KiB, Pss " << pss << " KiB\n";
  EXPECT_GT(rss, 0u);
  EXPECT_LT(rss, 2048u) << "an idle shim should stay well under 2 MiB";
  ASSERT_TRUE(shim.kill(SIGKILL));
  ASSERT_TRUE(wait_exit());
}

INSTANTIATE_TEST_SUITE_P(Runtimes, ShimTest, ::testing::Values("native", "crun"),
                         [](const auto& param_info) { return param_info.param; });

}  // namespace
}  // namespace berth::testing
