// berth image inspect: the daemon's image objects, as an indented JSON
// array or through a --format template.
#include "command.hpp"
#include "inspect.hpp"

namespace berth::cli {

namespace {

struct Opts {
  std::vector<std::string> images;
  std::string format;
};

}  // namespace

void configure_image_inspect(CLI::App& cmd, Context& ctx) {
  auto o = std::make_shared<Opts>();
  cmd.add_option("IMAGE", o->images, "Images to inspect")->required();
  cmd.add_option("-f,--format", o->format, "Format output using a custom template");
  cmd.callback([&ctx, o] {
    print_inspect(ctx, o->images, o->format, "image", [&](const std::string& name) {
      return fetch_object(ctx, "/images/" + path_escape(name) + "/json");
    });
  });
}

}  // namespace berth::cli
