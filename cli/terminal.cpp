#include "terminal.hpp"

#include "client.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace berth::cli {

namespace {

// The saved mode, for the fatal-signal handler too.
struct termios g_saved;
int g_raw_fd = -1;
struct sigaction g_previous_fatal[4];
constexpr int kFatalSignals[4] = {SIGTERM, SIGHUP, SIGINT, SIGQUIT};

void restore_and_die(int sig) {
  if (g_raw_fd >= 0) ::tcsetattr(g_raw_fd, TCSANOW, &g_saved);
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

int g_pipe_write = -1;

void write_signal(int sig) {
  int saved = errno;
  auto byte = static_cast<unsigned char>(sig);
  [[maybe_unused]] ssize_t n = ::write(g_pipe_write, &byte, 1);
  errno = saved;
}

}  // namespace

RawTerminal::RawTerminal(int fd) {
  if (g_raw_fd >= 0 || ::isatty(fd) != 1 || ::tcgetattr(fd, &g_saved) != 0) return;
  struct termios raw = g_saved;
  raw.c_iflag &= ~static_cast<tcflag_t>(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
  raw.c_oflag &= ~static_cast<tcflag_t>(OPOST);
  raw.c_lflag &= ~static_cast<tcflag_t>(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
  raw.c_cflag &= ~static_cast<tcflag_t>(CSIZE | PARENB);
  raw.c_cflag |= CS8;
  raw.c_cc[VMIN] = 1;
  raw.c_cc[VTIME] = 0;
  g_raw_fd = fd;
  // A signal that ends us must not leave the user's shell in raw mode;
  // signals someone already handles (the signal proxy) stay theirs.
  for (std::size_t i = 0; i < 4; ++i) {
    struct sigaction current {};
    ::sigaction(kFatalSignals[i], nullptr, &current);
    g_previous_fatal[i] = current;
    if (current.sa_handler == SIG_DFL) {
      struct sigaction sa {};
      sa.sa_handler = restore_and_die;
      sigemptyset(&sa.sa_mask);
      ::sigaction(kFatalSignals[i], &sa, nullptr);
    }
  }
  if (::tcsetattr(fd, TCSANOW, &raw) != 0) {
    restore();
    return;
  }
  active_ = true;
}

RawTerminal::~RawTerminal() { restore(); }

void RawTerminal::restore() {
  if (g_raw_fd < 0) return;
  if (active_) ::tcsetattr(g_raw_fd, TCSANOW, &g_saved);
  for (std::size_t i = 0; i < 4; ++i) {
    struct sigaction current {};
    ::sigaction(kFatalSignals[i], nullptr, &current);
    if (current.sa_handler == restore_and_die) ::sigaction(kFatalSignals[i], &g_previous_fatal[i], nullptr);
  }
  g_raw_fd = -1;
  active_ = false;
}

std::optional<std::pair<unsigned, unsigned>> terminal_size(int fd) {
  struct winsize ws {};
  if (::ioctl(fd, TIOCGWINSZ, &ws) != 0) return std::nullopt;
  return std::make_pair(static_cast<unsigned>(ws.ws_row), static_cast<unsigned>(ws.ws_col));
}

SignalPipe::SignalPipe(std::vector<int> signals) {
  if (::pipe2(fds_, O_CLOEXEC | O_NONBLOCK) != 0) {
    throw CliError(std::string("pipe: ") + std::strerror(errno));
  }
  g_pipe_write = fds_[1];
  for (int sig : signals) {
    struct sigaction sa {}, old {};
    sa.sa_handler = write_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    if (::sigaction(sig, &sa, &old) == 0) previous_.emplace_back(sig, old);
  }
}

SignalPipe::~SignalPipe() {
  for (const auto& [sig, old] : previous_) ::sigaction(sig, &old, nullptr);
  g_pipe_write = -1;
  ::close(fds_[0]);
  ::close(fds_[1]);
}

std::vector<int> SignalPipe::take() {
  std::vector<int> out;
  unsigned char buf[64];
  ssize_t n;
  while ((n = ::read(fds_[0], buf, sizeof buf)) > 0) {
    for (ssize_t i = 0; i < n; ++i) out.push_back(buf[i]);
  }
  return out;
}

namespace {
struct NamedSignal {
  int sig;
  const char* name;
};
constexpr NamedSignal kSignals[] = {
    {SIGHUP, "HUP"},   {SIGINT, "INT"},       {SIGQUIT, "QUIT"},     {SIGILL, "ILL"},
    {SIGTRAP, "TRAP"}, {SIGABRT, "ABRT"},     {SIGBUS, "BUS"},       {SIGFPE, "FPE"},
    {SIGUSR1, "USR1"}, {SIGSEGV, "SEGV"},     {SIGUSR2, "USR2"},     {SIGALRM, "ALRM"},
    {SIGTERM, "TERM"}, {SIGSTKFLT, "STKFLT"}, {SIGCONT, "CONT"},     {SIGTSTP, "TSTP"},
    {SIGTTIN, "TTIN"}, {SIGTTOU, "TTOU"},     {SIGURG, "URG"},       {SIGXCPU, "XCPU"},
    {SIGXFSZ, "XFSZ"}, {SIGVTALRM, "VTALRM"}, {SIGPROF, "PROF"},     {SIGIO, "IO"},
    {SIGPWR, "PWR"},   {SIGSYS, "SYS"},       {SIGWINCH, "WINCH"},   {SIGCHLD, "CHLD"},
    {SIGPIPE, "PIPE"},
};
}  // namespace

std::vector<int> proxied_signals() {
  // The ones a user or a supervisor sends to a foreground client. Faults
  // (SEGV, BUS, ...) are our own and must not be caught, nor the terminal's
  // job-control stops for background reads and writes (TTIN, TTOU).
  return {SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGTERM, SIGCONT, SIGTSTP, SIGPWR};
}

const char* signal_name(int sig) {
  for (const auto& s : kSignals) {
    if (s.sig == sig) return s.name;
  }
  return "";
}

}  // namespace berth::cli
