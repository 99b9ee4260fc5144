// berth build (also `image build` and `builder build`): Docker's classic
// builder client, docker/cli command/image/build.go with DOCKER_BUILDKIT=0.
// The CLI makes the build context a tar (a local directory with its
// .dockerignore applied, or a tar or a Dockerfile read from stdin), sends it
// to POST /build and shows the daemon's JSON message stream.
//
// A Dockerfile outside the context directory, or read from stdin with -f -,
// goes into the tar under a random name (".dockerfile.<20 hex>"), which is
// also added to the tar's .dockerignore so that the daemon keeps it out of
// COPY and ADD (docker/cli build.AddDockerfileToBuildContext).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <berth/core/build/dockerfile.hpp>
#include <boost/json.hpp>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <regex>
#include <sstream>

#include "auth_config.hpp"
#include "command.hpp"
#include "container_opts.hpp"
#include "json_stream.hpp"
#include "reference.hpp"
#include "tar_writer.hpp"

namespace berth::cli {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using core::build::IgnoreMatcher;

constexpr const char* kDefaultDockerfile = "Dockerfile";

struct BuildOpts {
  std::string context, file, network = "default", target, iidfile, platform;
  std::vector<std::string> tags, build_args, labels, cache_from;
  bool no_cache = false, pull = false, quiet = false, rm = true, force_rm = false, compress = false;
};

// Go's error texts for errno values: strerror's, lower-case ("no such file
// or directory").
std::string go_errno(int err) {
  std::string text = std::strerror(err);
  if (!text.empty()) text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  return text;
}

// "berth build", "berth image build": the command as typed, for "See '...
// --help'".
std::string command_path(const CLI::App& cmd) {
  std::string path;
  for (const CLI::App* a = &cmd; a != nullptr; a = a->get_parent()) {
    path = a->get_name() + (path.empty() ? "" : " " + path);
  }
  return path;
}

// A flag value pflag's validator refuses: Docker's usage error (exit 125).
[[noreturn]] void flag_error(const CLI::App& cmd, const std::string& flag, const std::string& value,
                             const std::string& why) {
  throw CliError("berth: invalid argument \"" + value + "\" for \"" + flag + "\" flag: " + why +
                     "\nSee '" + command_path(cmd) + " --help'.",
                 125);
}

// The flags' values as the API takes them: --build-arg as ValidateEnv then
// ConvertKVStringsToMapWithNil ("k" without a value in our environment is
// null), --label as ConvertKVStringsToMap; keys sorted as Go's JSON maps.
struct BuildValues {
  json::object build_args, labels;
};

BuildValues validate(const CLI::App& cmd, const BuildOpts& o) {
  for (const auto& tag : o.tags) {
    try {
      parse_normalized_named(tag);
    } catch (const CliError& e) {
      flag_error(cmd, "-t, --tag", tag, e.what());
    }
  }
  std::map<std::string, std::optional<std::string>> args;
  for (const auto& value : o.build_args) {
    std::string kv;
    try {
      kv = validate_env(value);
    } catch (const std::invalid_argument& e) {
      flag_error(cmd, "--build-arg", value, e.what());
    }
    auto eq = kv.find('=');
    args[kv.substr(0, eq)] =
        eq == std::string::npos ? std::nullopt : std::optional(kv.substr(eq + 1));
  }
  std::map<std::string, std::string> labels;
  for (const auto& value : o.labels) {
    try {
      validate_label(value);
    } catch (const std::invalid_argument& e) {
      flag_error(cmd, "--label", value, e.what());
    }
    auto eq = value.find('=');
    labels[value.substr(0, eq)] = eq == std::string::npos ? "" : value.substr(eq + 1);
  }
  BuildValues v;
  for (const auto& [k, value] : args) {
    v.build_args[k] = value ? json::value(*value) : json::value(nullptr);
  }
  for (const auto& [k, value] : labels) v.labels[k] = value;
  return v;
}

// The query of POST /build, in the order Go's url.Values.Encode() puts
// Docker's parameters (sorted by name).
std::string build_query(const BuildOpts& o, const BuildValues& v, const std::string& dockerfile) {
  json::array cache_from;
  for (const auto& c : o.cache_from) cache_from.emplace_back(c);
  std::string platform = o.platform;
  for (auto& c : platform) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::vector<std::pair<std::string, std::string>> q{
      {"buildargs", json::serialize(v.build_args)},
      {"cachefrom", json::serialize(cache_from)},
      {"dockerfile", dockerfile},
  };
  if (o.force_rm) q.emplace_back("forcerm", "1");
  q.emplace_back("labels", json::serialize(v.labels));
  q.emplace_back("networkmode", o.network);
  if (o.no_cache) q.emplace_back("nocache", "1");
  if (!platform.empty()) q.emplace_back("platform", platform);
  if (o.pull) q.emplace_back("pull", "1");
  if (o.quiet) q.emplace_back("q", "1");
  q.emplace_back("rm", o.rm ? "1" : "0");
  for (const auto& t : o.tags) q.emplace_back("t", t);
  q.emplace_back("target", o.target);
  q.emplace_back("version", "1");
  std::string out;
  for (const auto& [name, value] : q) {
    out += (out.empty() ? "?" : "&") + name + "=" + query_escape(value);
  }
  return out;
}

// --- the context ---------------------------------------------------------------

// Docker's urlutil: what the CLI would clone or download.
bool is_url(const std::string& s) { return s.starts_with("http://") || s.starts_with("https://"); }
bool is_git_url(const std::string& s) {
  static const std::regex git_suffix(R"(\.git(?:#.+)?$)");
  if (is_url(s) && std::regex_search(s, git_suffix)) return true;
  return s.starts_with("git://") || s.starts_with("github.com/") || s.starts_with("git@");
}

// The archive magic docker/cli's IsArchive looks for in the first 1024
// bytes: a compressed stream (gzip, bzip2, xz, zstd), or a tar header
// whose checksum holds (Go's tar.Reader.Next).
bool is_archive(std::string_view head) {
  auto starts = [&](std::string_view magic) { return head.starts_with(magic); };
  using namespace std::string_view_literals;
  if (starts("\x1f\x8b\x08"sv) || starts("BZh"sv) || starts("\xfd\x37\x7a\x58\x5a\x00"sv) ||
      starts("\x28\xb5\x2f\xfd"sv)) {
    return true;
  }
  if (head.size() < 512) return false;
  std::string_view block = head.substr(0, 512);
  if (block.find_first_not_of('\0') == std::string_view::npos) return false;
  std::string_view field = block.substr(148, 8);
  auto first = field.find_first_not_of(" \0"sv);
  auto last = field.find_last_not_of(" \0"sv);
  if (first == std::string_view::npos) return false;
  field = field.substr(first, last - first + 1);
  std::int64_t recorded = 0;
  for (char c : field) {
    if (c < '0' || c > '7') return false;
    recorded = recorded * 8 + (c - '0');
  }
  std::int64_t unsigned_sum = 0, signed_sum = 0;
  for (std::size_t i = 0; i < 512; ++i) {
    char c = i >= 148 && i < 156 ? ' ' : block[i];
    unsigned_sum += static_cast<unsigned char>(c);
    signed_sum += static_cast<signed char>(c);
  }
  return recorded == unsigned_sum || recorded == signed_sum;
}

// Go's filepath.EvalSymlinks of an absolute path, with its error wording
// ("lstat /a/b: no such file or directory", naming the first missing
// component).
std::string eval_symlinks(const std::string& path, const std::string& failure) {
  std::error_code ec;
  fs::path resolved = fs::canonical(path, ec);
  if (!ec) return resolved.string();
  fs::path prefix;
  for (const auto& part : fs::path(path)) {
    prefix /= part;
    struct stat st {};
    if (::lstat(prefix.c_str(), &st) != 0) {
      throw CliError("unable to prepare context: " + failure + ": lstat " + prefix.string() + ": " +
                     go_errno(errno));
    }
  }
  throw CliError("unable to prepare context: " + failure + ": " + ec.message());
}

std::string random_hex(std::size_t n) {
  std::random_device rd;
  std::string out;
  static const char* kHex = "0123456789abcdef";
  while (out.size() < n) out += kHex[rd() % 16];
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw CliError("unable to open Dockerfile: open " + path + ": " + go_errno(errno));
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string read_all(std::istream& in) {
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The tar the daemon gets, spooled, and the `dockerfile` parameter.
struct PreparedContext {
  std::unique_ptr<Spool> spool;
  std::string dockerfile;
};

// A tar of the context directory `dir` (docker/cli GetContextFromLocalDir,
// ReadDockerignore, ValidateContextDirectory, TrimBuildFilesFromExcludes,
// archive.TarWithOptions), with `injected` (a Dockerfile's content) added
// under a random name when set.
PreparedContext tar_directory(const std::string& dir, const std::string& relative_dockerfile,
                              const std::optional<std::string>& injected, bool compress) {
  std::optional<std::string> ignore_text;
  std::string ignore_path = dir + "/.dockerignore";
  if (struct stat st{}; ::stat(ignore_path.c_str(), &st) == 0) {
    std::ifstream in(ignore_path, std::ios::binary);
    if (!in) throw CliError("open " + ignore_path + ": " + go_errno(errno));
    ignore_text = read_all(in);
  } else if (errno != ENOENT) {
    throw CliError("open " + ignore_path + ": " + go_errno(errno));
  }
  std::optional<IgnoreMatcher> matcher;
  if (ignore_text) {
    auto parsed = IgnoreMatcher::parse(*ignore_text);
    if (parsed.has_error()) throw CliError(parsed.error().message);
    // The daemon reads both from the context, and drops them from it
    // itself: they go even when the patterns exclude them.
    std::string patterns = *ignore_text;
    if (parsed.value().excluded(".dockerignore")) patterns += "\n!.dockerignore";
    if (!injected && parsed.value().excluded(relative_dockerfile)) {
      patterns += "\n!" + relative_dockerfile;
    }
    auto trimmed = IgnoreMatcher::parse(patterns);
    if (trimmed.has_error()) throw CliError(trimmed.error().message);
    matcher = std::move(trimmed).value();
  }

  std::string name = injected ? ".dockerfile." + random_hex(20) : relative_dockerfile;
  PreparedContext prepared{std::make_unique<Spool>("build"), name};
  TarWriter tar(prepared.spool->fd(), compress);
  TarTreeOptions options;
  options.root_owned = true;
  options.filter = [&](const std::string& relative, bool is_dir) {
    if (matcher && matcher->excluded(relative)) {
      return is_dir && matcher->may_include_below(relative) ? TarVisit::walk_only : TarVisit::skip;
    }
    // ValidateContextDirectory: what goes must be readable.
    std::string path = dir + "/" + relative;
    if (is_dir) {
      if (::access(path.c_str(), R_OK | X_OK) != 0 && errno == EACCES) {
        throw CliError("error checking context: can't stat '" + path + "'");
      }
    } else if (struct stat st{}; ::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
      if (fd < 0 && errno == EACCES) {
        throw CliError("error checking context: no permission to read from '" + path + "'");
      }
      if (fd >= 0) ::close(fd);
    }
    return TarVisit::include;
  };
  bool ignore_written = false;
  if (injected) {
    options.replace = [&](const std::string& relative) -> std::optional<std::string> {
      if (relative != ".dockerignore") return std::nullopt;
      ignore_written = true;
      return ignore_text.value_or("") + "\n" + name + "\n";
    };
  }
  tar.add_tree(dir, options);
  if (injected) {
    std::time_t now = std::time(nullptr);
    if (!ignore_written) tar.add_file(".dockerignore", ".dockerignore\n" + name + "\n", 0600, now);
    tar.add_file(name, *injected, 0600, now);
  }
  tar.finish();
  return prepared;
}

PreparedContext prepare_context(Context& ctx, const BuildOpts& o) {
  bool dockerfile_stdin = o.file == "-";
  if (o.context == "-") {
    // GetContextFromReader: a tar (maybe compressed) goes as it is; anything
    // else is a Dockerfile.
    auto spool = std::make_unique<Spool>("build");
    spool->append(ctx.in);
    std::uint64_t size = spool->rewind();
    std::string head(static_cast<std::size_t>(std::min<std::uint64_t>(size, 1024)), '\0');
    if (::pread(spool->fd(), head.data(), head.size(), 0) != static_cast<ssize_t>(head.size())) {
      throw CliError("unable to prepare context: failed to peek context header from STDIN: " +
                     go_errno(errno));
    }
    if (is_archive(head)) return {std::move(spool), o.file};
    if (!o.file.empty()) {
      throw CliError(
          "unable to prepare context: ambiguous Dockerfile source: both stdin and flag "
          "correspond to Dockerfiles");
    }
    std::string dockerfile(static_cast<std::size_t>(size), '\0');
    if (::pread(spool->fd(), dockerfile.data(), dockerfile.size(), 0) !=
        static_cast<ssize_t>(dockerfile.size())) {
      throw CliError("read standard input: " + go_errno(errno));
    }
    PreparedContext prepared{std::make_unique<Spool>("build"), kDefaultDockerfile};
    TarWriter tar(prepared.spool->fd(), o.compress);
    tar.add_file(kDefaultDockerfile, dockerfile, 0644, std::time(nullptr));
    tar.finish();
    return prepared;
  }
  struct stat st {};
  if (::stat(o.context.c_str(), &st) != 0) {
    if (is_git_url(o.context)) {
      throw CliError("unable to prepare context: git repository contexts are not supported");
    }
    if (is_url(o.context)) {
      throw CliError("unable to prepare context: remote URL contexts are not supported");
    }
    throw CliError("unable to prepare context: path \"" + o.context + "\" not found");
  }
  // ResolveAndValidateContextPath
  std::string dir = eval_symlinks(fs::absolute(o.context).lexically_normal().string(),
                                  "unable to evaluate symlinks in context path");
  if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    throw CliError("unable to prepare context: context must be a directory: " + dir);
  }
  // getDockerfileRelPath: -f is relative to the working directory; without
  // it, Dockerfile in the context (or "dockerfile" when only that exists).
  std::optional<std::string> injected;
  std::string relative = "-";
  if (dockerfile_stdin) {
    injected = read_all(ctx.in);
  } else {
    std::string path;
    if (o.file.empty()) {
      path = dir + "/" + kDefaultDockerfile;
      std::string lower = dir + "/dockerfile";
      struct stat dst {};
      if (::lstat(path.c_str(), &dst) != 0 && errno == ENOENT &&
          ::lstat(lower.c_str(), &dst) == 0) {
        path = lower;
      }
    } else {
      path = fs::absolute(o.file).lexically_normal().string();
    }
    std::string resolved = eval_symlinks(path, "unable to evaluate symlinks in Dockerfile path");
    relative = fs::path(resolved).lexically_relative(dir).string();
    if (relative.starts_with("../")) injected = read_file(o.file);
  }
  return tar_directory(dir, relative, injected, o.compress);
}

// --- sending -------------------------------------------------------------------

// "Sending build context to Docker daemon  12.29kB" (Docker's progress
// reader through its raw progress formatter): redrawn with "\r" on a
// terminal at most every 100ms per 512kB, shown once at the end elsewhere,
// then "\r\n".
class UploadProgress {
 public:
  UploadProgress(std::ostream& out, bool terminal) : out_(out), terminal_(terminal) {}

  void operator()(std::uint64_t read, bool done) {
    constexpr std::uint64_t kUpdateEvery = 512 * 1024;
    auto now = std::chrono::steady_clock::now();
    if (!done) {
      if (read - last_update_ <= kUpdateEvery) return;
      last_update_ = read;
      if (!terminal_ || now - last_shown_ < std::chrono::milliseconds(100)) return;
    }
    last_shown_ = now;
    char size[32];
    std::snprintf(size, sizeof size, "%8s", human_size(static_cast<double>(read)).c_str());
    out_ << "Sending build context to Docker daemon " << size << "\r";
    if (done) out_ << "\r\n";
    out_.flush();
  }

 private:
  std::ostream& out_;
  bool terminal_;
  std::uint64_t last_update_ = 0;
  std::chrono::steady_clock::time_point last_shown_{};
};

void remove_iidfile(const std::string& path) {
  if (path.empty()) return;
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    throw CliError("Removing image ID file: remove " + path + ": " + go_errno(errno));
  }
}

void write_iidfile(const std::string& path, const std::string& id) {
  if (id.empty()) {
    throw CliError("Server did not provide an image ID. Cannot write " + path);
  }
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) throw CliError("open " + path + ": " + go_errno(errno));
  ssize_t n = ::write(fd, id.data(), id.size());
  int err = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(id.size())) throw CliError("write " + path + ": " + go_errno(err));
}

void build(Context& ctx, const CLI::App& cmd, const BuildOpts& o) {
  BuildValues values = validate(cmd, o);
  if (o.file == "-" && o.context == "-") {
    throw CliError("invalid argument: can't use stdin for both build context and dockerfile");
  }
  remove_iidfile(o.iidfile);
  PreparedContext prepared = prepare_context(ctx, o);
  std::uint64_t size = prepared.spool->rewind();

  // With -q nothing shows unless the build fails; then what was held back
  // goes to stderr with the error.
  std::ostringstream held_progress, held_output;
  std::ostream& progress_out = o.quiet ? static_cast<std::ostream&>(held_progress) : ctx.out;
  std::ostream& build_out = o.quiet ? static_cast<std::ostream&>(held_output) : ctx.out;
  bool terminal = ctx.out_is_terminal();
  auto show_held = [&] {
    if (o.quiet) ctx.err << held_progress.str() << held_output.str() << std::flush;
  };

  StreamRequest req;
  req.method = "POST";
  req.path = "/build" + build_query(o, values, prepared.dockerfile);
  req.content_type = "application/x-tar";
  req.content_length = size;
  req.body = &prepared.spool->body(UploadProgress(progress_out, terminal));
  req.headers.emplace_back("X-Registry-Config", registry_config_header());

  std::string image_id;
  JsonStreamDisplay::Options options;
  options.terminal = terminal && !o.quiet;
  options.width = options.terminal ? terminal_width(STDOUT_FILENO) : 200;
  options.error_code_exit = true;
  options.on_aux = [&](const json::value& aux) {
    const auto* id = aux.is_object() ? aux.get_object().if_contains("ID") : nullptr;
    if (id != nullptr && id->is_string()) image_id = id->get_string();
  };
  JsonStreamDisplay display(build_out, options);
  try {
    Response r = ctx.client().stream(
        req, [&](const Response&, std::string_view chunk) { display.feed(chunk); });
    check_response(r);
    display.finish();
  } catch (const CliError&) {
    show_held();
    throw;
  }
  ctx.out.flush();
  if (o.quiet) {
    // The daemon's quiet output is the ID alone; the aux message says the
    // same for a daemon that prints more.
    if (!image_id.empty()) {
      ctx.out << image_id << "\n";
    } else {
      ctx.out << held_output.str();
    }
    ctx.out.flush();
  }
  if (!o.iidfile.empty()) write_iidfile(o.iidfile, image_id);
}

}  // namespace

void configure_build(CLI::App& cmd, Context& ctx) {
  auto o = std::make_shared<BuildOpts>();
  cmd.add_option("PATH", o->context,
                 "The build context: a directory, or - for a tar or a "
                 "Dockerfile on stdin")
      ->required();
  cmd.add_option("--build-arg", o->build_args, "Set build-time variables")->allow_extra_args(false);
  cmd.add_option("--cache-from", o->cache_from, "Images to consider as cache sources")
      ->allow_extra_args(false)
      ->delimiter(',');
  cmd.add_flag("--compress", o->compress, "Compress the build context using gzip");
  cmd.add_option("-f,--file", o->file, "Name of the Dockerfile (Default is \"PATH/Dockerfile\")");
  cmd.add_flag("--force-rm", o->force_rm, "Always remove intermediate containers");
  cmd.add_option("--iidfile", o->iidfile, "Write the image ID to the file");
  cmd.add_option("--label", o->labels, "Set metadata for an image")->allow_extra_args(false);
  cmd.add_option("--network", o->network,
                 "Set the networking mode for the RUN instructions during build (default "
                 "\"default\")");
  cmd.add_flag("--no-cache", o->no_cache, "Do not use cache when building the image");
  cmd.add_option("--platform", o->platform, "Set platform if server is multi-platform capable");
  cmd.add_flag("--pull", o->pull, "Always attempt to pull a newer version of the image");
  cmd.add_flag("-q,--quiet", o->quiet, "Suppress the build output and print image ID on success");
  cmd.add_flag("--rm", o->rm,
               "Remove intermediate containers after a successful build (default true)");
  cmd.add_option("-t,--tag", o->tags, "Name and optionally a tag in the \"name:tag\" format")
      ->allow_extra_args(false);
  cmd.add_option("--target", o->target, "Set the target build stage to build.");
  cmd.callback([&ctx, &cmd, o] { build(ctx, cmd, *o); });
}

}  // namespace berth::cli
