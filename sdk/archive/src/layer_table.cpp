#include "berth/sdk/layer_table.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>

namespace berth::sdk::files {

using sdk::Errc;
using sdk::Error;

std::string state_root(const Host& host, std::string_view driver) {
  const std::string_view state = host.state_dir();
  if (state.empty()) {
    throw Error(Errc::failed_precondition,
                std::string(driver) + ": the host offers no state directory");
  }
  std::string root = std::filesystem::absolute(std::string(state)).lexically_normal().string();
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  return root;
}

namespace detail {

void prepare_store(const std::string& driver, const std::string& root,
                   const std::string& layers_dir, const std::string& tmp_dir) {
  with_context(driver + ": prepare " + root, [&] {
    ensure_dir(layers_dir, 0700);
    ensure_dir(tmp_dir, 0700);
    // What a crash interrupted: creates, removes, the driver's own work.
    for (const auto& entry : std::filesystem::directory_iterator(tmp_dir)) {
      remove_tree(entry.path().string());
    }
  });
}

std::string move_to_trash(const std::string& layers_dir, const std::string& tmp_dir,
                          std::string_view id) {
  const std::string trash = make_temp_dir(tmp_dir, std::string(id) + ".removed.");
  const std::string dir = layers_dir + "/" + std::string(id);
  if (::rename(dir.c_str(), trash.c_str()) != 0) {
    const int err = errno;
    ::rmdir(trash.c_str());
    throw Error::from_errno(err, "move " + dir + " to " + trash);
  }
  fsync_dir(layers_dir);
  return trash;
}

}  // namespace detail

}  // namespace berth::sdk::files
