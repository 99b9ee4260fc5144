// berth tag / berth image tag: another name for an image.
#include "command.hpp"
#include "reference.hpp"

namespace berth::cli {

namespace {

struct Opts {
  std::string source, target;
};

void run(Context& ctx, const Opts& o) {
  try {
    check_any_reference(o.source);
  } catch (const CliError& e) {
    throw CliError("Error parsing reference: \"" + o.source +
                   "\" is not a valid repository/tag: " + e.what());
  }
  ImageReference ref;
  try {
    ref = parse_normalized_named(o.target);
  } catch (const CliError& e) {
    throw CliError("Error parsing reference: \"" + o.target +
                   "\" is not a valid repository/tag: " + e.what());
  }
  if (!ref.digest.empty()) throw CliError("refusing to create a tag with a digest reference");
  ref = with_default_tag(ref);
  Response r = ctx.client().request("POST", "/images/" + path_escape(o.source) +
                                                "/tag?repo=" + query_escape(ref.familiar_name()) +
                                                "&tag=" + query_escape(ref.tag));
  check_response(r);
}

}  // namespace

void configure_tag(CLI::App& cmd, Context& ctx) {
  auto o = std::make_shared<Opts>();
  cmd.add_option("SOURCE_IMAGE", o->source, "The image to tag (name[:tag] or ID)")->required();
  cmd.add_option("TARGET_IMAGE", o->target, "The new name[:tag]")->required();
  cmd.callback([&ctx, o] { run(ctx, *o); });
}

}  // namespace berth::cli
