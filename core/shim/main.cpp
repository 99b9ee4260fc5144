// berth-shim --id <id> --state-dir <dir> --report-fd <n>
//
// Started by Shim::start (berth/core/container/shim.hpp), which wrote the
// options to <dir>/shim.json. This process forks the real shim and exits, so
// the shim is not berthd's child; the shim becomes a session leader and a
// child subreaper (an OCI runtime CLI's container init is re-parented to it),
// moves to "/", keeps no inherited descriptor, puts stdin and stdout on
// /dev/null and stderr — its diagnostics, spdlog's sink — on <dir>/shim.log.
// Once the container runs (or failed to) it writes one line to the report
// descriptor, {"pid": n} or {"error": "...", "code": "..."}, and closes it.
#include "server.hpp"

#include "berth/core/container/shim_protocol.hpp"
#include "berth/core/log.hpp"

#include <boost/json/serialize.hpp>

#include <fcntl.h>
#include <malloc.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>

namespace {

namespace proto = berth::core::container::shim_protocol;
using berth::core::Errc;
using berth::core::Error;

void report(int fd, const std::string& line) {
  std::size_t done = 0;
  while (done < line.size()) {
    ssize_t n = ::write(fd, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
}

// Closes every descriptor from 3 up except `keep`.
void close_inherited(int keep) {
  if (keep > 3) ::close_range(3, static_cast<unsigned>(keep) - 1, 0);
  ::close_range(static_cast<unsigned>(std::max(keep, 2)) + 1, ~0u, 0);
}

// An idle shim should cost little more than its heap and page tables. Two
// things from the start-up stay mapped otherwise: freed heap (JSON, the
// spec, the runtime's work), and what only the start-up used of the
// binary's and libc's code and read-only data — the runtime, the plugin
// host, JSON parsing, symbol tables — mapped 64 KiB around every page it
// touched (the kernel's fault-around). A file mapping without anonymous
// (copy-on-write) pages holds nothing but the file, so dropping its page
// table entries loses nothing: the pages stay in the page cache, shared by
// every shim, and what the loop uses maps back in on first use. Mappings
// with anonymous pages (RELRO: the relocated GOT) are left alone.
void drop_startup_pages() {
  ::malloc_trim(0);
  // Collect first, then drop in a tight loop: code run after a drop (a
  // stream or scanf reading the rest of smaps) would fault straight back in.
  struct Range {
    unsigned long start, end;
  } ranges[128];
  std::size_t count = 0;
  {
    std::ifstream smaps("/proc/self/smaps");
    Range current{};
    bool candidate = false;
    for (std::string line; std::getline(smaps, line);) {
      unsigned long start = 0, end = 0, kib = 0;
      char perms[5] = {};
      if (std::sscanf(line.c_str(), "%lx-%lx %4s", &start, &end, perms) == 3) {
        std::string_view p(perms);
        candidate = (p == "r-xp" || p == "r--p") && line.find('/') != std::string::npos;
        current = {start, end};
      } else if (candidate && std::sscanf(line.c_str(), "Anonymous: %lu", &kib) == 1) {
        if (kib == 0 && count < std::size(ranges)) ranges[count++] = current;
        candidate = false;
      }
    }
  }
  for (std::size_t i = 0; i < count; ++i) {
    ::madvise(reinterpret_cast<void*>(ranges[i].start), ranges[i].end - ranges[i].start, MADV_DONTNEED);
  }
}

int usage() {
  std::fputs("usage: berth-shim --id <id> --state-dir <dir> --report-fd <n>\n"
             "(started by berthd; see berth/core/container/shim.hpp)\n",
             stderr);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string id, state_dir;
  int report_fd = -1;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string_view flag = argv[i];
    if (flag == "--id") {
      id = argv[i + 1];
    } else if (flag == "--state-dir") {
      state_dir = argv[i + 1];
    } else if (flag == "--report-fd") {
      report_fd = std::atoi(argv[i + 1]);
    } else {
      return usage();
    }
  }
  if (argc % 2 == 0 || id.empty() || state_dir.empty() || report_fd < 3 ||
      ::fcntl(report_fd, F_SETFD, FD_CLOEXEC) != 0) {
    return usage();
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);

  pid_t child = ::fork();
  if (child < 0) {
    report(report_fd, proto::error_reply(berth::core::errno_error(Errc::internal, "berth-shim: fork", errno)));
    return 1;
  }
  if (child > 0) ::_exit(0);

  ::setsid();
  ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  if (::chdir("/") != 0) {
    // "/" is always there; nothing sensible to do otherwise.
  }
  close_inherited(report_fd);
  int null_fd = ::open("/dev/null", O_RDWR);
  int log_fd = ::open((state_dir + "/" + std::string(proto::kLog)).c_str(),
                      O_WRONLY | O_CREAT | O_APPEND, 0600);
  ::dup2(null_fd, 0);
  ::dup2(null_fd, 1);
  ::dup2(log_fd >= 0 ? log_fd : null_fd, 2);
  for (int fd : {null_fd, log_fd}) {
    if (fd > 2) ::close(fd);
  }
  int dir_fd = ::open(state_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);

  auto fail = [&](const Error& e) {
    berth::core::logger("shim")->error("container {}: {}", id, e.message);
    report(report_fd, proto::error_reply(e));
    return 1;
  };
  if (auto r = proto::write_atomic(state_dir + "/" + std::string(proto::kShimPid), std::to_string(::getpid()));
      !r) {
    return fail(r.error());
  }
  auto options = proto::options_from_json(proto::read_text(state_dir + "/" + std::string(proto::kOptions)));
  if (!options) return fail(options.error().wrap("read " + state_dir + "/shim.json"));

  berth::shim::Server server(std::move(options).value(), dir_fd);
  auto pid = server.start();
  if (!pid) return fail(pid.error());
  report(report_fd, boost::json::serialize(boost::json::object{{"pid", pid.value()}}) + "\n");
  drop_startup_pages();
  server.run();
  return 0;
}
