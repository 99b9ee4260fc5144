// The image commands' two spellings: Docker's top-level shortcuts
// (`images`, `rmi`, `tag`, ...) and the `image` management command.
#include "command.hpp"

namespace berth::cli {

namespace {

struct ImageCommand {
  const char* name;         // under `image`
  const char* alias;        // second name under `image`, or nullptr
  const char* top_level;    // the top-level shortcut, or nullptr
  const char* description;  // Docker's wording
  void (*configure)(CLI::App&, Context&);
};

constexpr ImageCommand kCommands[] = {
    {"ls", "list", "images", "List images", configure_images},
    {"inspect", nullptr, nullptr, "Display detailed information on one or more images",
     configure_image_inspect},
    {"rm", "remove", "rmi", "Remove one or more images", configure_rmi},
    {"tag", nullptr, "tag", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE", configure_tag},
    {"history", nullptr, "history", "Show the history of an image", configure_history},
    {"save", nullptr, "save",
     "Save one or more images to a tar archive (streamed to STDOUT by default)", configure_save},
    {"load", nullptr, "load", "Load an image from a tar archive or STDIN", configure_load},
    {"import", nullptr, "import", "Import the contents from a tarball to create a filesystem image",
     configure_import},
    {"prune", nullptr, nullptr, "Remove unused images", configure_image_prune},
};

}  // namespace

void add_image_commands(CLI::App& app, Context& ctx) {
  for (const auto& c : kCommands) {
    if (c.top_level != nullptr) c.configure(*app.add_subcommand(c.top_level, c.description), ctx);
  }
  auto* image = app.add_subcommand("image", "Manage images");
  image->require_subcommand(1);
  for (const auto& c : kCommands) {
    auto* cmd = image->add_subcommand(c.name, c.description);
    if (c.alias != nullptr) cmd->alias(c.alias);
    c.configure(*cmd, ctx);
  }
}

}  // namespace berth::cli
