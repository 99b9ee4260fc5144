// Integration-test harness: runs real berthd and berth binaries (and other
// clients) as processes on private temporary roots, and tears everything
// down even when a test fails.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace berth::testing {

// The binaries under test, from CMake.
std::string berthd_path();
std::string berth_path();

struct CommandResult {
  int exit_code = -1;  // -1: killed by a signal or timed out
  std::string out, err;
};

// Runs argv[0] (searched in PATH) with stdout/stderr captured and stdin from
// `input`. `env` entries are added to (or, with an empty value, removed
// from) the environment. Killed after `timeout`.
CommandResult run(const std::vector<std::string>& argv,
                  const std::map<std::string, std::string>& env = {},
                  const std::string& input = {},
                  std::chrono::seconds timeout = std::chrono::seconds(60));

// One step of a conversation with a program on a terminal: once `prompt`
// appears in its output (after the previous step), `answer` is typed.
struct TerminalStep {
  std::string prompt, answer;
};

// Runs argv[0] (a path) with a pseudo-terminal of `columns` columns as its
// stdin, stdout and stderr (output post-processing off, so "\n" stays
// "\n") and returns all it wrote, as the terminal showed it (input that
// the terminal echoed included), in `out`. `env` as for run(). Killed
// after 60 s.
CommandResult run_on_terminal(const std::vector<std::string>& argv,
                              const std::map<std::string, std::string>& env,
                              unsigned short columns = 120,
                              const std::vector<TerminalStep>& dialogue = {});

// A fresh directory /tmp/berth-test-<name>-XXXXXX, removed with everything
// below it, after lazily unmounting anything a test left mounted there.
class TempDir {
 public:
  explicit TempDir(const std::string& name);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

void write_file(const std::string& path, const std::string& content);
std::string read_file(const std::string& path);

// One berthd on its own data root, exec root and UNIX socket.
class Daemon {
 public:
  struct Options {
    std::vector<std::string> args;  // extra flags
    bool unix_socket = true;        // listen on <root>/berth.sock
    std::string root;               // reuse a root (restart); empty: a new TempDir
    // Runs berthd through this command line, which must end by exec'ing its
    // arguments (e.g. {"unshare", "--mount", "--propagation", "private", "sh",
    // "-c", "mount --bind A /etc/subuid && exec \"$@\"", "sh"}): berthd's
    // argv is appended, and the PID stays berthd's.
    std::vector<std::string> launcher;
    // Without it the daemon runs with --bridge none --ip-forward=false: no
    // default network, nothing made in the host's network namespace.
    // Networking tests set it and name their bridge, table and pools in
    // daemon.json.
    bool networking = false;
  };

  // Starts berthd and waits until it serves every listener (or exits).
  explicit Daemon(Options options);
  Daemon() : Daemon(Options{}) {}
  // SIGTERM, then SIGKILL after 15 s; removes its TempDir if it made one.
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  bool started() const { return started_; }
  pid_t pid() const { return pid_; }
  const std::string& root() const { return root_; }
  std::string data_root() const { return root_ + "/data"; }
  std::string exec_root() const { return root_ + "/exec"; }
  std::string socket() const { return root_ + "/berth.sock"; }
  std::string host() const { return "unix://" + socket(); }
  // "tcp://127.0.0.1:port" for each TCP listener, read from the log.
  std::vector<std::string> tcp_endpoints() const;
  std::string log() const;

  // Runs the berth CLI against this daemon, with BERTH_CONFIG set to
  // cli_config() so no test reads or writes the real user's ~/.berth.
  CommandResult berth(std::vector<std::string> args, const std::string& input = {}) const;
  // The berth CLI's config directory (config.json with registry
  // credentials); not created until the CLI writes there.
  std::string cli_config() const { return root_ + "/cli-config"; }

  // One Engine API call over the UNIX socket with curl (an independent
  // client): the status and the body. `path` goes below /v1.43.
  struct ApiAnswer {
    int status = 0;
    std::string body;
  };
  ApiAnswer api(const std::string& method, const std::string& path, const std::string& body = {},
                const std::string& content_type = "application/json") const;

  // Exit status once it exited (after stop(), or when start-up failed).
  int exit_status() const { return exit_status_; }
  bool exited() const { return exited_; }

  // Sends `sig` and waits for exit; returns the exit status (or -signal).
  int stop(int sig, std::chrono::seconds timeout = std::chrono::seconds(15));

 private:
  std::optional<TempDir> own_root_;
  std::string root_;
  pid_t pid_ = -1;
  bool started_ = false;
  bool exited_ = false;
  int exit_status_ = 0;
  std::size_t log_offset_ = 0;  // a restarted daemon appends to the same log
};

// A program running while the test goes on (a streaming client such as
// `berth events`), its stdout and stderr on one pipe that the test reads as
// it comes; its process group is killed when this object goes.
class Background {
 public:
  // Starts argv[0] (searched in PATH) with stdin from /dev/null; `env` as
  // for run().
  explicit Background(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env = {});
  ~Background();
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;

  pid_t pid() const { return pid_; }
  // Reads until `text` appears in what was read so far (or the output ends,
  // or `timeout` passes) and returns everything read so far.
  const std::string& read_until(const std::string& text, std::chrono::milliseconds timeout);
  // Sends `sig`, waits for the exit and returns its code as run() reports
  // it (-signal when killed); the rest of the output is then read.
  int stop(int sig, std::chrono::seconds timeout = std::chrono::seconds(10));

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  std::string output_;
};

// Sends raw bytes to a UNIX socket and returns what came back until the peer
// closed or `timeout` passed.
std::string raw_exchange(const std::string& socket_path, const std::string& bytes,
                         std::chrono::milliseconds timeout = std::chrono::milliseconds(3000));

}  // namespace berth::testing
