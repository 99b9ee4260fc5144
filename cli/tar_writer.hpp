// Tars the CLI sends to the daemon: a local path for `cp`, a build context
// for `build`. pax (restricted) archives, as Go's archive/tar writes them:
// plain ustar headers unless a name, link or size needs an extended one.
// Trees are walked in lexical order (Go's filepath.Walk), symlinks are
// stored, not followed, sockets are left out, and files with several hard
// links go as separate files.
//
// Tars are spooled to an unlinked temporary file first (Spool), so that
// they are sent with their length.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <ctime>
#include <functional>
#include <istream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace berth::cli {

// What a tree walk does with a path below its root.
enum class TarVisit {
  include,   // write its entry (and walk a directory)
  skip,      // leave it out, with everything below it
  walk_only  // a directory: leave its own entry out, but walk what is below it
};

struct TarTreeOptions {
  // The name of the root's own entry and the prefix of every other
  // ("dir" -> "dir", "dir/a"). Empty: the root's entry is left out and the
  // others are named relative to it ("a", "sub/b").
  std::string top;
  // Decides about each path below the root, given relative to it
  // ('/'-separated, no "./"); empty: everything is included.
  std::function<TarVisit(const std::string& relative, bool is_dir)> filter;
  // The content to write instead of a regular file's, by relative path;
  // empty or nullopt: the file's own.
  std::function<std::optional<std::string>(const std::string& relative)> replace;
  // Every entry owned by 0:0 without user and group names (Docker's build
  // contexts); otherwise the files' own ids, with their names looked up.
  bool root_owned = false;
};

class TarWriter {
 public:
  // Writes the archive to `fd` (not owned; left open), gzip-compressed
  // when `gzip`.
  explicit TarWriter(int fd, bool gzip = false);
  ~TarWriter();
  TarWriter(const TarWriter&) = delete;
  TarWriter& operator=(const TarWriter&) = delete;

  // Adds the file or the directory tree at `root` (`root` itself is not
  // followed when it is a symlink). Throws CliError ("tar <path>: ...").
  void add_tree(const std::string& root, const TarTreeOptions& options);

  // Adds a regular file `name` holding `content`, owned by 0:0.
  void add_file(const std::string& name, std::string_view content, mode_t mode, std::time_t mtime);

  // Ends the archive. Throws CliError.
  void finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// An upload spooled to a temporary file that is already unlinked (in
// $TMPDIR, else /tmp), then read back from its start as the request body.
class Spool {
 public:
  // `what` names the file while it has a name ("berth-<what>-XXXXXX").
  // Throws CliError.
  explicit Spool(const std::string& what);
  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  // The file, open for reading and writing; owned by the spool.
  int fd() const { return fd_; }

  // Appends everything `in` yields. Throws CliError.
  void append(std::istream& in);

  // Ends writing: rewinds the file and returns its size; body() then
  // reads it from the start. Throws CliError.
  std::uint64_t rewind();

  // The content as a stream. `on_read` (may be empty) is called with the
  // bytes read so far after each block, and once more with `done` when the
  // end is reached. The callback must not throw.
  std::istream& body(std::function<void(std::uint64_t read, bool done)> on_read = {});

 private:
  class Buffer;
  int fd_ = -1;
  std::unique_ptr<Buffer> buffer_;
  std::unique_ptr<std::istream> stream_;
};

}  // namespace berth::cli
