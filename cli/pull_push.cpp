// `berth pull` and `berth push`: the daemon does the transfer and streams
// Docker's progress messages, shown as bars on a terminal and as plain lines
// otherwise. Credentials from `berth login` go along as X-Registry-Auth.
#include "auth_config.hpp"
#include "command.hpp"
#include "json_stream.hpp"
#include "reference.hpp"

namespace berth::cli {

namespace {

struct PullOpts {
  std::string name;
  bool quiet = false;
  std::string platform;
};

// The X-Registry-Auth header for the registry `ref` lives on, when the user
// logged in there.
void add_auth(StreamRequest& req, const ImageReference& ref) {
  if (auto auth = registry_auth_header(ref.domain); !auth.empty()) req.headers.emplace_back("X-Registry-Auth", auth);
}

// Docker prints the normalised reference a pull or push was about.
std::string full_name(const ImageReference& ref) {
  std::string s = ref.domain + "/" + ref.path;
  if (!ref.tag.empty()) s += ":" + ref.tag;
  if (!ref.digest.empty()) s += "@" + ref.digest;
  return s;
}

void pull(Context& ctx, const PullOpts& o) {
  ImageReference ref = parse_normalized_named(o.name);
  if (ref.tag.empty() && ref.digest.empty()) {
    ref = with_default_tag(ref);
    if (!o.quiet) ctx.out << "Using default tag: " << ref.tag << "\n";
  }
  StreamRequest req;
  req.method = "POST";
  req.path = "/images/create?fromImage=" + query_escape(ref.familiar_name()) +
             "&tag=" + query_escape(ref.digest.empty() ? ref.tag : ref.digest);
  if (!o.platform.empty()) req.path += "&platform=" + query_escape(o.platform);
  add_auth(req, ref);
  show_json_response(ctx, req, {}, o.quiet);
  ctx.out << full_name(ref) << "\n";
}

struct PushOpts {
  std::string name;
  bool all_tags = false;
  bool quiet = false;
};

void push(Context& ctx, const PushOpts& o) {
  ImageReference ref = parse_normalized_named(o.name);
  if (!ref.digest.empty()) throw CliError("cannot push a digest reference");
  if (o.all_tags && !ref.tag.empty()) throw CliError("tag can't be used with --all-tags/-a");
  if (!o.all_tags && ref.tag.empty()) {
    ref = with_default_tag(ref);
    if (!o.quiet) ctx.out << "Using default tag: " << ref.tag << "\n";
  }
  StreamRequest req;
  req.method = "POST";
  req.path = "/images/" + ref.familiar_name() + "/push?tag=" + query_escape(ref.tag);
  add_auth(req, ref);
  show_json_response(ctx, req, {}, o.quiet);
  if (o.quiet) ctx.out << full_name(ref) << "\n";
}

}  // namespace

void configure_pull(CLI::App& cmd, Context& ctx) {
  auto o = std::make_shared<PullOpts>();
  cmd.add_option("NAME", o->name, "NAME[:TAG|@DIGEST]")->required();
  cmd.add_flag("-q,--quiet", o->quiet, "Suppress verbose output");
  cmd.add_option("--platform", o->platform, "Set platform if server is multi-platform capable");
  cmd.callback([&ctx, o] { pull(ctx, *o); });
}

void configure_push(CLI::App& cmd, Context& ctx) {
  auto o = std::make_shared<PushOpts>();
  cmd.add_option("NAME", o->name, "NAME[:TAG]")->required();
  cmd.add_flag("-a,--all-tags", o->all_tags, "Push all tagged images in the repository");
  cmd.add_flag("-q,--quiet", o->quiet, "Suppress verbose output");
  cmd.callback([&ctx, o] { push(ctx, *o); });
}

}  // namespace berth::cli
