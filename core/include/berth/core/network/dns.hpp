// The embedded DNS server of user-defined networks, Docker's 127.0.0.11: each
// container ("sandbox") that joins such a network gets a resolver on
// 127.0.0.11:53 (UDP and TCP) inside its network namespace. It answers the
// names of the containers it can reach and forwards everything else to the
// upstream servers from the daemon's (host) namespace, so loopback upstreams
// such as systemd-resolved's 127.0.0.53 work.
//
// Answers:
//  - A for a name the lookup knows: its addresses, TTL 600, authoritative;
//  - AAAA (and any other type) for a known name: NOERROR without answers;
//  - PTR for an x.x.x.x.in-addr.arpa name the reverse lookup knows;
//  - anything else is forwarded as-is over UDP (2 s per upstream, then the
//    next one) and the upstream's answer relayed with the client's id; when
//    no upstream answers, or there is none, SERVFAIL.
// Malformed packets are dropped. UDP answers larger than the client accepts
// (512 bytes, or its EDNS size) are truncated (TC) for a retry over TCP.
#pragma once

#include "berth/core/error.hpp"

#include <berth/sdk/net/addr.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace berth::core::network {

// The IPv4 addresses `name` has for `sandbox` (container names, network
// aliases, --link aliases on the networks it shares), or nullopt when the
// name is not ours (the query is forwarded). An empty vector is a name that
// exists without IPv4 addresses. `name` is lower-case without the trailing
// dot; `sandbox` is the id given to add_sandbox. Called on the DNS thread:
// it must not block for long and must not call DnsServer's methods of the
// same server except remove_sandbox. An exception it throws is a SERVFAIL.
using NameLookup = std::function<std::optional<std::vector<sdk::net::Ipv4>>(
    const std::string& sandbox, const std::string& name)>;

// The name (without trailing dot) of `address` as `sandbox` sees it, for PTR
// queries, or nullopt (the query is forwarded). Same threading rules as
// NameLookup.
using AddressLookup =
    std::function<std::optional<std::string>(const std::string& sandbox, sdk::net::Ipv4 address)>;

struct DnsOptions {
  NameLookup lookup;      // unset: no name is ours
  AddressLookup reverse;  // unset: no address is ours
  // Upstream servers, "ip", "ip:port", "[ipv6]:port" or a bare IPv6 address
  // (port 53 when none is given). Empty: the nameservers of
  // host_resolv_conf, re-read when the file changes.
  std::vector<std::string> upstreams;
  std::string host_resolv_conf = "/etc/resolv.conf";
};

// One serving thread for every sandbox. The thread and the forwarding
// sockets live in the network namespace of the thread that constructs the
// server. All methods are thread-safe.
class DnsServer {
 public:
  // Starts the serving thread. Throws berth::sdk::Error with
  // Errc::invalid_argument for an unparsable upstream in `options`, or the
  // errno's class when the thread's epoll/eventfd cannot be created
  // (start-up misconfiguration).
  explicit DnsServer(DnsOptions options);
  // Stops the thread and closes every socket; queries being forwarded get no
  // answer.
  ~DnsServer();

  DnsServer(const DnsServer&) = delete;
  DnsServer& operator=(const DnsServer&) = delete;

  // Binds UDP and TCP 127.0.0.11:53 inside the network namespace `netns_fd`
  // (whose loopback must be up; the descriptor is only used during the call)
  // and serves them as `sandbox`. `upstreams` (same forms as
  // DnsOptions::upstreams) replaces the server's upstreams for this sandbox,
  // as a container's --dns does; empty keeps them. Errors:
  // already_exists for a sandbox id being served, invalid_argument for an
  // unparsable upstream, the errno's class when a socket cannot be bound.
  Result<void> add_sandbox(const std::string& sandbox, int netns_fd,
                           std::vector<std::string> upstreams = {});

  // Stops serving `sandbox` and closes its sockets (and TCP connections)
  // before returning; forwarded queries of it get no answer. Unknown ids are
  // a no-op.
  void remove_sandbox(const std::string& sandbox);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace berth::core::network
