// Writing a file so that readers see either the old or the complete new
// content: a temporary file next to the destination, renamed over it on
// commit and removed otherwise, so an interrupted write never leaves a
// partial file under the requested name (Docker's CopyToFile and its config
// file saving do the same).
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

namespace berth::cli {

class AtomicFile {
 public:
  // `target`: the final path; its directory must exist. `mode`: the new
  // file's permission bits; -1 gives an ordinary file's 0666 minus the
  // umask. The temporary file is created on the first write (or on commit).
  explicit AtomicFile(std::string target, int mode = -1);
  // Removes the temporary file unless committed.
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  // Appends `data`. Throws CliError ("write <temp>: <errno text>").
  void write(std::string_view data);
  // fsyncs, closes and renames the temporary file over the target. Throws
  // CliError naming the step that failed.
  void commit();

 private:
  void open();

  std::string target_;
  int mode_;
  std::string temp_;
  int fd_ = -1;
};

}  // namespace berth::cli
