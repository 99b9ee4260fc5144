#include "berth/core/container/shim.hpp"

#include "berth/core/container/shim_protocol.hpp"
#include "berth/core/unique_fd.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>

namespace berth::core::container {

namespace json = boost::json;
namespace proto = shim_protocol;

namespace {

constexpr int kReplyTimeoutMs = 60'000;
// How long Shim::start waits for the shim to report the container started.
constexpr int kStartTimeoutMs = 120'000;

using Fd = UniqueFd;

std::string file_in(const std::string& dir, std::string_view name) {
  return dir + "/" + std::string(name);
}

std::string tail_of_file(const std::string& path, std::size_t max) {
  std::string text = proto::read_text(path);
  if (text.size() > max) text = text.substr(text.size() - max);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

// Waits until `fd` is readable; timeout_ms < 0 waits forever.
Result<void> wait_readable(int fd, int timeout_ms, std::string_view what) {
  pollfd p{fd, POLLIN, 0};
  for (;;) {
    int n = ::poll(&p, 1, timeout_ms);
    if (n > 0) return ok();
    if (n == 0) return make_error(Errc::unavailable, std::string(what) + ": timed out");
    if (errno != EINTR) return errno_error(Errc::internal, std::string(what) + ": poll", errno);
  }
}

Result<void> send_all(int fd, const iovec* parts, int count) {
  std::vector<iovec> iov(parts, parts + count);
  std::size_t first = 0;
  while (first < iov.size()) {
    msghdr msg{};
    msg.msg_iov = iov.data() + first;
    msg.msg_iovlen = iov.size() - first;
    ssize_t n = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error(errno == EPIPE || errno == ECONNRESET ? Errc::unavailable : Errc::internal,
                         "write to shim", errno);
    }
    auto left = static_cast<std::size_t>(n);
    while (first < iov.size() && left >= iov[first].iov_len) left -= iov[first++].iov_len;
    if (first < iov.size()) {
      iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + left;
      iov[first].iov_len -= left;
    }
  }
  return ok();
}

// Reads exactly `len` bytes; false at a clean EOF before the first byte.
Result<bool> read_exact(int fd, void* buf, std::size_t len) {
  std::size_t got = 0;
  while (got < len) {
    ssize_t n = ::read(fd, static_cast<char*>(buf) + got, len - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return errno_error(errno == ECONNRESET ? Errc::unavailable : Errc::internal, "read from shim",
                         errno);
    }
    if (n == 0) {
      if (got == 0) return false;
      return make_error(Errc::unavailable, "read from shim: connection closed mid-frame");
    }
    got += static_cast<std::size_t>(n);
  }
  return true;
}

// One reply line. Byte by byte: frames may follow on the same connection and
// belong to the caller's FrameStream.
Result<json::value> read_reply(int fd, int timeout_ms) {
  std::string line;
  for (;;) {
    BERTH_TRY(wait_readable(fd, timeout_ms, "read reply from shim"));
    char c = 0;
    ssize_t n = ::read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error(Errc::unavailable, "read reply from shim", errno);
    if (n == 0) return make_error(Errc::unavailable, "the shim closed the connection without a reply");
    if (c == '\n') break;
    line += c;
    if (line.size() > proto::kMaxRequest) return make_error(Errc::internal, "shim reply too long");
  }
  boost::system::error_code ec;
  json::value reply = json::parse(line, ec);
  if (ec) return make_error(Errc::internal, "shim reply is not JSON: " + line);
  if (auto e = proto::reply_error(reply)) return std::move(*e);
  return reply;
}

Result<Fd> connect_shim(const std::string& state_dir) {
  std::string path = file_in(state_dir, proto::kSocket);
  Fd dir;
  if (path.size() >= sizeof(sockaddr_un::sun_path)) {
    dir = Fd(::open(state_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  }
  BERTH_TRY(auto addr, proto::unix_address(path, dir.get()));
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return errno_error(Errc::internal, "socket", errno);
  int rc = 0;
  do {
    rc = ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    int err = errno;
    return errno_error(err == ENOENT || err == ECONNREFUSED ? Errc::unavailable : Errc::internal,
                       "connect to shim " + path, err);
  }
  return fd;
}

// Sends one request; returns the connection and the (non-error) reply.
Result<std::pair<Fd, json::value>> call(const std::string& state_dir, const json::object& request,
                                        int timeout_ms) {
  BERTH_TRY(auto fd, connect_shim(state_dir));
  std::string line = json::serialize(request) + "\n";
  iovec part{line.data(), line.size()};
  BERTH_TRY(send_all(fd.get(), &part, 1));
  BERTH_TRY(auto reply, read_reply(fd.get(), timeout_ms));
  return std::pair<Fd, json::value>(std::move(fd), std::move(reply));
}

Result<std::string> read_report(int fd) {
  std::string report;
  char buf[4096];
  for (;;) {
    BERTH_TRY(wait_readable(fd, kStartTimeoutMs, "wait for the shim to start the container"));
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error(Errc::internal, "read the shim's report", errno);
    if (n == 0) break;
    report.append(buf, static_cast<std::size_t>(n));
    if (report.find('\n') != std::string::npos) break;
  }
  return report;
}

}  // namespace

FrameStream::~FrameStream() {
  if (fd_ >= 0) ::close(fd_);
}

Result<void> FrameStream::send(int type, const void* data, std::size_t len) {
  if (len > proto::kMaxFrame) {
    return make_error(Errc::invalid_argument, "frame of " + std::to_string(len) + " bytes is too large");
  }
  unsigned char header[proto::kHeaderSize];
  proto::encode_header(header, type, static_cast<std::uint32_t>(len));
  iovec parts[2] = {{header, sizeof header}, {const_cast<void*>(data), len}};
  return send_all(fd_, parts, len > 0 ? 2 : 1);
}

Result<std::optional<int>> FrameStream::receive(std::string& payload) {
  unsigned char header[proto::kHeaderSize];
  BERTH_TRY(bool got, read_exact(fd_, header, sizeof header));
  if (!got) return std::optional<int>();
  std::uint32_t size = proto::decode_size(header);
  if (size > proto::kMaxFrame) {
    return make_error(Errc::internal, "shim sent a frame of " + std::to_string(size) + " bytes");
  }
  payload.resize(size);
  if (size > 0) {
    BERTH_TRY(bool complete, read_exact(fd_, payload.data(), size));
    if (!complete) return make_error(Errc::unavailable, "read from shim: connection closed mid-frame");
  }
  return std::optional<int>(header[0]);
}

Result<pid_t> Shim::start(const ShimOptions& options) {
  const std::string& dir = options.state_dir;
  if (options.shim_path.empty()) return make_error(Errc::invalid_argument, "no berth-shim path given");
  for (auto name : {proto::kSocket, proto::kShimPid, proto::kInitPid, proto::kExit}) {
    ::unlink(file_in(dir, name).c_str());
  }
  BERTH_TRY(proto::write_atomic(file_in(dir, proto::kOptions),
                                json::serialize(proto::options_to_json(options))));

  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) return errno_error(Errc::internal, "pipe", errno);
  Fd read_end(report[0]), write_end(report[1]);
  BERTH_TRY(pid_t pid, proto::spawn({options.shim_path, "--id", options.id, "--state-dir", dir, "--report-fd",
                                      std::to_string(write_end.get())},
                                     {{write_end.get(), write_end.get()}}));
  write_end = Fd();

  auto report_text = read_report(read_end.get());
  // The first shim process only forks the real one (which berthd is then not
  // the parent of) and exits.
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!report_text) {
    if (auto shim_pid = tail_of_file(file_in(dir, proto::kShimPid), 32); !shim_pid.empty()) {
      ::kill(static_cast<pid_t>(std::stol(shim_pid)), SIGKILL);
    }
    return std::move(report_text).error().wrap("start shim for container " + options.id);
  }
  boost::system::error_code ec;
  json::value reply = json::parse(report_text.value(), ec);
  if (ec || !reply.is_object()) {
    std::string log = tail_of_file(file_in(dir, proto::kLog), 2000);
    return make_error(Errc::internal, "shim for container " + options.id +
                                          " exited without starting it" +
                                          (log.empty() ? "" : ": " + log));
  }
  if (auto e = proto::reply_error(reply)) return std::move(*e);
  const auto* init = reply.as_object().if_contains("pid");
  if (init == nullptr || !init->is_int64()) {
    return make_error(Errc::internal, "shim report has no pid: " + report_text.value());
  }
  return static_cast<pid_t>(init->get_int64());
}

Shim::Shim(std::string state_dir) : state_dir_(std::move(state_dir)) {}

bool Shim::alive() const { return state().has_value(); }

Result<json::value> Shim::state() const {
  BERTH_TRY(auto answer, call(state_dir_, {{"op", "state"}}, kReplyTimeoutMs));
  return std::move(answer.second);
}

Result<void> Shim::kill(int signal) const {
  BERTH_TRY(call(state_dir_, {{"op", "kill"}, {"signal", signal}}, kReplyTimeoutMs));
  return ok();
}

Result<void> Shim::resize(int height, int width, const std::string& exec_id) const {
  json::object request{{"op", "resize"}, {"height", height}, {"width", width}};
  if (!exec_id.empty()) request["exec_id"] = exec_id;
  BERTH_TRY(call(state_dir_, request, kReplyTimeoutMs));
  return ok();
}

Result<ExitStatus> Shim::wait() const {
  auto answer = call(state_dir_, {{"op", "wait"}}, -1);
  if (!answer) {
    // Gone (or going) without answering: what it recorded is the answer.
    if (auto recorded = recorded_exit()) return std::move(*recorded);
    return std::move(answer).error().wrap("wait for container");
  }
  return proto::exit_from_json(answer.value().second);
}

std::optional<ExitStatus> Shim::recorded_exit() const {
  boost::system::error_code ec;
  json::value v = json::parse(proto::read_text(file_in(state_dir_, proto::kExit)), ec);
  if (ec) return std::nullopt;
  auto status = proto::exit_from_json(v);
  if (!status) return std::nullopt;
  return std::move(status).value();
}

Result<FrameStream> Shim::attach(bool in, bool out, bool err, bool replay) const {
  BERTH_TRY(auto answer, call(state_dir_,
                              {{"op", "attach"},
                               {"stdin", in},
                               {"stdout", out},
                               {"stderr", err},
                               {"replay", replay}},
                              kReplyTimeoutMs));
  return FrameStream(answer.first.release());
}

Result<FrameStream> Shim::exec(const std::string& exec_id, const json::value& process, bool in,
                               bool out, bool err, pid_t* pid) const {
  BERTH_TRY(auto answer, call(state_dir_,
                              {{"op", "exec"},
                               {"exec_id", exec_id},
                               {"process", process},
                               {"stdin", in},
                               {"stdout", out},
                               {"stderr", err}},
                              kReplyTimeoutMs));
  if (pid != nullptr) {
    const auto* p = answer.second.is_object() ? answer.second.as_object().if_contains("pid") : nullptr;
    *pid = p != nullptr && p->is_int64() ? static_cast<pid_t>(p->get_int64()) : -1;
  }
  return FrameStream(answer.first.release());
}

}  // namespace berth::core::container
