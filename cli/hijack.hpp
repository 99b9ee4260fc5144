// The client side of Docker's attached streams (docker/cli hijack.go,
// moby stdcopy, moby/term's escape proxy): what `run`, `start -a`,
// `attach`, `exec` and `logs` do with the bytes of a container.
//
// Without a TTY the daemon multiplexes stdout and stderr on one stream,
// each frame an 8-byte header [stream, 0, 0, 0, size (big-endian u32)]
// followed by `size` bytes; stream 0 is stdin (written to stdout), 1
// stdout, 2 stderr, 3 an error from the daemon. With a TTY the bytes are
// the terminal's output, copied as they come.
#pragma once

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace berth::cli {

class Connection;

// Splits a multiplexed stream into stdout and stderr (Docker's
// stdcopy.StdCopy), fed in pieces of any size.
class StdcopyDemuxer {
 public:
  // out, err: where frames of stream 0/1 and 2 go (nullptr: dropped);
  // must outlive the demuxer.
  StdcopyDemuxer(std::ostream* out, std::ostream* err) : out_(out), err_(err) {}

  // Writes the payload of every frame the bytes complete (and the part of
  // an unfinished one that is already there), flushing each stream it
  // wrote to. Throws CliError "Unrecognized input header: N" for an
  // unknown stream and "error from daemon in stream: <text>" for stream 3.
  void feed(std::string_view bytes);
  // True when the stream stopped inside a frame header (a truncated
  // stream; Docker's StdCopy ignores that, and so does the caller).
  bool mid_header() const { return header_.size() > 0; }

 private:
  std::ostream* out_;
  std::ostream* err_;
  std::string header_;           // bytes of the current header
  std::uint32_t remaining_ = 0;  // payload bytes of the current frame still to come
  int stream_ = 0;
  std::string system_error_;  // stream 3's payload, reported when complete
};

// Parses Docker's --detach-keys value (moby/term ToBytes): a comma-separated
// list of keys, each a single character or "ctrl-<c>" with <c> one of a-z,
// @, [, \, ], ^, _ ("ctrl-p,ctrl-q" -> {16, 17}). Throws CliError
// "Unknown character: '<key>'" for anything else.
std::vector<unsigned char> parse_detach_keys(std::string_view spec);

// Watches typed input for the detach sequence. Unlike moby/term's
// EscapeProxy, which only matches one key per read, the sequence is found
// in reads of any size (a pasted sequence, or a test writing it at once);
// keys that start the sequence are held back until it is complete or
// broken.
class DetachMatcher {
 public:
  explicit DetachMatcher(std::vector<unsigned char> keys) : keys_(std::move(keys)) {}
  // Returns the bytes of `input` to send on; sets `detached` when the
  // sequence completed (what followed it is dropped, as the user left).
  std::string filter(std::string_view input, bool& detached);

 private:
  std::vector<unsigned char> keys_;
  std::size_t matched_ = 0;
};

struct PumpOptions {
  // Where the container's input comes from (a terminal, pipe or file);
  // -1: no input. Read until its end, which half-closes the connection.
  int input_fd = -1;
  // Where the output goes; nullptr: the stream is not attached.
  std::ostream* out = nullptr;
  std::ostream* err = nullptr;
  // Raw copy of a TTY's output (and detach keys on input), else stdcopy.
  bool tty = false;
  // The detach sequence, matched on input when `tty`; empty: none.
  std::vector<unsigned char> detach_keys;
  // A descriptor that becomes readable when `on_wake` has work (signals,
  // window changes: see SignalPipe); -1: none.
  int wake_fd = -1;
  std::function<void()> on_wake;
  // Called once the output ended or the user detached, before anything
  // else is printed (the raw terminal goes back to normal).
  std::function<void()> on_output_end;
};

enum class PumpEnd {
  output_ended,  // the daemon closed the stream (the process ended)
  input_ended,   // input ended and no output was attached
  detached,      // the user typed the detach sequence
};

// Copies input to the connection and the connection's output to
// `out`/`err` until the output ends (Docker's hijackedIOStreamer.stream):
// the end of input half-closes the connection and keeps reading output;
// the detach sequence ends at once without half-closing (the container keeps
// its stdin). One thread: poll() over the connection, the input and
// `wake_fd`; input is not read while the daemon is not taking what was
// read, so a container that stops reading cannot deadlock the copy.
// Throws CliError when the connection breaks or the stream is malformed.
PumpEnd pump(Connection& connection, const PumpOptions& options);

}  // namespace berth::cli
