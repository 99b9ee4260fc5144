#include "container_fixture.hpp"

#include "../support/image_builder.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace berth::testing {

namespace fs = std::filesystem;

const std::string& busybox_archive() {
  static const std::string archive = docker_archive({busybox_image(kBusyboxImage)});
  return archive;
}

CommandResult docker_cli(const Daemon& daemon, const std::string& client, const std::string& config_dir,
                         std::vector<std::string> args, const std::string& input, std::chrono::seconds timeout) {
  args.insert(args.begin(), {client, "-H", daemon.host()});
  return run(args,
             {{"DOCKER_CONFIG", config_dir},
              {"DOCKER_HOST", ""},
              {"BERTH_HOST", ""},
              {"BERTH_CONFIG", daemon.cli_config()}},
             input, timeout);
}

void remove_all_containers(const Daemon& daemon) {
  std::istringstream ids(daemon.berth({"ps", "-aq"}).out);
  for (std::string id; std::getline(ids, id);) {
    if (!id.empty()) daemon.berth({"rm", "-f", id});
  }
}

std::vector<std::string> mounts_under(const std::string& root) {
  std::vector<std::string> out;
  std::ifstream in("/proc/self/mountinfo");
  for (std::string line; std::getline(in, line);) {
    // "<id> <parent> <maj:min> <root> <mount point> ..."
    std::istringstream fields(line);
    std::string skip, point;
    fields >> skip >> skip >> skip >> skip >> point;
    if (point.starts_with(root + "/")) out.push_back(point);
  }
  return out;
}

std::vector<std::string> cgroups_under_parent(const std::string& root) {
  // The harness gives each daemon --cgroup-parent /<root's basename>.
  std::string parent = fs::path(root).filename().string();
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& h : fs::directory_iterator("/sys/fs/cgroup", ec)) {
    for (const auto& d : fs::directory_iterator(h.path() / parent, ec)) {
      if (d.is_directory(ec)) out.push_back(d.path().string());
    }
  }
  for (const auto& d : fs::directory_iterator(fs::path("/sys/fs/cgroup") / parent, ec)) {
    if (d.is_directory(ec)) out.push_back(d.path().string());
  }
  return out;
}

std::vector<pid_t> shims_of(const std::string& root) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    std::string name = entry.path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    std::string cmdline = read_file(entry.path().string() + "/cmdline");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    if (cmdline.find("berth-shim") != std::string::npos && cmdline.find(root + "/") != std::string::npos) {
      out.push_back(static_cast<pid_t>(std::stoi(name)));
    }
  }
  return out;
}

std::string leftovers(const std::string& root) {
  std::string out;
  for (const auto& m : mounts_under(root)) out += "mount " + m + "\n";
  for (const auto& c : cgroups_under_parent(root)) out += "cgroup " + c + "\n";
  for (auto pid : shims_of(root)) out += "shim pid " + std::to_string(pid) + "\n";
  return out;
}

}  // namespace berth::testing
