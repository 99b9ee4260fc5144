// Network namespaces: named ones kept alive by a bind mount (as ip-netns and
// Docker's sandboxes do), and running code inside one.
//
// Errors are thrown as berth::sdk::Error (status.hpp) with messages naming
// the path or namespace.
#ifndef BERTH_SDK_NET_NETNS_HPP
#define BERTH_SDK_NET_NETNS_HPP

#include <functional>
#include <string>

#include "berth/sdk/unique_fd.hpp"

namespace berth::sdk::net {

// Creates a new network namespace with its loopback up and keeps it alive by
// bind-mounting it on `path` (an empty file is created; its directory must
// exist). The calling thread's namespace is not changed.
void create_named_netns(const std::string& path);

// Unmounts and removes `path`. Missing or already unmounted is not an error.
void remove_named_netns(const std::string& path);

// Opens a namespace file (/proc/<pid>/ns/net, a named netns) O_RDONLY|O_CLOEXEC.
UniqueFd open_netns(const std::string& path);

// Runs `fn` on a short-lived thread that has joined the network namespace
// `netns_fd`; exceptions thrown by `fn` are rethrown here. File descriptors
// `fn` opens (sockets, netlink) stay bound to that namespace afterwards.
void run_in_netns(int netns_fd, const std::function<void()>& fn);

}  // namespace berth::sdk::net

#endif  // BERTH_SDK_NET_NETNS_HPP
