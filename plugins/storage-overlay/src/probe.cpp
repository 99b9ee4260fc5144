#include "berth/sdk/layer_files.hpp"
#include "probe.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include "berth/sdk/status.hpp"

namespace berth::plugins::storage_overlay {

using namespace ::berth::sdk::files;

namespace {

using sdk::Errc;
using sdk::Error;

// "Y" when a module parameter of overlay (/sys/module/overlay/parameters) is
// on; false when off or when the kernel does not know it.
bool module_default_on(std::string_view parameter) {
  const std::string value =
      read_file_if_exists("/sys/module/overlay/parameters/" + std::string(parameter));
  return !value.empty() && (value[0] == 'Y' || value[0] == 'y');
}

class ProbeDir {
 public:
  explicit ProbeDir(const std::string& scratch_dir) : path_(make_temp_dir(scratch_dir, "probe.")) {}
  ~ProbeDir() {
    if (mounted_) {
      if (::umount2(merged().c_str(), 0) != 0) ::umount2(merged().c_str(), MNT_DETACH);
    }
    try {
      remove_tree(path_);
    } catch (...) {  // the next start's sweep of the scratch directory retries
    }
  }
  ProbeDir(const ProbeDir&) = delete;
  ProbeDir& operator=(const ProbeDir&) = delete;

  const std::string& path() const { return path_; }
  std::string merged() const { return path_ + "/merged"; }

  void mount(const std::string& extra_options) {
    const std::string options = "lowerdir=" + path_ + "/lower,upperdir=" + path_ +
                                "/upper,workdir=" + path_ + "/work" + extra_options;
    if (::mount("overlay", merged().c_str(), "overlay", 0, options.c_str()) != 0) {
      const int err = errno;
      throw Error(Errc::unsupported, "overlay: a test mount in " + path_ + " failed (" +
                                         std::strerror(err) + ")" +
                                         (err == EPERM ? ": the driver needs root" : ""));
    }
    mounted_ = true;
  }

  void unmount() {
    if (::umount2(merged().c_str(), 0) != 0) {
      throw Error::from_errno(errno, "overlay: unmount test mount " + merged());
    }
    mounted_ = false;
  }

 private:
  std::string path_;
  bool mounted_ = false;
};

void create_file(const std::string& path) {
  const Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (fd.get() < 0) throw Error::from_errno(errno, "overlay: create " + path);
}

}  // namespace

bool supports_d_type(const std::string& dir) {
  const Fd fd = open_dir(dir);
  const int dup_fd = ::dup(fd.get());
  if (dup_fd < 0) throw Error::from_errno(errno, "read directory " + dir);
  DIR* stream = ::fdopendir(dup_fd);
  if (stream == nullptr) {
    const int err = errno;
    ::close(dup_fd);
    throw Error::from_errno(err, "read directory " + dir);
  }
  bool typed = true;
  while (const dirent* entry = ::readdir(stream)) {
    const std::string_view name = entry->d_name;
    if (name != "." && name != ".." && entry->d_type == DT_UNKNOWN) typed = false;
  }
  ::closedir(stream);
  return typed;
}

OverlaySupport probe_overlay(const std::string& scratch_dir) {
  ProbeDir probe(scratch_dir);
  const std::string& dir = probe.path();
  for (const char* sub : {"/lower", "/upper", "/work", "/merged"}) ensure_dir(dir + sub, 0755);
  create_file(dir + "/lower/file");

  if (!supports_d_type(dir + "/lower")) {
    throw Error(Errc::unsupported, "overlay: the filesystem of " + scratch_dir +
                                       " does not report file types (d_type); xfs needs ftype=1");
  }
  static constexpr char probe_xattr[] = "trusted.berth-probe";
  if (::lsetxattr(dir.c_str(), probe_xattr, "y", 1, 0) != 0) {
    const int err = errno;
    throw Error(Errc::unsupported, "overlay: the filesystem of " + scratch_dir +
                                       " cannot hold trusted.* extended attributes (" +
                                       std::strerror(err) + ")");
  }

  // The module's parameters tell which options to turn off; when it is not
  // loaded yet, a first mount loads it.
  if (::access("/sys/module/overlay/parameters", F_OK) != 0) {
    probe.mount("");
    probe.unmount();
  }
  OverlaySupport support;
  if (module_default_on("index")) support.extra_options += ",index=off";
  if (module_default_on("metacopy")) support.extra_options += ",metacopy=off";
  if (module_default_on("redirect_dir")) support.extra_options += ",redirect_dir=off";

  probe.mount(support.extra_options);
  if (::unlink((probe.merged() + "/file").c_str()) != 0) {
    throw Error::from_errno(errno, "overlay: delete a file in test mount " + probe.merged());
  }
  probe.unmount();
  struct stat st {};
  if (::lstat((dir + "/upper/file").c_str(), &st) != 0 || !S_ISCHR(st.st_mode) ||
      st.st_rdev != makedev(0, 0)) {
    throw Error(Errc::unsupported, "overlay: a test mount in " + dir +
                                       " does not record deletions as whiteout devices");
  }
  return support;
}

}  // namespace berth::plugins::storage_overlay
