// The CLI's hijacked streams against a small fake daemon on a UNIX socket:
// the upgrade to a raw connection (101, and the 200 older daemons send),
// input half-closed at its end, stdcopy demultiplexing, raw TTY output,
// detach keys, an error answer; plus the stdcopy and detach-key parsers on
// their own (cli/hijack.hpp, Client::hijack and Client::open).
#include "cli_fake_daemon.hpp"
#include "client.hpp"
#include "hijack.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <sstream>
#include <thread>

namespace berth::cli {
namespace {

using test_support::FakeDaemon;
using test_support::write_all;

// A stdcopy frame.
std::string frame(int stream, std::string_view payload) {
  std::string out(8, '\0');
  out[0] = static_cast<char>(stream);
  auto n = static_cast<std::uint32_t>(payload.size());
  for (int i = 0; i < 4; ++i) out[static_cast<std::size_t>(7 - i)] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + std::string(payload);
}


constexpr const char* kUpgraded =
    "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\n"
    "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n";

// Echoes what the client sends as stdout frames until the client
// half-closes, then says "bye" on stderr and closes.
void echo_multiplexed(int fd, const std::string& first_output) {
  write_all(fd, std::string(kUpgraded) + first_output);
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) write_all(fd, frame(1, std::string_view(buf, static_cast<std::size_t>(n))));
  write_all(fd, frame(2, "bye\n"));
}

struct Pipe {
  int fds[2] = {-1, -1};
  Pipe() {
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
  }
  ~Pipe() {
    if (fds[0] >= 0) ::close(fds[0]);
    if (fds[1] >= 0) ::close(fds[1]);
  }
  void close_write() {
    ::close(fds[1]);
    fds[1] = -1;
  }
};

TEST(CliHijack, UpgradesEchoesInputAndDemultiplexes) {
  FakeDaemon daemon([](int fd, const std::string&) { echo_multiplexed(fd, frame(1, "hello ") + frame(2, "warn\n")); });
  Client client({daemon.host()});
  auto conn = client.hijack("/containers/x/attach?stream=1&stdin=1&stdout=1&stderr=1");
  EXPECT_TRUE(conn->hijacked());
  EXPECT_EQ(conn->head().status, 101);
  std::string request = daemon.last_request();
  EXPECT_NE(request.find("POST /v1.43/containers/x/attach?stream=1&stdin=1&stdout=1&stderr=1 HTTP/1.1"),
            std::string::npos);
  EXPECT_NE(request.find("Connection: Upgrade"), std::string::npos);
  EXPECT_NE(request.find("Upgrade: tcp"), std::string::npos);

  Pipe input;
  std::string typed = "line one\nline two\n";
  ASSERT_EQ(::write(input.fds[1], typed.data(), typed.size()), static_cast<ssize_t>(typed.size()));
  input.close_write();
  std::ostringstream out, err;
  PumpOptions o;
  o.input_fd = input.fds[0];
  o.out = &out;
  o.err = &err;
  bool ended = false;
  o.on_output_end = [&] { ended = true; };
  // The fake daemon only ends its output after our half-close: the pump
  // must send the end of input and keep reading.
  EXPECT_EQ(pump(*conn, o), PumpEnd::output_ended);
  EXPECT_TRUE(ended);
  EXPECT_EQ(out.str(), "hello " + typed);
  EXPECT_EQ(err.str(), "warn\nbye\n");
}

TEST(CliHijack, AcceptsAPlainStreamingAnswer) {
  // Older daemons answer 200 and stream raw bytes (a TTY here).
  FakeDaemon daemon([](int fd, const std::string&) {
    write_all(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\nraw \x1b[1mtty\x1b[0m\r\n");
  });
  Client client({daemon.host()});
  auto conn = client.hijack("/containers/x/attach?stream=1&stdout=1");
  EXPECT_TRUE(conn->hijacked());
  EXPECT_EQ(conn->head().status, 200);
  std::ostringstream out;
  PumpOptions o;
  o.out = &out;
  o.tty = true;
  EXPECT_EQ(pump(*conn, o), PumpEnd::output_ended);
  EXPECT_EQ(out.str(), "raw \x1b[1mtty\x1b[0m\r\n");
}

TEST(CliHijack, ErrorAnswerIsDockersMessage) {
  FakeDaemon daemon([](int fd, const std::string&) {
    std::string body = "{\"message\":\"No such container: x\"}";
    write_all(fd, "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: " +
                      std::to_string(body.size()) + "\r\n\r\n" + body);
  });
  Client client({daemon.host()});
  try {
    client.hijack("/containers/x/attach?stream=1");
    FAIL() << "no error";
  } catch (const CliError& e) {
    EXPECT_STREQ(e.what(), "Error response from daemon: No such container: x");
  }
}

TEST(CliHijack, DetachKeysEndTheStreamWithoutHalfClosing) {
  std::atomic<bool> saw_eof{false};
  std::string received;
  std::mutex m;
  FakeDaemon daemon([&](int fd, const std::string&) {
    write_all(fd, std::string(kUpgraded) + "$ ");
    char buf[256];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) {
      std::lock_guard lock(m);
      received.append(buf, static_cast<std::size_t>(n));
    }
    saw_eof = true;
  });
  Client client({daemon.host()});
  auto conn = client.hijack("/containers/x/attach?stream=1&stdin=1&stdout=1");
  Pipe input;
  // A ctrl-p followed by another key is ordinary input; ctrl-p ctrl-q
  // detaches, and what was typed after it is never sent.
  std::string typed = "a\x10" "b\x10\x11" "after";
  ASSERT_EQ(::write(input.fds[1], typed.data(), typed.size()), static_cast<ssize_t>(typed.size()));
  std::ostringstream out;
  PumpOptions o;
  o.input_fd = input.fds[0];
  o.out = &out;
  o.tty = true;
  o.detach_keys = parse_detach_keys("ctrl-p,ctrl-q");
  EXPECT_EQ(pump(*conn, o), PumpEnd::detached);
  conn.reset();
  for (int i = 0; i < 100 && !saw_eof; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::lock_guard lock(m);
  EXPECT_EQ(received, "a\x10" "b");
}

TEST(CliHijack, WakeDescriptorRunsItsHandler) {
  int wake[2];
  ASSERT_EQ(::pipe2(wake, O_CLOEXEC | O_NONBLOCK), 0);
  std::atomic<bool> release{false};
  FakeDaemon daemon([&](int fd, const std::string&) {
    write_all(fd, kUpgraded);
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    write_all(fd, frame(1, "done\n"));
  });
  Client client({daemon.host()});
  auto conn = client.hijack("/containers/x/attach?stream=1&stdout=1");
  ASSERT_EQ(::write(wake[1], "x", 1), 1);
  std::ostringstream out;
  int woken = 0;
  PumpOptions o;
  o.out = &out;
  o.wake_fd = wake[0];
  o.on_wake = [&] {
    char c;
    while (::read(wake[0], &c, 1) == 1) ++woken;
    release = true;
  };
  EXPECT_EQ(pump(*conn, o), PumpEnd::output_ended);
  EXPECT_EQ(woken, 1);
  EXPECT_EQ(out.str(), "done\n");
  ::close(wake[0]);
  ::close(wake[1]);
}

TEST(CliHijack, OpenReadsALongAnswerAsItComes) {
  // `logs -f` and `wait`: the header first, the (chunked) body later.
  std::atomic<bool> release{false};
  FakeDaemon daemon([&](int fd, const std::string&) {
    write_all(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    write_all(fd, "10\r\n{\"StatusCode\":3}\r\n0\r\n\r\n");
  });
  Client client({daemon.host()});
  auto conn = client.open({"POST", "/containers/x/wait?condition=next-exit", "", "", false});
  EXPECT_FALSE(conn->hijacked());
  EXPECT_EQ(conn->head().status, 200);
  release = true;
  EXPECT_EQ(conn->read_all(), "{\"StatusCode\":3}");
}

TEST(CliStdcopy, FramesSplitAnywhere) {
  std::string stream = frame(1, "out1") + frame(2, "err1") + frame(0, "in") + frame(1, std::string(70000, 'x'));
  for (std::size_t step : {std::size_t{1}, std::size_t{3}, std::size_t{8}, std::size_t{4096}, stream.size()}) {
    std::ostringstream out, err;
    StdcopyDemuxer d(&out, &err);
    for (std::size_t i = 0; i < stream.size(); i += step) d.feed(std::string_view(stream).substr(i, step));
    EXPECT_EQ(out.str(), "out1in" + std::string(70000, 'x')) << "step " << step;
    EXPECT_EQ(err.str(), "err1") << "step " << step;
    EXPECT_FALSE(d.mid_header());
  }
}

TEST(CliStdcopy, DaemonErrorsAndBadHeaders) {
  std::ostringstream out, err;
  StdcopyDemuxer d(&out, &err);
  try {
    d.feed(frame(1, "ok") + frame(3, "oops"));
    FAIL();
  } catch (const CliError& e) {
    EXPECT_STREQ(e.what(), "error from daemon in stream: oops");
  }
  EXPECT_EQ(out.str(), "ok");
  StdcopyDemuxer bad(&out, &err);
  try {
    bad.feed(frame(7, "x"));
    FAIL();
  } catch (const CliError& e) {
    EXPECT_STREQ(e.what(), "Unrecognized input header: 7");
  }
}

TEST(CliDetachKeys, ParsedAsDockersToBytes) {
  EXPECT_EQ(parse_detach_keys("ctrl-p,ctrl-q"), (std::vector<unsigned char>{16, 17}));
  EXPECT_EQ(parse_detach_keys("a,CTRL-A,ctrl-@,ctrl-[,ctrl-\\,ctrl-_"),
            (std::vector<unsigned char>{'a', 1, 0, 27, 28, 31}));
  try {
    parse_detach_keys("ctrl-1");
    FAIL();
  } catch (const CliError& e) {
    EXPECT_STREQ(e.what(), "Unknown character: 'ctrl-1'");
  }
  EXPECT_THROW(parse_detach_keys("ab"), CliError);
  EXPECT_THROW(parse_detach_keys(""), CliError);
}

TEST(CliDetachKeys, MatcherHoldsBackAPartialSequence) {
  DetachMatcher m({16, 17});
  bool detached = false;
  EXPECT_EQ(m.filter("ab\x10", detached), "ab");
  EXPECT_FALSE(detached);
  EXPECT_EQ(m.filter("\x10", detached), "\x10");  // the first ctrl-p was input; the second may start
  EXPECT_FALSE(detached);
  EXPECT_EQ(m.filter("\x11zz", detached), "");
  EXPECT_TRUE(detached);
  EXPECT_EQ(m.filter("x\x10y", detached), "x\x10y");
  EXPECT_FALSE(detached);
}

}  // namespace
}  // namespace berth::cli
