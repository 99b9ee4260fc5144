#include "berth/sdk/net/netns.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <exception>
#include <thread>

#include "berth/sdk/net/netlink.hpp"
#include "berth/sdk/status.hpp"

namespace berth::sdk::net {
namespace {

// Callers read errno into a local first: building the message allocates,
// which may change errno before an argument read of it.
[[noreturn]] void throw_errno(int err, const std::string& what) {
  throw Error::from_errno(err, what);
}

// Runs fn on a fresh thread; a thread's namespaces are its own, so whatever
// fn does to them ends with the thread and never touches the caller's.
void on_own_thread(const std::function<void()>& fn) {
  std::exception_ptr failure;
  std::thread t([&] {
    try {
      fn();
    } catch (...) {
      failure = std::current_exception();
    }
  });
  t.join();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace

UniqueFd open_netns(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    const int err = errno;
    throw_errno(err, "open network namespace " + path);
  }
  return fd;
}

void run_in_netns(int netns_fd, const std::function<void()>& fn) {
  on_own_thread([&] {
    // setns on a thread of a multi-threaded process is allowed for CLONE_NEWNET.
    if (::setns(netns_fd, CLONE_NEWNET) != 0) {
      const int err = errno;
      throw_errno(err, "join network namespace");
    }
    fn();
  });
}

void create_named_netns(const std::string& path) {
  {
    UniqueFd file(::open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444));
    if (!file) {
      const int err = errno;
      throw_errno(err, "create " + path);
    }
  }
  try {
    on_own_thread([&] {
      // unshare(CLONE_NEWNET) moves only this thread (it is not CLONE_FS).
      if (::unshare(CLONE_NEWNET) != 0) {
        const int err = errno;
        throw_errno(err, "unshare network namespace");
      }
      if (::mount("/proc/thread-self/ns/net", path.c_str(), nullptr, MS_BIND, nullptr) != 0) {
        const int err = errno;
        throw_errno(err, "bind network namespace on " + path);
      }
      Netlink nl;
      nl.set_up("lo", true);
    });
  } catch (...) {
    ::umount2(path.c_str(), MNT_DETACH);
    ::unlink(path.c_str());
    throw;
  }
}

void remove_named_netns(const std::string& path) {
  if (::umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
    const int err = errno;
    throw_errno(err, "unmount network namespace " + path);
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    const int err = errno;
    throw_errno(err, "remove " + path);
  }
}

}  // namespace berth::sdk::net
