#include "sync.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

namespace berth::runtime::detail {

Result<void> send_msg(int sock, Msg kind, std::string_view payload, int pass_fd) {
  std::string buf(1, static_cast<char>(kind));
  buf.append(payload);
  iovec iov{buf.data(), buf.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  if (pass_fd >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
  }
  ssize_t n;
  do {
    n = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return sys_error("send to the runtime's sync socket");
  return core::ok();
}

Result<Received> recv_msg(int sock) {
  char buf[8192];
  iovec iov{buf, sizeof buf};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return sys_error("receive from the runtime's sync socket");
  Received r;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int fd = -1;
      std::memcpy(&fd, CMSG_DATA(c), sizeof(int));
      r.fd.reset(fd);
    }
  }
  if (n == 0) {
    r.eof = true;
    return r;
  }
  r.kind = static_cast<Msg>(buf[0]);
  r.payload.assign(buf + 1, static_cast<std::size_t>(n - 1));
  return r;
}

void send_error(int sock, const Error& error) {
  std::string payload(4, '\0');
  const auto code = static_cast<std::int32_t>(error.code);
  std::memcpy(payload.data(), &code, 4);
  // One datagram: keep the message within the receiver's buffer.
  payload += error.message.substr(0, 8000);
  (void)send_msg(sock, Msg::error, payload);
}

Error decode_error(const std::string& payload) {
  if (payload.size() < 4)
    return Error{Errc::internal, "malformed error from the container process"};
  std::int32_t code = 0;
  std::memcpy(&code, payload.data(), 4);
  return Error{sdk::to_errc(code), payload.substr(4)};
}

}  // namespace berth::runtime::detail
