// The image commands' two spellings: Docker's top-level shortcuts
// (`images`, `rmi`, `tag`, ...) and the `image` management command.
#include "command.hpp"

namespace berth::cli {

namespace {

constexpr GroupedCommand kCommands[] = {
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
    {"pull", nullptr, "pull", "Download an image from a registry", configure_pull},
    {"push", nullptr, "push", "Upload an image to a registry", configure_push},
    {"build", nullptr, "build", "Build an image from a Dockerfile", configure_build},
};

}  // namespace

void add_image_commands(CLI::App& app, Context& ctx) {
  add_command_group(app, ctx, "image", "Manage images", kCommands);
}

}  // namespace berth::cli
