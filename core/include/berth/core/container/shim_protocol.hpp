// The wire and file details both ends of berth-shim share (the daemon's Shim
// client in core/src/container/shim.cpp and the shim in core/shim/): file
// names in the container's state dir, the frame header, the options file and
// exit.json. The protocol itself is described in shim.hpp.
#pragma once

#include "berth/core/container/shim.hpp"
#include "berth/core/error.hpp"

#include <boost/json/value.hpp>

#include <sys/socket.h>
#include <sys/un.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::core::container::shim_protocol {

// Files in the state dir.
inline constexpr std::string_view kSocket = "shim.sock";
inline constexpr std::string_view kShimPid = "shim.pid";
inline constexpr std::string_view kInitPid = "init.pid";
inline constexpr std::string_view kExit = "exit.json";
inline constexpr std::string_view kLog = "shim.log";
inline constexpr std::string_view kOptions = "shim.json";

enum FrameType : int { kStdin = 0, kStdout = 1, kStderr = 2, kExitFrame = 3 };

inline constexpr std::size_t kHeaderSize = 8;
// Larger frames are a protocol error (a stdin frame is a read's worth).
inline constexpr std::uint32_t kMaxFrame = 1u << 20;
// A request line longer than this is refused.
inline constexpr std::size_t kMaxRequest = 1u << 20;

inline void encode_header(unsigned char* out, int type, std::uint32_t size) {
  out[0] = static_cast<unsigned char>(type);
  out[1] = out[2] = out[3] = 0;
  out[4] = static_cast<unsigned char>(size >> 24);
  out[5] = static_cast<unsigned char>(size >> 16);
  out[6] = static_cast<unsigned char>(size >> 8);
  out[7] = static_cast<unsigned char>(size);
}

inline std::uint32_t decode_size(const unsigned char* header) {
  return (std::uint32_t{header[4]} << 24) | (std::uint32_t{header[5]} << 16) |
         (std::uint32_t{header[6]} << 8) | std::uint32_t{header[7]};
}

// An AF_UNIX address for `path`. Paths longer than sun_path fit through
// /proc/self/fd/<dir_fd>/<name> when the caller holds `dir_fd`, an O_PATH
// descriptor of the path's directory (-1: none, then too long is an error).
Result<sockaddr_un> unix_address(const std::string& path, int dir_fd);

// The whole of a small file; empty when it cannot be read.
std::string read_text(const std::string& path);

// Writes `text` to `path` through a temporary file, then renamed: readers
// see the old file or the whole new one. The file is fsynced first unless it
// is `Sync::no`: one rewritten at every container start (a bundle's
// config.json, hosts, hostname, resolv.conf) need not survive a power loss.
enum class Sync { yes, no };
Result<void> write_atomic(const std::string& path, std::string_view text, Sync sync = Sync::yes);

// A descriptor a spawned process gets: `fd` as `target` (the same number
// clears close-on-exec); fd -1 opens /dev/null as `target`.
struct SpawnFd {
  int fd;
  int target;
};

// Runs args[0] (searched in PATH when it has no slash) with no signal
// blocked and every disposition at its default: berthd's threads block the
// signals it waits for and the shim blocks SIGCHLD, and neither may leak
// into the shim, the runtime or a container. Returns the child's PID.
Result<pid_t> spawn(const std::vector<std::string>& args, const std::vector<SpawnFd>& fds);

// shim.json: the options the daemon started the shim with.
boost::json::value options_to_json(const ShimOptions& options);
Result<ShimOptions> options_from_json(std::string_view text);

// exit.json.
boost::json::object exit_to_json(const ExitStatus& status);
Result<ExitStatus> exit_from_json(const boost::json::value& value);

// The answer to a failed request: {"error": message, "code": errc name}.
std::string error_reply(const Error& error);
// The Error in a reply object, or none ({"error"} absent).
std::optional<Error> reply_error(const boost::json::value& reply);

}  // namespace berth::core::container::shim_protocol
