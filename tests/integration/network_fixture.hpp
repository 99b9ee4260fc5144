// Networking tests: a berthd with its own default bridge, nftables table,
// address pool and interface names (all berth-test-prefixed), and an
// "internet": a network namespace the test makes, joined to the host by a
// veth pair, with an HTTP server in it. Nothing leaves the machine.
#pragma once

#include "container_fixture.hpp"

#include <sys/types.h>

#include <string>

namespace berth::testing {

// "berth-test-" + 4 random hex digits: a 15-character interface name.
std::string test_ifname();

// A free TCP port on the host (bound and released).
int free_port();

// The host's links named berth-test-*.
std::vector<std::string> test_links();

// What a networking test made in the host namespace and left there: links
// named berth-test-* that were not in `before`, and the nftables table
// `table`. (Networking tests hold the CTest resource lock "host-network",
// so no other test makes such links meanwhile.)
std::string network_leftovers(const std::vector<std::string>& before, const std::string& table);

// A network namespace joined to the host by a veth pair; an HTTP server
// (busybox httpd) serves `index.html` = "hello from the internet" on
// server_ip():8080. Removed with everything in it at destruction.
class Internet {
 public:
  explicit Internet(int second_octet);
  ~Internet();
  Internet(const Internet&) = delete;
  Internet& operator=(const Internet&) = delete;

  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }
  const std::string& netns() const { return netns_; }   // name under /run/netns
  std::string host_ip() const { return prefix_ + ".1"; }
  std::string server_ip() const { return prefix_ + ".2"; }
  // Runs argv inside the namespace.
  CommandResult exec(std::vector<std::string> argv) const;

 private:
  bool ok_ = false;
  std::string error_, netns_, veth_, prefix_;
  TempDir www_{"www"};
  pid_t httpd_ = -1;
};

class NetworkFixture : public ContainerFixture<> {
 protected:
  void start_daemon() override;
  // What the daemon's bridge plugin made and left behind.
  std::string leftovers() const { return network_leftovers(links_before_, table_); }
  CommandResult docker(std::vector<std::string> args, const std::string& input = {}) {
    return cli("/usr/local/bin/docker", std::move(args), input);
  }

  std::string suffix_;   // 4 hex digits naming this test's objects
  std::string bridge_;   // the default bridge's device
  std::string table_;    // the nftables table
  int octet_ = 0;        // this test's pool is 10.<octet>.0.0/16
  std::vector<std::string> links_before_;
};

}  // namespace berth::testing
