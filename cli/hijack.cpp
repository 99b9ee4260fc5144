#include "hijack.hpp"

#include "client.hpp"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace berth::cli {

void StdcopyDemuxer::feed(std::string_view bytes) {
  bool wrote_out = false, wrote_err = false;
  while (!bytes.empty()) {
    if (remaining_ == 0 && stream_ != 3) {
      std::size_t take = std::min<std::size_t>(std::size_t{8} - header_.size(), bytes.size());
      header_.append(bytes.substr(0, take));
      bytes.remove_prefix(take);
      if (header_.size() < 8) break;
      stream_ = static_cast<unsigned char>(header_[0]);
      if (stream_ > 3) throw CliError("Unrecognized input header: " + std::to_string(stream_));
      remaining_ = 0;
      for (std::size_t i = 4; i < 8; ++i) remaining_ = (remaining_ << 8) | static_cast<unsigned char>(header_[i]);
      header_.clear();
      if (stream_ == 3 && remaining_ == 0) throw CliError("error from daemon in stream: ");
      continue;
    }
    std::size_t take = std::min<std::size_t>(remaining_, bytes.size());
    std::string_view payload = bytes.substr(0, take);
    bytes.remove_prefix(take);
    remaining_ -= static_cast<std::uint32_t>(take);
    if (stream_ == 3) {
      system_error_.append(payload);
      if (remaining_ == 0) throw CliError("error from daemon in stream: " + system_error_);
      continue;
    }
    std::ostream* dst = stream_ == 2 ? err_ : out_;
    if (dst != nullptr) {
      dst->write(payload.data(), static_cast<std::streamsize>(payload.size()));
      (stream_ == 2 ? wrote_err : wrote_out) = true;
    }
    if (remaining_ == 0) stream_ = 0;
  }
  if (wrote_out) out_->flush();
  if (wrote_err) err_->flush();
}

std::vector<unsigned char> parse_detach_keys(std::string_view spec) {
  std::vector<unsigned char> out;
  std::size_t start = 0;
  while (start <= spec.size()) {
    std::size_t comma = spec.find(',', start);
    std::string_view key = spec.substr(start, comma == std::string_view::npos ? spec.npos : comma - start);
    std::string lower(key);
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto unknown = [&] { return CliError("Unknown character: '" + std::string(key) + "'"); };
    if (key.size() == 1) {
      out.push_back(static_cast<unsigned char>(key[0]));
    } else if (lower.size() == 6 && lower.starts_with("ctrl-")) {
      char c = lower[5];
      if (c >= 'a' && c <= 'z') {
        out.push_back(static_cast<unsigned char>(c - 'a' + 1));
      } else if (c == '@') {
        out.push_back(0);
      } else if (c >= '[' && c <= '_') {
        // ctrl-[ 27, ctrl-\ 28, ctrl-] 29, ctrl-^ 30, ctrl-_ 31
        out.push_back(static_cast<unsigned char>(c - '[' + 27));
      } else {
        throw unknown();
      }
    } else {
      throw unknown();
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string DetachMatcher::filter(std::string_view input, bool& detached) {
  detached = false;
  std::string out;
  if (keys_.empty()) return std::string(input);
  for (char ch : input) {
    auto c = static_cast<unsigned char>(ch);
    if (c == keys_[matched_]) {
      if (++matched_ == keys_.size()) {
        detached = true;
        matched_ = 0;
        return out;
      }
      continue;
    }
    if (matched_ > 0) {
      // The held-back keys were ordinary input after all. The current key
      // may itself start the sequence again.
      out.append(keys_.begin(), keys_.begin() + static_cast<std::ptrdiff_t>(matched_));
      matched_ = 0;
      if (c == keys_[0]) {
        matched_ = 1;
        continue;
      }
    }
    out.push_back(ch);
  }
  return out;
}

namespace {

// Sends all of `data`, waiting for the socket as needed; a daemon that went
// away ends it silently (its side of the stream reports that).
void flush_all(Connection& conn, std::string_view data) {
  try {
    while (!data.empty()) {
      data.remove_prefix(conn.write_some(data));
      if (data.empty()) break;
      pollfd p{conn.fd(), POLLOUT, 0};
      if (::poll(&p, 1, -1) < 0 && errno != EINTR) return;
    }
  } catch (const CliError&) {
  }
}

}  // namespace

PumpEnd pump(Connection& conn, const PumpOptions& o) {
  bool output_attached = o.out != nullptr || o.err != nullptr;
  StdcopyDemuxer demux(o.out, o.err);
  DetachMatcher matcher(o.tty ? o.detach_keys : std::vector<unsigned char>{});
  bool input_open = o.input_fd >= 0;
  bool write_closed = false;
  std::string pending;  // input read but not yet taken by the daemon
  std::vector<char> buffer(1 << 15);
  bool ended = false;
  auto end_output = [&] {
    if (!ended && o.on_output_end) o.on_output_end();
    ended = true;
  };
  auto send_pending = [&] {
    try {
      pending.erase(0, conn.write_some(pending));
    } catch (const CliError&) {
      // The daemon stopped taking input; its side of the stream tells why
      // (Docker only logs this).
      pending.clear();
      input_open = false;
      write_closed = true;
    }
  };

  while (true) {
    if (!input_open && pending.empty() && !write_closed) {
      conn.close_write();
      write_closed = true;
      if (!output_attached) {
        end_output();
        return PumpEnd::input_ended;
      }
    }
    bool readable = conn.has_pending();
    if (!readable) {
      pollfd fds[3];
      nfds_t n = 0;
      fds[n++] = {conn.fd(), static_cast<short>(POLLIN | (pending.empty() ? 0 : POLLOUT)), 0};
      int input_slot = -1, wake_slot = -1;
      if (input_open && pending.empty()) {
        input_slot = static_cast<int>(n);
        fds[n++] = {o.input_fd, POLLIN, 0};
      }
      if (o.wake_fd >= 0) {
        wake_slot = static_cast<int>(n);
        fds[n++] = {o.wake_fd, POLLIN, 0};
      }
      if (::poll(fds, n, -1) < 0) {
        if (errno == EINTR) continue;
        throw CliError(std::string("poll: ") + std::strerror(errno));
      }
      if (wake_slot >= 0 && (fds[wake_slot].revents & POLLIN) != 0 && o.on_wake) o.on_wake();
      if (!pending.empty() && (fds[0].revents & (POLLOUT | POLLERR | POLLHUP)) != 0) send_pending();
      if (input_slot >= 0 && (fds[input_slot].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
        ssize_t got = ::read(o.input_fd, buffer.data(), buffer.size());
        if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (got <= 0) {
          input_open = false;
        } else {
          bool detached = false;
          pending += matcher.filter(std::string_view(buffer.data(), static_cast<std::size_t>(got)),
                                    detached);
          if (detached) {
            // What was typed before the sequence still goes to the container.
            flush_all(conn, pending);
            end_output();
            return PumpEnd::detached;
          }
          send_pending();
        }
      }
      readable = (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0;
    }
    if (!readable) continue;
    std::size_t got = conn.read_some(buffer.data(), buffer.size());
    if (got == 0) {
      end_output();
      return PumpEnd::output_ended;
    }
    std::string_view chunk(buffer.data(), got);
    if (o.tty) {
      if (o.out != nullptr) {
        o.out->write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
        o.out->flush();
      }
    } else {
      demux.feed(chunk);
    }
  }
}

}  // namespace berth::cli
