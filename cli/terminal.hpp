// The local terminal around an attached container: raw mode while a TTY
// container owns it, its size, and signals turned into work for the stream
// pump (window changes, signals forwarded to the container).
#pragma once

#include <csignal>
#include <optional>
#include <utility>
#include <vector>

namespace berth::cli {

// Puts the terminal on `fd` in raw mode (moby/term MakeRaw: no echo, no
// line editing, no signal keys, no output processing) and restores it when
// destroyed or restore()d — also when the process is ended by a signal it
// does not otherwise catch (SIGTERM, SIGHUP, SIGINT, SIGQUIT): the handler
// restores the terminal and dies of the same signal. One at a time.
class RawTerminal {
 public:
  // Does nothing when `fd` is not a terminal.
  explicit RawTerminal(int fd);
  ~RawTerminal();
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

  bool active() const { return active_; }
  // Restores the saved mode now; later calls do nothing.
  void restore();

 private:
  bool active_ = false;
};

// Rows and columns of the terminal on `fd`; nullopt when it is not one.
std::optional<std::pair<unsigned, unsigned>> terminal_size(int fd);

// Signals delivered through a pipe, so that a poll() loop handles them
// (async-signal-safe handlers only write the number). Installs handlers
// for `signals` and puts the previous dispositions back when destroyed.
// One at a time per process.
class SignalPipe {
 public:
  explicit SignalPipe(std::vector<int> signals);
  ~SignalPipe();
  SignalPipe(const SignalPipe&) = delete;
  SignalPipe& operator=(const SignalPipe&) = delete;

  // Readable when signals arrived.
  int fd() const { return fds_[0]; }
  // The signals that arrived since the last call, in order (never blocks).
  std::vector<int> take();

 private:
  int fds_[2] = {-1, -1};
  std::vector<std::pair<int, struct sigaction>> previous_;
};

// The signals forwarded to a container with --sig-proxy: those a user or a
// supervisor sends to a foreground client (Docker's CLI forwards every
// catchable one; faults and job-control stops for background terminal use
// stay ours here).
std::vector<int> proxied_signals();
// The name Docker's kill takes ("TERM" for SIGTERM); "" when unknown.
const char* signal_name(int sig);

}  // namespace berth::cli
