// NetworkConformance: the berth.network.v1 contract every network driver
// keeps, whatever it does underneath (a bridge, the host's namespace, an
// overlay): networks and endpoints round-trip, joining puts an endpoint into
// a sandbox namespace the test creates, deletes leave nothing the driver
// still knows, unknown ids are not_found and malformed JSON is
// invalid_argument.
//
// The behaviour tests need root. Each runs the driver — init included — on a
// thread inside a network namespace of its own, so whatever the driver makes
// (links, addresses, sysctls, firewall tables) stays out of the host's and
// disappears with the test. Drivers that work in "the namespace they were
// initialised in" therefore never touch the host here.
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <exception>
#include <functional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>

#include "berth/sdk/testing/conformance.hpp"
#include "berth/sdk/types.hpp"

namespace berth::sdk::testing {

namespace detail {
int network_conformance_anchor() { return 0; }
}  // namespace detail

namespace {

[[noreturn]] void fail_errno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

void loopback_up() {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail_errno("socket");
  ifreq req{};
  std::strncpy(req.ifr_name, "lo", IFNAMSIZ - 1);
  if (::ioctl(fd, SIOCGIFFLAGS, &req) != 0 ||
      (req.ifr_flags = static_cast<short>(req.ifr_flags | IFF_UP),
       ::ioctl(fd, SIOCSIFFLAGS, &req)) != 0) {
    const int err = errno;
    ::close(fd);
    errno = err;
    fail_errno("bring lo up");
  }
  ::close(fd);
}

// Runs `fn` on a thread that has a new network namespace of its own (with lo
// up); exceptions are rethrown here. The namespace lives as long as
// something holds it (the thread, or sockets and links opened in it).
void in_private_netns(const std::function<void()>& fn) {
  std::exception_ptr failure;
  std::thread t([&] {
    try {
      if (::unshare(CLONE_NEWNET) != 0) fail_errno("unshare network namespace");
      loopback_up();
      fn();
    } catch (...) {
      failure = std::current_exception();
    }
  });
  t.join();
  if (failure) std::rethrow_exception(failure);
}

// A sandbox for join: a new network namespace bind-mounted on `path`, as
// berthd keeps a container's. Unmounted and removed by the destructor.
class Sandbox {
 public:
  explicit Sandbox(std::string path) : path_(std::move(path)) {
    const int fd = ::open(path_.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
    if (fd < 0) fail_errno("create " + path_);
    ::close(fd);
    in_private_netns([&] {
      if (::mount("/proc/thread-self/ns/net", path_.c_str(), nullptr, MS_BIND, nullptr) != 0) {
        fail_errno("bind network namespace on " + path_);
      }
    });
  }
  ~Sandbox() { remove(); }
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  const std::string& path() const { return path_; }
  // What a container's exit does to its namespace.
  void remove() {
    ::umount2(path_.c_str(), MNT_DETACH);
    ::unlink(path_.c_str());
  }

 private:
  std::string path_;
};

std::string id_of(char c) { return std::string(64, c); }

std::string network_spec(int n) {
  const std::string net = "10.213." + std::to_string(n) + ".";
  return R"({"Name":"conformance-)" + std::to_string(n) +
         R"(","Options":{},"Internal":false,"EnableIPv6":false,"IPv4":[{"Subnet":")" + net +
         R"(0/24","Gateway":")" + net + R"(1","IPRange":""}],"IPv6":[]})";
}

std::string endpoint_spec(int n, int host) {
  return R"({"Address":"10.213.)" + std::to_string(n) + "." + std::to_string(host) +
         R"(/24","AddressIPv6":"","MacAddress":"","Options":{}})";
}

// A result is empty or a JSON object.
bool json_object_or_empty(const std::string& text) {
  if (text.empty()) return true;
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(text, ec);
  return !ec && v.is_object();
}

// Calls the table the way berthd does; each call returns the status and
// keeps the last message and result.
class NetworkClient {
 public:
  explicit NetworkClient(DriverUnderTest& driver) : driver_(driver) {}

  berth_status create_network(std::string_view id, std::string_view spec) {
    return call([&](berth_error* err, berth_out*) {
      return t().create_network(driver_.instance(), to_berth_str(id), to_berth_str(spec), err);
    });
  }
  berth_status delete_network(std::string_view id) {
    return call([&](berth_error* err, berth_out*) {
      return t().delete_network(driver_.instance(), to_berth_str(id), err);
    });
  }
  berth_status create_endpoint(std::string_view net, std::string_view ep, std::string_view spec) {
    return call([&](berth_error* err, berth_out* out) {
      return t().create_endpoint(driver_.instance(), to_berth_str(net), to_berth_str(ep),
                                 to_berth_str(spec), out, err);
    });
  }
  berth_status delete_endpoint(std::string_view net, std::string_view ep) {
    return call([&](berth_error* err, berth_out*) {
      return t().delete_endpoint(driver_.instance(), to_berth_str(net), to_berth_str(ep), err);
    });
  }
  berth_status join(std::string_view net, std::string_view ep, std::string_view sandbox,
                    std::string_view opts = R"({"InterfaceName":"eth0"})") {
    return call([&](berth_error* err, berth_out* out) {
      return t().join(driver_.instance(), to_berth_str(net), to_berth_str(ep),
                      to_berth_str(sandbox), to_berth_str(opts), out, err);
    });
  }
  berth_status leave(std::string_view net, std::string_view ep) {
    return call([&](berth_error* err, berth_out*) {
      return t().leave(driver_.instance(), to_berth_str(net), to_berth_str(ep), err);
    });
  }
  berth_status program(std::string_view net, std::string_view ep, std::string_view opts) {
    return call([&](berth_error* err, berth_out*) {
      return t().program_external_connectivity(driver_.instance(), to_berth_str(net),
                                               to_berth_str(ep), to_berth_str(opts), err);
    });
  }
  berth_status revoke(std::string_view net, std::string_view ep) {
    return call([&](berth_error* err, berth_out*) {
      return t().revoke_external_connectivity(driver_.instance(), to_berth_str(net),
                                              to_berth_str(ep), err);
    });
  }

  const std::string& error() const { return error_; }
  const std::string& result() const { return result_; }

 private:
  const berth_network_v1& t() const { return driver_.network(); }

  template <class F>
  berth_status call(F&& f) {
    FakeError err;
    FakeOut out;
    const berth_status status = f(err.raw(), out.raw());
    error_ = err.message();
    result_ = out.text();
    if (status != BERTH_OK) {
      EXPECT_TRUE(err.is_set() && !err.message().empty()) << "a failing call should say why";
    }
    return status;
  }

  DriverUnderTest& driver_;
  std::string error_;
  std::string result_;
};

}  // namespace

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(NetworkConformance);

TEST_P(NetworkConformance, DescriptorIsNetwork) { check_descriptor(BERTH_KIND_NETWORK_V1, 32, 39); }

TEST_P(NetworkConformance, TableIsComplete) {
  const berth_network_v1& t = driver().network();
  EXPECT_GE(t.struct_size, abi_v1_0::network_size);
  EXPECT_NE(t.create_network, nullptr);
  EXPECT_NE(t.delete_network, nullptr);
  EXPECT_NE(t.create_endpoint, nullptr);
  EXPECT_NE(t.delete_endpoint, nullptr);
  EXPECT_NE(t.join, nullptr);
  EXPECT_NE(t.leave, nullptr);
  EXPECT_NE(t.program_external_connectivity, nullptr);
  EXPECT_NE(t.revoke_external_connectivity, nullptr);
}

// The behaviour tests: the body (statements, with `c` a NetworkClient) runs
// inside a private network namespace, with the driver initialised there.
#define BERTH_NETWORK_BEHAVIOUR(...)                                         \
  do {                                                                       \
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces)"; \
    bool skipped = false;                                                    \
    std::string skip_reason;                                                 \
    ASSERT_NO_THROW(in_private_netns([&] {                                   \
      if (!init_driver()) {                                                  \
        skipped = true;                                                      \
        skip_reason = driver().init_error();                                 \
        return;                                                              \
      }                                                                      \
      NetworkClient c(driver());                                             \
      __VA_ARGS__                                                            \
    }));                                                                     \
    if (skipped) GTEST_SKIP() << skip_reason;                                \
  } while (false)

TEST_P(NetworkConformance, InitThenShutdown) {
  BERTH_NETWORK_BEHAVIOUR({
    (void)c;
    driver().shutdown();
    EXPECT_FALSE(driver().initialised());
  });
}

TEST_P(NetworkConformance, NetworkRoundTrip) {
  BERTH_NETWORK_BEHAVIOUR({
    const std::string net = id_of('a');
    ASSERT_EQ(c.create_network(net, network_spec(1)), BERTH_OK) << c.error();
    // The core re-creates its networks at every start.
    const berth_status again = c.create_network(net, network_spec(1));
    EXPECT_TRUE(again == BERTH_OK || again == BERTH_E_ALREADY_EXISTS) << c.error();
    // A second network beside the first.
    ASSERT_EQ(c.create_network(id_of('b'), network_spec(2)), BERTH_OK) << c.error();
    EXPECT_EQ(c.delete_network(net), BERTH_OK) << c.error();
    EXPECT_EQ(c.delete_network(net), BERTH_E_NOT_FOUND) << "deleted twice";
    EXPECT_EQ(c.delete_network(id_of('b')), BERTH_OK) << c.error();
    // The id is free again.
    ASSERT_EQ(c.create_network(net, network_spec(1)), BERTH_OK) << c.error();
    EXPECT_EQ(c.delete_network(net), BERTH_OK) << c.error();
  });
}

TEST_P(NetworkConformance, EndpointJoinsASandboxAndLeaves) {
  BERTH_NETWORK_BEHAVIOUR({
    const std::string net = id_of('a');
    const std::string ep = id_of('e');
    ASSERT_EQ(c.create_network(net, network_spec(3)), BERTH_OK) << c.error();
    ASSERT_EQ(c.create_endpoint(net, ep, endpoint_spec(3, 2)), BERTH_OK) << c.error();
    EXPECT_TRUE(json_object_or_empty(c.result())) << c.result();
    EXPECT_EQ(c.create_endpoint(net, ep, endpoint_spec(3, 2)), BERTH_E_ALREADY_EXISTS);

    Sandbox sandbox((host().root() / "sandbox").string());
    ASSERT_EQ(c.join(net, ep, sandbox.path()), BERTH_OK) << c.error();
    ASSERT_TRUE(json_object_or_empty(c.result())) << c.result();
    if (!c.result().empty()) {
      const auto joined = boost::json::parse(c.result()).as_object();
      if (const auto* gw = joined.if_contains("Gateway")) {
        EXPECT_TRUE(gw->is_string()) << c.result();
      }
    }
    EXPECT_EQ(
        c.program(
            net, ep,
            R"({"PortBindings":[{"Proto":"tcp","HostIP":"","HostPort":"18080","ContainerPort":"80"}]})"),
        BERTH_OK)
        << c.error();
    EXPECT_EQ(c.revoke(net, ep), BERTH_OK) << c.error();
    EXPECT_EQ(c.revoke(net, ep), BERTH_OK) << "revoking twice: " << c.error();
    EXPECT_EQ(c.leave(net, ep), BERTH_OK) << c.error();
    EXPECT_EQ(c.delete_endpoint(net, ep), BERTH_OK) << c.error();
    EXPECT_EQ(c.delete_endpoint(net, ep), BERTH_E_NOT_FOUND) << "deleted twice";
    EXPECT_EQ(c.delete_network(net), BERTH_OK) << c.error();
  });
}

TEST_P(NetworkConformance, LeaveAfterTheSandboxDied) {
  BERTH_NETWORK_BEHAVIOUR({
    const std::string net = id_of('a');
    const std::string ep = id_of('e');
    ASSERT_EQ(c.create_network(net, network_spec(4)), BERTH_OK) << c.error();
    ASSERT_EQ(c.create_endpoint(net, ep, endpoint_spec(4, 2)), BERTH_OK) << c.error();
    Sandbox sandbox((host().root() / "sandbox").string());
    ASSERT_EQ(c.join(net, ep, sandbox.path()), BERTH_OK) << c.error();
    sandbox.remove();
    EXPECT_EQ(c.leave(net, ep), BERTH_OK) << c.error();
    EXPECT_EQ(c.delete_endpoint(net, ep), BERTH_OK) << c.error();
    EXPECT_EQ(c.delete_network(net), BERTH_OK) << c.error();
  });
}

TEST_P(NetworkConformance, EndpointDeletedWithoutJoining) {
  BERTH_NETWORK_BEHAVIOUR({
    const std::string net = id_of('a');
    ASSERT_EQ(c.create_network(net, network_spec(5)), BERTH_OK) << c.error();
    ASSERT_EQ(c.create_endpoint(net, id_of('e'), endpoint_spec(5, 2)), BERTH_OK) << c.error();
    ASSERT_EQ(c.create_endpoint(net, id_of('f'), endpoint_spec(5, 3)), BERTH_OK) << c.error();
    EXPECT_EQ(c.delete_endpoint(net, id_of('e')), BERTH_OK) << c.error();
    EXPECT_EQ(c.delete_endpoint(net, id_of('f')), BERTH_OK) << c.error();
    EXPECT_EQ(c.delete_network(net), BERTH_OK) << c.error();
  });
}

TEST_P(NetworkConformance, UnknownIdsAreNotFound) {
  BERTH_NETWORK_BEHAVIOUR({
    const std::string net = id_of('a');
    const std::string nope = id_of('9');
    Sandbox sandbox((host().root() / "sandbox").string());
    EXPECT_EQ(c.delete_network(nope), BERTH_E_NOT_FOUND);
    EXPECT_EQ(c.create_endpoint(nope, id_of('e'), endpoint_spec(6, 2)), BERTH_E_NOT_FOUND);
    ASSERT_EQ(c.create_network(net, network_spec(6)), BERTH_OK) << c.error();
    EXPECT_EQ(c.delete_endpoint(net, nope), BERTH_E_NOT_FOUND);
    EXPECT_EQ(c.join(net, nope, sandbox.path()), BERTH_E_NOT_FOUND);
    EXPECT_EQ(c.leave(net, nope), BERTH_E_NOT_FOUND);
    EXPECT_EQ(c.program(net, nope, R"({"PortBindings":[]})"), BERTH_E_NOT_FOUND);
    EXPECT_EQ(c.revoke(net, nope), BERTH_E_NOT_FOUND);
    // An endpoint asked for under another network is not found either.
    ASSERT_EQ(c.create_endpoint(net, id_of('e'), endpoint_spec(6, 2)), BERTH_OK) << c.error();
    EXPECT_EQ(c.delete_endpoint(nope, id_of('e')), BERTH_E_NOT_FOUND);
    EXPECT_EQ(c.delete_endpoint(net, id_of('e')), BERTH_OK) << c.error();
    EXPECT_EQ(c.delete_network(net), BERTH_OK) << c.error();
  });
}

TEST_P(NetworkConformance, MalformedJsonIsInvalidArgument) {
  BERTH_NETWORK_BEHAVIOUR({
    const std::string net = id_of('a');
    const std::string ep = id_of('e');
    EXPECT_EQ(c.create_network(net, "{not json"), BERTH_E_INVALID_ARGUMENT);
    EXPECT_EQ(c.create_network(net, "[]"), BERTH_E_INVALID_ARGUMENT);
    ASSERT_EQ(c.create_network(net, network_spec(7)), BERTH_OK) << c.error();
    EXPECT_EQ(c.create_endpoint(net, ep, "{not json"), BERTH_E_INVALID_ARGUMENT);
    ASSERT_EQ(c.create_endpoint(net, ep, endpoint_spec(7, 2)), BERTH_OK) << c.error();
    Sandbox sandbox((host().root() / "sandbox").string());
    EXPECT_EQ(c.join(net, ep, sandbox.path(), "{not json"), BERTH_E_INVALID_ARGUMENT);
    EXPECT_EQ(c.program(net, ep, "{not json"), BERTH_E_INVALID_ARGUMENT);
    EXPECT_EQ(c.delete_endpoint(net, ep), BERTH_OK) << c.error();
    EXPECT_EQ(c.delete_network(net), BERTH_OK) << c.error();
  });
}

}  // namespace berth::sdk::testing
