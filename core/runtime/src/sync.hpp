// Messages between the runtime's caller and the processes it starts, on a
// SOCK_SEQPACKET socketpair (one message per datagram, the first byte its
// kind). The children's end is close-on-exec, so once the caller has sent
// "go", end-of-file on its end means the process exec'd (or died).
//
//   helper -> caller  pid      the container process's PID (caller's namespace)
//   caller -> child   go       cgroup, id maps and oom score are in place
//   child  -> caller  console  the pty master, passed with SCM_RIGHTS
//   any    -> caller  error    4-byte error class + message; the sender exits
#pragma once

#include <string>
#include <string_view>

#include "sys.hpp"

namespace berth::runtime::detail {

enum class Msg : char { pid = 'P', go = 'G', console = 'C', error = 'E' };

struct Received {
  bool eof = false;
  Msg kind = Msg::error;
  std::string payload;
  Fd fd;  // a passed descriptor (console)
};

// Sends one message, with `pass_fd` attached when >= 0.
Result<void> send_msg(int sock, Msg kind, std::string_view payload = {}, int pass_fd = -1);
// Receives one message (blocking; EINTR retried).
Result<Received> recv_msg(int sock);
// Sends `error` (best effort: the sender is about to exit anyway).
void send_error(int sock, const Error& error);
// The error carried by an error message.
Error decode_error(const std::string& payload);

}  // namespace berth::runtime::detail
