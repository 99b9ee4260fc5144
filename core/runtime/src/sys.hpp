// System-call helpers shared by the runtime's files: errors in the runtime's
// wording, an owning file descriptor, whole-file reads and writes for /proc
// and cgroup files, and string splitting.
//
// Error texts follow Go's (and so Docker's) spelling of errno, lower case:
// "open /x: no such file or directory", so messages that reach a Docker
// client read like the ones runc produces.
#pragma once

#include <unistd.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "berth/core/error.hpp"
#include "berth/sdk/unique_fd.hpp"

namespace berth::runtime::detail {

using core::Errc;
using core::Error;
using core::Result;

// "what: <errno text in lower case>", with the error class of `err`.
Error sys_error(std::string_view what, int err);
// The same with the current errno.
Error sys_error(std::string_view what);
// errno's text in lower case ("no such file or directory").
std::string errno_text(int err);

using Fd = sdk::UniqueFd;

// The whole content of a (small) file.
Result<std::string> read_file(const std::string& path);
// The same, nullopt on any error: for files that may be missing.
std::optional<std::string> try_read(const std::string& path);
// Writes `content` with one write(2) to an existing file (O_WRONLY, no
// O_CREAT, no O_TRUNC): the way /proc and cgroup files are written.
Result<void> write_existing(const std::string& path, std::string_view content);
// Replaces `path` atomically (temporary file in the same directory, fsync,
// rename) with `content`, mode 0644.
Result<void> write_atomic(const std::string& path, std::string_view content);

// Splits at `sep`; empty fields are kept.
std::vector<std::string> split(std::string_view text, char sep);
std::string_view trim(std::string_view text);

// mkdir -p with `mode` for the directories it creates.
Result<void> make_dirs(const std::string& path, mode_t mode = 0755);

}  // namespace berth::runtime::detail
