// berth cp: copies between a container and the local filesystem, as
// docker/cli's cp.go with the client half of moby's pkg/archive/copy.go.
// The daemon only stats paths (HEAD archive), sends a tar of one path (GET)
// and extracts a tar into one existing directory (PUT); deciding names is
// the client's work: a file copied to a new name, a directory to a path that
// does not exist yet, "dir/." for a directory's contents, symlinks followed
// with -L. Tars are made and unpacked with libarchive; one going to the
// daemon is spooled to an unlinked temporary file first so that it is sent
// with its length.
//
// Unpacking on this host refuses names with "..", absolute names and paths
// through symlinks (libarchive's SECURE flags, relative to the destination
// directory), so a hostile container cannot write outside the destination.
// Tars going out are written by TarWriter (tar_writer.hpp).
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>

#include "auth_config.hpp"
#include "command.hpp"
#include "container_common.hpp"
#include "tar_writer.hpp"

namespace berth::cli {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

struct CpOpts {
  std::string source, destination;
  bool follow_link = false, copy_uid_gid = false, quiet = false;
};

// Where a copy reads from or writes to (moby's archive.CopyInfo).
struct CopyInfo {
  std::string path;
  bool exists = false, is_dir = false;
  std::string rebase_name;
};

// --- Go's path/filepath and moby's path helpers ---------------------------------

bool has_trailing_separator(const std::string& p) { return !p.empty() && p.back() == '/'; }

std::string go_clean(const std::string& p) {
  if (p.empty()) return ".";
  std::string out = fs::path(p).lexically_normal().string();
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out.empty() ? "." : out;
}

std::string go_base(std::string p) {
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  if (p.empty()) return ".";
  if (p == "/") return "/";
  auto slash = p.rfind('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

std::string go_dir(const std::string& p) {
  auto slash = p.rfind('/');
  if (slash == std::string::npos) return ".";
  return go_clean(p.substr(0, slash + 1));
}

bool specifies_current_dir(const std::string& p) { return go_base(p) == "."; }

// archive.SplitPathDirEntry
std::pair<std::string, std::string> split_dir_entry(const std::string& path) {
  std::string cleaned = go_clean(path);
  if (specifies_current_dir(path)) cleaned += "/.";
  return {go_dir(cleaned), go_base(cleaned)};
}

// archive.PreserveTrailingDotOrSeparator
std::string preserve_trailing(std::string cleaned, const std::string& original) {
  if (!specifies_current_dir(cleaned) && specifies_current_dir(original)) {
    if (!has_trailing_separator(cleaned)) cleaned += "/";
    cleaned += ".";
  }
  if (!has_trailing_separator(cleaned) && has_trailing_separator(original)) cleaned += "/";
  return cleaned;
}

// archive.GetRebaseName
std::pair<std::string, std::string> rebase_name(const std::string& path, std::string resolved) {
  if (specifies_current_dir(path) && !specifies_current_dir(resolved)) resolved += "/.";
  if (has_trailing_separator(path) && !has_trailing_separator(resolved)) resolved += "/";
  return {resolved, go_base(path) != go_base(resolved) ? go_base(path) : std::string()};
}

std::string resolve_local_path(const std::string& p) {
  return preserve_trailing(go_clean(fs::absolute(p).string()), p);
}

// docker cp's splitCpArg: "container:path", or a local path.
std::pair<std::string, std::string> split_cp_arg(const std::string& arg) {
  if (arg.starts_with("/")) return {"", arg};
  auto colon = arg.find(':');
  if (colon == std::string::npos || arg.starts_with(".")) return {"", arg};
  return {arg.substr(0, colon), arg.substr(colon + 1)};
}

[[noreturn]] void fail_errno(const std::string& what, int err) {
  throw CliError(what + ": " + std::strerror(err));
}

// --- talking to the daemon -----------------------------------------------------

struct PathStat {
  bool is_dir = false, is_symlink = false;
  std::uint32_t mode = 0;
  std::string link_target;
};

std::string archive_api_path(const std::string& container, const std::string& path) {
  return "/containers/" + path_escape(container) + "/archive?path=" + query_escape(path);
}

PathStat decode_stat(const std::string& header) {
  PathStat s;
  json::error_code ec;
  json::value v = json::parse(base64_decode(header), ec);
  if (ec || !v.is_object()) return s;
  const auto& o = v.get_object();
  if (const auto* m = o.if_contains("mode"); m != nullptr && m->is_number()) {
    s.mode = static_cast<std::uint32_t>(m->to_number<std::uint64_t>());
  }
  s.is_dir = (s.mode & (1u << 31)) != 0;
  s.is_symlink = (s.mode & (1u << 27)) != 0;
  if (const auto* t = o.if_contains("linkTarget"); t != nullptr && t->is_string())
    s.link_target = t->get_string();
  return s;
}

// HEAD archive: the stat of a container path; nullopt when it fails (the
// caller carries on as Docker's CLI does).
std::optional<PathStat> stat_path(Context& ctx, const std::string& container,
                                  const std::string& path) {
  Response r = ctx.client().request("HEAD", archive_api_path(container, path));
  if (r.status != 200) return std::nullopt;
  return decode_stat(r.path_stat);
}

// Counts what goes through for "Successfully copied ...".
struct Progress {
  bool quiet = false;
  std::uint64_t bytes = 0;
  void done(Context& ctx, const std::string& where) const {
    if (!quiet)
      ctx.err << "Successfully copied " << human_size(static_cast<double>(bytes), 3) << " to "
              << where << "\n";
  }
};

// --- the local side --------------------------------------------------------------

// archive.CopyInfoDestinationPath
CopyInfo destination_info(std::string path) {
  const std::string original = path;
  struct stat st {};
  int rc = ::lstat(path.c_str(), &st);
  for (int n = 0; rc == 0 && S_ISLNK(st.st_mode); ++n) {
    if (n > 10) throw CliError("too many symlinks in " + original);
    std::string target = fs::read_symlink(path).string();
    if (!target.starts_with("/")) target = go_clean(split_dir_entry(path).first + "/" + target);
    path = target;
    rc = ::lstat(path.c_str(), &st);
  }
  if (rc == 0) return {path, true, S_ISDIR(st.st_mode), {}};
  if (errno != ENOENT) fail_errno("lstat " + path, errno);
  std::string parent = split_dir_entry(path).first;
  struct stat pst {};
  if (::stat(parent.c_str(), &pst) != 0) fail_errno("stat " + parent, errno);
  if (!S_ISDIR(pst.st_mode)) throw CliError("not a directory");
  return {path, false, false, {}};
}

// archive.PrepareArchiveCopy: the directory to extract into and the name
// the source's top entry takes there ("" keeps it).
std::pair<std::string, std::string> prepare_copy(const CopyInfo& src, const CopyInfo& dst) {
  auto [dst_dir, dst_base] = split_dir_entry(dst.path);
  if (dst.exists && dst.is_dir) return {dst.path, ""};
  if (dst.exists && src.is_dir) throw CliError("cannot copy directory");
  if (!dst.exists && !src.is_dir &&
      (has_trailing_separator(dst.path) || specifies_current_dir(dst.path))) {
    throw CliError("no such directory");
  }
  return {dst_dir, dst_base};
}

// A name with its top component `from` renamed to `to`.
std::string rebase(const std::string& name, const std::string& from, const std::string& to) {
  if (from.empty() || to.empty() || from == "/") return name;
  if (name == from || name.starts_with(from + "/")) return to + name.substr(from.size());
  return name;
}

// Unpacks the tar that `read` yields into `dir` (Docker's Untar with
// NoLchown and NoOverwriteDirNonDir), renaming the top entry `from` to `to`.
void untar(const std::function<std::size_t(char*, std::size_t)>& read, const std::string& dir,
           const std::string& from, const std::string& to) {
  struct Source {
    const std::function<std::size_t(char*, std::size_t)>* read;
    std::vector<char> buf = std::vector<char>(1 << 16);
  } source{&read};
  std::unique_ptr<struct archive, decltype(&archive_read_free)> in(archive_read_new(),
                                                                   &archive_read_free);
  std::unique_ptr<struct archive, decltype(&archive_write_free)> disk(archive_write_disk_new(),
                                                                      &archive_write_free);
  archive_read_support_format_tar(in.get());
  archive_read_support_filter_all(in.get());
  archive_write_disk_set_options(
      disk.get(), ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                      ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS);
  auto on_read = [](struct archive*, void* self, const void** out) -> la_ssize_t {
    auto* s = static_cast<Source*>(self);
    *out = s->buf.data();
    return static_cast<la_ssize_t>((*s->read)(s->buf.data(), s->buf.size()));
  };
  if (archive_read_open(in.get(), &source, nullptr, on_read, nullptr) != ARCHIVE_OK) {
    throw CliError(std::string("read tar: ") + archive_error_string(in.get()));
  }
  // Names are relative to `dir`, so the SECURE checks start there.
  int cwd = ::open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cwd < 0) fail_errno("open the working directory", errno);
  if (::chdir(dir.c_str()) != 0) {
    int err = errno;
    ::close(cwd);
    fail_errno("chdir " + dir, err);
  }
  struct Back {
    int fd;
    ~Back() {
      if (::fchdir(fd) != 0) {
      }
      ::close(fd);
    }
  } back{cwd};
  auto check = [&](int r, struct archive* a) {
    if (r < ARCHIVE_WARN) throw CliError(std::string("extract: ") + archive_error_string(a));
  };
  for (;;) {
    archive_entry* e = nullptr;
    int r = archive_read_next_header(in.get(), &e);
    if (r == ARCHIVE_EOF) break;
    check(r, in.get());
    std::string name = rebase(archive_entry_pathname(e), from, to);
    archive_entry_copy_pathname(e, name.c_str());
    if (const char* link = archive_entry_hardlink(e); link != nullptr) {
      archive_entry_copy_hardlink(e, rebase(link, from, to).c_str());
    }
    struct stat st {};
    std::string bare = go_clean(name);
    bool entry_dir = archive_entry_filetype(e) == AE_IFDIR;
    if (bare != "." && ::lstat(bare.c_str(), &st) == 0) {
      std::string where = go_clean(dir + "/" + bare);
      if (S_ISDIR(st.st_mode) && !entry_dir) {
        throw CliError("cannot overwrite directory \"" + where + "\" with non-directory \"" + dir +
                       "\"");
      }
      if (!S_ISDIR(st.st_mode) && entry_dir) {
        throw CliError("cannot overwrite non-directory \"" + where + "\" with directory \"" + dir +
                       "\"");
      }
    }
    check(archive_write_header(disk.get(), e), disk.get());
    const void* block = nullptr;
    size_t size = 0;
    la_int64_t offset = 0;
    while ((r = archive_read_data_block(in.get(), &block, &size, &offset)) != ARCHIVE_EOF) {
      check(r, in.get());
      check(static_cast<int>(archive_write_data_block(disk.get(), block, size, offset)),
            disk.get());
    }
    check(archive_write_finish_entry(disk.get()), disk.get());
  }
  check(archive_write_close(disk.get()), disk.get());
}

// A tar of `src` (its top entry named `top`) in a spool
// (archive.TarResource).
std::unique_ptr<Spool> tar_local(const std::string& src, const std::string& top) {
  auto spool = std::make_unique<Spool>("cp");
  TarWriter tar(spool->fd());
  TarTreeOptions options;
  options.top = top;
  tar.add_tree(src, options);
  tar.finish();
  return spool;
}

// --- the two directions -------------------------------------------------------------

void copy_from_container(Context& ctx, const std::string& container, std::string src,
                         std::string dst, const CpOpts& o) {
  if (dst != "-") {
    dst = resolve_local_path(dst);
    std::string dir = go_dir(go_clean(dst));
    std::error_code ec;
    if (!fs::exists(dir, ec))
      throw CliError("invalid output path: directory \"" + dir + "\" does not exist");
  }
  std::string rebase_to;
  if (o.follow_link) {
    if (auto st = stat_path(ctx, container, src); st && st->is_symlink) {
      std::string target = st->link_target;
      if (!target.starts_with("/")) target = go_clean(split_dir_entry(src).first + "/" + target);
      std::tie(src, rebase_to) = rebase_name(src, target);
    }
  }
  auto conn = ctx.client().open({"GET", archive_api_path(container, src), "", "", false});
  Response head = conn->head();
  if (head.status < 200 || head.status >= 300) {
    head.body = conn->read_all();
    check_response(head);
  }
  Progress progress{o.quiet};
  auto read = [&](char* buf, std::size_t cap) {
    std::size_t n = conn->read_some(buf, cap);
    progress.bytes += n;
    return n;
  };
  if (dst == "-") {
    std::vector<char> buf(1 << 16);
    while (std::size_t n = conn->read_some(buf.data(), buf.size())) {
      if (!ctx.out.write(buf.data(), static_cast<std::streamsize>(n)))
        fail_errno("write standard output", errno);
    }
    ctx.out.flush();
    return;
  }
  CopyInfo src_info{src, true, decode_stat(head.path_stat).is_dir, rebase_to};
  CopyInfo dst_info = destination_info(dst);
  auto [dst_dir, dst_base] = prepare_copy(src_info, dst_info);
  // The daemon names the top entry after the path asked for; it takes the
  // destination's name, or into an existing directory the name asked for
  // before -L followed a link.
  std::string from = split_dir_entry(src).second;
  untar(read, dst_dir, from, !dst_base.empty() ? dst_base : (rebase_to.empty() ? from : rebase_to));
  progress.done(ctx, dst);
}

void copy_to_container(Context& ctx, const std::string& container, std::string src,
                       const std::string& dst, const CpOpts& o) {
  CopyInfo dst_info{dst};
  auto st = stat_path(ctx, container, dst);
  if (st && st->is_symlink) {
    std::string target = st->link_target;
    if (!target.starts_with("/")) target = go_clean(split_dir_entry(dst).first + "/" + target);
    dst_info.path = target;
    st = stat_path(ctx, container, target);
  }
  if (st) {
    constexpr std::uint32_t kIrregular =
        (1u << 27) | (1u << 25) | (1u << 24) | (1u << 26) | (1u << 21);
    if ((st->mode & kIrregular) != 0) {
      throw CliError("destination \"" + container + ":" + dst +
                     "\" must be a directory or a regular file");
    }
    dst_info.exists = true;
    dst_info.is_dir = st->is_dir;
  }
  std::string dst_dir;
  std::unique_ptr<Spool> spooled;
  std::istream* body = nullptr;
  std::optional<std::uint64_t> length;
  if (src == "-") {
    if (!dst_info.is_dir)
      throw CliError("destination \"" + container + ":" + dst + "\" must be a directory");
    dst_dir = dst_info.path;
    body = &ctx.in;
  } else {
    src = resolve_local_path(src);
    // archive.CopyInfoSourcePath: symlinks resolved up to the last
    // component, or all of them with -L.
    std::string resolved, rebase_to;
    std::error_code ec;
    if (o.follow_link) {
      auto canonical = fs::canonical(src, ec);
      if (ec) fail_errno("lstat " + src, ENOENT);
      std::tie(resolved, rebase_to) = rebase_name(src, canonical.string());
    } else {
      auto [dir, base] =
          std::pair{src.substr(0, src.rfind('/') + 1), src.substr(src.rfind('/') + 1)};
      auto canonical_dir = fs::canonical(dir.empty() ? "." : dir, ec);
      if (ec) fail_errno("lstat " + src, ENOENT);
      resolved = canonical_dir.string() + (canonical_dir == "/" ? "" : "/") + base;
      if (has_trailing_separator(src) && go_base(src) != go_base(resolved))
        rebase_to = go_base(src);
    }
    struct stat sst {};
    if (::lstat(resolved.c_str(), &sst) != 0) fail_errno("lstat " + resolved, errno);
    CopyInfo src_info{resolved, true, S_ISDIR(sst.st_mode), rebase_to};
    auto [source_dir, source_base] = split_dir_entry(resolved);
    auto [dir, dst_base] = prepare_copy(src_info, dst_info);
    dst_dir = dir;
    std::string top = dst_base.empty() ? (rebase_to.empty() ? source_base : rebase_to) : dst_base;
    std::string walk =
        source_base == "." ? source_dir + "/." : go_clean(source_dir + "/" + source_base);
    if (source_dir == "/" && source_base != ".") walk = "/" + source_base;
    spooled = tar_local(walk, top == "." ? "." : top);
    length = spooled->rewind();
    body = &spooled->body();
  }
  StreamRequest req;
  req.method = "PUT";
  req.path = archive_api_path(container, dst_dir) + "&noOverwriteDirNonDir=true" +
             (o.copy_uid_gid ? "&copyUIDGID=true" : "");
  req.content_type = "application/x-tar";
  req.body = body;
  req.content_length = length;
  Response r = ctx.client().stream(req, [](const Response&, std::string_view) {});
  check_response(r);
  Progress progress{o.quiet, length.value_or(0)};
  progress.done(ctx, container + ":" + dst_info.path);
}

void cp(Context& ctx, CpOpts o, bool quiet_given) {
  if (o.source.empty()) throw CliError("source can not be empty");
  if (o.destination.empty()) throw CliError("destination can not be empty");
  // Without -q, progress only on a terminal.
  if (!quiet_given) o.quiet = !ctx.out_is_terminal();
  auto [src_container, src_path] = split_cp_arg(o.source);
  auto [dst_container, dst_path] = split_cp_arg(o.destination);
  if (!src_container.empty() && !dst_container.empty())
    throw CliError("copying between containers is not supported");
  if (!src_container.empty()) return copy_from_container(ctx, src_container, src_path, dst_path, o);
  if (!dst_container.empty()) return copy_to_container(ctx, dst_container, src_path, dst_path, o);
  throw CliError("must specify at least one container source");
}

}  // namespace

void configure_cp(CLI::App& cmd, Context& ctx) {
  auto o = std::make_shared<CpOpts>();
  cmd.footer(
      "Usage:  berth cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n"
      "        berth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH\n\n"
      "Use '-' as the source to read a tar archive from stdin and extract it to a directory "
      "destination in a "
      "container.\nUse '-' as the destination to stream a tar archive of a container source to "
      "stdout.");
  cmd.add_option("SRC", o->source, "Source: CONTAINER:SRC_PATH, a local path or -")->required();
  cmd.add_option("DEST", o->destination, "Destination: CONTAINER:DEST_PATH, a local path or -")
      ->required();
  cmd.add_flag("-a,--archive", o->copy_uid_gid, "Archive mode (copy all uid/gid information)");
  cmd.add_flag("-L,--follow-link", o->follow_link, "Always follow symbol link in SRC_PATH");
  auto* quiet = cmd.add_flag(
      "-q,--quiet", o->quiet,
      "Suppress progress output during copy. Progress output is automatically suppressed if "
      "no terminal is attached");
  cmd.callback([&ctx, o, quiet] { cp(ctx, *o, quiet->count() > 0); });
}

}  // namespace berth::cli
