// berth save, load and import: image tars to and from the daemon, streamed
// both ways so an image of any size never sits in memory whole.
#include "atomic_file.hpp"
#include "command.hpp"
#include "json_stream.hpp"
#include "reference.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace berth::cli {
namespace fs = std::filesystem;

namespace {

std::string errno_text(int err) { return std::strerror(err); }

// The request body: a file (with its size, so it goes with Content-Length)
// or standard input (chunked).
struct Upload {
  std::ifstream file;
  std::istream* stream = nullptr;
  std::optional<std::uint64_t> size;

  Upload(Context& ctx, const std::string& path) {
    if (path.empty() || path == "-") {
      stream = &ctx.in;
      return;
    }
    file.open(path, std::ios::binary);
    if (!file) throw CliError("open " + path + ": " + errno_text(errno));
    std::error_code ec;
    if (fs::is_regular_file(path, ec)) {
      auto n = fs::file_size(path, ec);
      if (!ec) size = n;
    }
    stream = &file;
  }
};

// Docker's ValidateOutputPath; `failure` starts each message ("failed to
// save image").
void validate_output_path(const std::string& path, const std::string& failure) {
  fs::path p = fs::path(path).lexically_normal();
  fs::path dir = p.parent_path();
  std::error_code ec;
  if (!dir.empty() && dir != "." && !fs::exists(dir, ec)) {
    throw CliError(failure + ": invalid output path: directory \"" + dir.string() + "\" does not exist");
  }
  if (fs::exists(p, ec)) {
    if (fs::is_directory(p, ec)) {
      throw CliError(failure + ": invalid output path: \"" + path + "\" is a directory");
    }
    if (::access(path.c_str(), W_OK) != 0) {
      throw CliError(failure + ": invalid output path: \"" + path + "\" is not writable");
    }
  }
}

}  // namespace

void download_tar(Context& ctx, const std::string& api_path, const std::string& output,
                  const std::string& failure) {
  if (output.empty() && ctx.out_is_terminal()) {
    throw CliError("cowardly refusing to save to a terminal. Use the -o flag or redirect");
  }
  if (!output.empty()) validate_output_path(output, failure);
  StreamRequest req;
  req.method = "GET";
  req.path = api_path;
  std::optional<AtomicFile> file;
  if (!output.empty()) file.emplace(output);
  Response r = ctx.client().stream(req, [&](const Response&, std::string_view chunk) {
    if (file) {
      file->write(chunk);
    } else if (!ctx.out.write(chunk.data(), static_cast<std::streamsize>(chunk.size()))) {
      throw CliError("write standard output: " + errno_text(errno));
    }
  });
  check_response(r);
  if (file) {
    file->commit();
  } else if (!ctx.out.flush()) {
    throw CliError("write standard output: " + errno_text(errno));
  }
}

namespace {

struct SaveOpts {
  std::string output;
  std::vector<std::string> images;
};

void save(Context& ctx, const SaveOpts& o) {
  std::string path = "/images/get";
  for (std::size_t i = 0; i < o.images.size(); ++i) {
    path += (i == 0 ? "?names=" : "&names=") + query_escape(o.images[i]);
  }
  download_tar(ctx, path, o.output, "failed to save image");
}

struct LoadOpts {
  std::string input;
  bool quiet = false;
};

void load(Context& ctx, LoadOpts o) {
  if (o.input.empty() && ctx.in_is_terminal()) {
    throw CliError("requested load from stdin, but stdin is empty");
  }
  // Like Docker: progress only on a terminal.
  if (!ctx.out_is_terminal()) o.quiet = true;
  Upload body(ctx, o.input);
  StreamRequest req;
  req.method = "POST";
  req.path = o.quiet ? "/images/load?quiet=1" : "/images/load?quiet=0";
  req.content_type = "application/x-tar";
  req.body = body.stream;
  req.content_length = body.size;
  show_json_response(ctx, req);
}

struct ImportOpts {
  std::string source;
  std::string reference;
  std::string message;
  std::vector<std::string> changes;
  std::string platform;
};

void import(Context& ctx, const ImportOpts& o) {
  if (!o.reference.empty()) parse_normalized_named(o.reference);
  bool url = o.source.starts_with("http://") || o.source.starts_with("https://");
  std::optional<Upload> body;
  if (!url) body.emplace(ctx, o.source);
  StreamRequest req;
  req.method = "POST";
  req.path = "/images/create?fromSrc=" + query_escape(url ? o.source : "-") +
             "&repo=" + query_escape(o.reference) + "&tag=&message=" + query_escape(o.message);
  if (!o.platform.empty()) req.path += "&platform=" + query_escape(o.platform);
  for (const auto& c : o.changes) req.path += "&changes=" + query_escape(c);
  if (body) {
    req.body = body->stream;
    req.content_length = body->size;
  }
  show_json_response(ctx, req);
}

}  // namespace

void configure_save(CLI::App& cmd, Context& ctx) {
  auto o = std::make_shared<SaveOpts>();
  cmd.add_option("IMAGE", o->images, "Images to save")->required();
  cmd.add_option("-o,--output", o->output, "Write to a file, instead of STDOUT");
  cmd.callback([&ctx, o] { save(ctx, *o); });
}

void configure_load(CLI::App& cmd, Context& ctx) {
  auto o = std::make_shared<LoadOpts>();
  cmd.add_option("-i,--input", o->input, "Read from tar archive file, instead of STDIN");
  cmd.add_flag("-q,--quiet", o->quiet, "Suppress the load output");
  cmd.callback([&ctx, o] { load(ctx, *o); });
}

void configure_import(CLI::App& cmd, Context& ctx) {
  auto o = std::make_shared<ImportOpts>();
  cmd.add_option("file", o->source, "A tar file, a URL, or - for STDIN")->required();
  cmd.add_option("REPOSITORY", o->reference, "Name of the new image (REPOSITORY[:TAG])");
  cmd.add_option("-m,--message", o->message, "Set commit message for imported image");
  cmd.add_option("-c,--change", o->changes, "Apply Dockerfile instruction to the created image")
      ->allow_extra_args(false);
  cmd.add_option("--platform", o->platform, "Set platform if server is multi-platform capable");
  cmd.callback([&ctx, o] { import(ctx, *o); });
}

}  // namespace berth::cli
