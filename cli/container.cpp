// The container commands' two spellings: Docker's top-level shortcuts
// (`run`, `ps`, `rm`, ...) and the `container` management command.
#include "command.hpp"

namespace berth::cli {

namespace {

constexpr GroupedCommand kCommands[] = {
    {"attach", nullptr, "attach", "Attach local standard input, output, and error streams to a running container",
     configure_attach},
    {"commit", nullptr, "commit", "Create a new image from a container's changes", configure_commit},
    {"cp", nullptr, "cp",
     "Copy files/folders between a container and the local filesystem", configure_cp},
    {"create", nullptr, "create", "Create a new container", configure_create},
    {"diff", nullptr, "diff", "Inspect changes to files or directories on a container's filesystem", configure_diff},
    {"exec", nullptr, "exec", "Execute a command in a running container", configure_exec},
    {"export", nullptr, "export", "Export a container's filesystem as a tar archive", configure_export},
    {"inspect", nullptr, nullptr, "Display detailed information on one or more containers",
     configure_container_inspect},
    {"kill", nullptr, "kill", "Kill one or more running containers", configure_kill},
    {"logs", nullptr, "logs", "Fetch the logs of a container", configure_logs},
    {"ls", "list", "ps", "List containers", configure_ps},
    {"pause", nullptr, "pause", "Pause all processes within one or more containers", configure_pause},
    {"port", nullptr, "port", "List port mappings or a specific mapping for the container", configure_port},
    {"prune", nullptr, nullptr, "Remove all stopped containers", configure_container_prune},
    {"rename", nullptr, "rename", "Rename a container", configure_rename},
    {"restart", nullptr, "restart", "Restart one or more containers", configure_restart},
    {"rm", "remove", "rm", "Remove one or more containers", configure_rm},
    {"run", nullptr, "run", "Create and run a new container from an image", configure_run},
    {"start", nullptr, "start", "Start one or more stopped containers", configure_start},
    {"stats", nullptr, "stats", "Display a live stream of container(s) resource usage statistics",
     configure_stats},
    {"stop", nullptr, "stop", "Stop one or more running containers", configure_stop},
    {"top", nullptr, "top", "Display the running processes of a container", configure_top},
    {"unpause", nullptr, "unpause", "Unpause all processes within one or more containers", configure_unpause},
    {"update", nullptr, "update", "Update configuration of one or more containers", configure_update},
    {"wait", nullptr, "wait", "Block until one or more containers stop, then print their exit codes",
     configure_wait},
};

}  // namespace

void add_container_commands(CLI::App& app, Context& ctx) {
  configure_inspect(*app.add_subcommand("inspect", "Return low-level information on Docker objects"), ctx);
  auto* group = add_command_group(app, ctx, "container", "Manage containers", kCommands);
  // `docker container ps` works too.
  group->get_subcommand("ls")->alias("ps");
}

}  // namespace berth::cli
