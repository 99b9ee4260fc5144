// The host network driver (Docker's "host"): a container on it runs in the
// host's network namespace, which the core arranges, so there is nothing to
// build. The driver only remembers which networks and endpoints exist (so
// unknown ids are not_found, as the contract asks), in one JSON file in the
// host's state directory so that survives a daemon restart.
#include <fcntl.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

#include "berth/plugins/net_host.h"
#include "berth/sdk/network.hpp"
#include "berth/sdk/unique_fd.hpp"

namespace berth::plugins::net_host {

namespace {

namespace json = boost::json;
using sdk::Errc;
using sdk::Error;
using sdk::UniqueFd;

std::string short_id(std::string_view id) { return std::string(id.substr(0, 12)); }

void check_object(std::string_view text, const std::string& context, const char* what) {
  if (text.empty()) return;
  boost::system::error_code ec;
  const json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) {
    throw Error(Errc::invalid_argument, context + ": " + what + " is not a JSON object");
  }
}

std::string read_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return {};
    throw Error::from_errno(errno, "load network state " + path);
  }
  std::string text;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error::from_errno(errno, "load network state " + path);
    if (n == 0) return text;
    text.append(buf, static_cast<std::size_t>(n));
  }
}

// Replaces `path` atomically: a temporary file, fsync, rename, fsync the directory.
void write_file_atomic(const std::string& path, std::string_view text) {
  const std::string what = "save network state " + path;
  const std::string tmp = path + ".tmp";
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd) throw Error::from_errno(errno, what);
  while (!text.empty()) {
    const ssize_t n = ::write(fd.get(), text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error::from_errno(errno, what);
    text.remove_prefix(static_cast<std::size_t>(n));
  }
  if (::fsync(fd.get()) != 0) throw Error::from_errno(errno, what);
  if (const int err = fd.close(); err != 0) throw Error::from_errno(err, what);
  if (::rename(tmp.c_str(), path.c_str()) != 0) throw Error::from_errno(errno, what);
  const std::string dir = path.substr(0, path.rfind('/'));
  UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dfd || ::fsync(dfd.get()) != 0) throw Error::from_errno(errno, what);
}

class HostDriver final : public sdk::NetworkDriver {
 public:
  explicit HostDriver(const sdk::Host& host) {
    if (host.state_dir().empty()) {
      throw Error(Errc::failed_precondition, "host driver: the host offers no state directory");
    }
    check_object(host.config_json(), "host driver configuration", "the configuration");
    path_ = std::string(host.state_dir()) + "/host.json";
    const std::string text = read_file(path_);
    if (text.empty()) return;
    boost::system::error_code ec;
    const json::value v = json::parse(text, ec);
    if (ec || !v.is_object())
      throw Error(Errc::internal, "load network state " + path_ + ": not a JSON object");
    const json::object& o = v.get_object();
    if (const auto* nets = o.if_contains("networks"); nets != nullptr && nets->is_array()) {
      for (const auto& id : nets->get_array()) {
        if (id.is_string()) networks_.emplace(id.get_string());
      }
    }
    if (const auto* eps = o.if_contains("endpoints"); eps != nullptr && eps->is_object()) {
      for (const auto& [id, net] : eps->get_object()) {
        if (net.is_string()) endpoints_.emplace(std::string(id), std::string(net.get_string()));
      }
    }
  }

  void create_network(std::string_view network_id, std::string_view spec_json) override {
    const std::string context = "create network " + short_id(network_id);
    if (network_id.empty()) throw Error(Errc::invalid_argument, context + ": empty network id");
    check_object(spec_json, context, "the network spec");
    std::lock_guard lock(mutex_);
    if (networks_.emplace(network_id).second) save();
  }

  void delete_network(std::string_view network_id) override {
    const std::string context = "delete network " + short_id(network_id);
    std::lock_guard lock(mutex_);
    const auto it = networks_.find(std::string(network_id));
    if (it == networks_.end()) throw Error(Errc::not_found, context + ": no such network");
    for (const auto& [ep, net] : endpoints_) {
      if (net == network_id)
        throw Error(Errc::conflict, context + ": endpoint " + short_id(ep) + " is still on it");
    }
    networks_.erase(it);
    save();
  }

  void create_endpoint(std::string_view network_id, std::string_view endpoint_id,
                       std::string_view spec_json, const sdk::Out& out) override {
    const std::string context = "create endpoint " + short_id(endpoint_id);
    if (endpoint_id.empty()) throw Error(Errc::invalid_argument, context + ": empty endpoint id");
    check_object(spec_json, context, "the endpoint spec");
    std::lock_guard lock(mutex_);
    if (!networks_.contains(std::string(network_id))) {
      throw Error(Errc::not_found, context + ": no network " + short_id(network_id));
    }
    if (!endpoints_.emplace(std::string(endpoint_id), std::string(network_id)).second) {
      throw Error(Errc::already_exists, context + ": endpoint exists");
    }
    save();
    out.write("{}");
  }

  void delete_endpoint(std::string_view network_id, std::string_view endpoint_id) override {
    std::lock_guard lock(mutex_);
    endpoints_.erase(find(network_id, endpoint_id, "delete endpoint "));
    save();
  }

  void join(std::string_view network_id, std::string_view endpoint_id, std::string_view,
            std::string_view opts_json, const sdk::Out& out) override {
    check_object(opts_json, "join endpoint " + short_id(endpoint_id), "the join options");
    std::lock_guard lock(mutex_);
    find(network_id, endpoint_id, "join endpoint ");
    out.write("{}");
  }

  void leave(std::string_view network_id, std::string_view endpoint_id) override {
    std::lock_guard lock(mutex_);
    find(network_id, endpoint_id, "leave endpoint ");
  }

  // The container's ports are the host's already.
  void program_external_connectivity(std::string_view network_id, std::string_view endpoint_id,
                                     std::string_view opts_json) override {
    check_object(opts_json, "publish ports of endpoint " + short_id(endpoint_id), "the options");
    std::lock_guard lock(mutex_);
    find(network_id, endpoint_id, "publish ports of endpoint ");
  }

  void revoke_external_connectivity(std::string_view network_id,
                                    std::string_view endpoint_id) override {
    std::lock_guard lock(mutex_);
    find(network_id, endpoint_id, "withdraw ports of endpoint ");
  }

 private:
  std::map<std::string, std::string>::iterator find(std::string_view network_id,
                                                    std::string_view endpoint_id,
                                                    const char* verb) {
    const auto it = endpoints_.find(std::string(endpoint_id));
    if (it == endpoints_.end() || it->second != network_id) {
      throw Error(Errc::not_found, verb + short_id(endpoint_id) + ": no such endpoint on network " +
                                       short_id(network_id));
    }
    return it;
  }

  void save() const {
    json::array nets;
    for (const auto& id : networks_) nets.emplace_back(id);
    json::object eps;
    for (const auto& [id, net] : endpoints_) eps[id] = net;
    write_file_atomic(path_, json::serialize(json::object{{"networks", std::move(nets)},
                                                          {"endpoints", std::move(eps)}}));
  }

  std::string path_;
  std::mutex mutex_;
  std::set<std::string, std::less<>> networks_;
  std::map<std::string, std::string> endpoints_;  // endpoint id -> network id
};

}  // namespace

}  // namespace berth::plugins::net_host

BERTH_DEFINE_PLUGIN(berth_builtin_net_host, berth::plugins::net_host::HostDriver, "host", "1.0.0",
                    0)
