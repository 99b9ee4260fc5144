#include "berth/core/config.hpp"

#include <boost/json.hpp>
#include <charconv>
#include <fstream>
#include <set>
#include <sstream>

#include "berth/core/name_rules.hpp"

namespace berth::core {
namespace json = boost::json;

namespace {

Error invalid(std::string message) { return make_error(Errc::invalid_argument, std::move(message)); }

Result<std::string> get_string(const json::value& v, std::string_view key) {
  if (!v.is_string()) return invalid("\"" + std::string(key) + "\" must be a string");
  return std::string(v.get_string());
}

Result<bool> get_bool(const json::value& v, std::string_view key) {
  if (!v.is_bool()) return invalid("\"" + std::string(key) + "\" must be true or false");
  return v.get_bool();
}

Result<std::vector<std::string>> get_strings(const json::value& v, std::string_view key) {
  auto bad = [&] { return invalid("\"" + std::string(key) + "\" must be an array of strings"); };
  if (!v.is_array()) return bad();
  std::vector<std::string> out;
  for (const auto& item : v.get_array()) {
    if (!item.is_string()) return bad();
    out.emplace_back(item.get_string());
  }
  return out;
}

Result<std::vector<std::string>> get_driver_names(const json::value& v, std::string_view key) {
  BERTH_TRY(auto names, get_strings(v, key));
  for (const auto& name : names) {
    if (!is_driver_name(name)) {
      return invalid("\"" + std::string(key) + "\": \"" + name +
                     "\" is not a driver name (want <storage|net|volume|log>/<id>)");
    }
  }
  return names;
}

// "runtimes": {"<name>": {"path": "...", "runtimeArgs": ["..."]}}.
Result<std::map<std::string, RuntimeConfig>> get_runtimes(const json::value& v) {
  if (!v.is_object()) return invalid("\"runtimes\" must be an object");
  std::map<std::string, RuntimeConfig> out;
  for (const auto& [name, value] : v.get_object()) {
    std::string where = "runtimes." + std::string(name);
    if (name == "native") return invalid("\"" + where + "\": the name native is reserved for the built-in runtime");
    if (!value.is_object()) return invalid("\"" + where + "\" must be an object");
    RuntimeConfig rt;
    for (const auto& [key, field] : value.get_object()) {
      if (key == "path") {
        BERTH_TRY(rt.path, get_string(field, where + ".path"));
      } else if (key == "runtimeArgs") {
        BERTH_TRY(rt.args, get_strings(field, where + ".runtimeArgs"));
      } else {
        return invalid("unknown key \"" + where + "." + std::string(key) + "\"");
      }
    }
    if (rt.path.empty()) return invalid("\"" + where + ".path\" must be set");
    out.emplace(name, std::move(rt));
  }
  return out;
}

Result<DriverConfig> get_drivers(const json::value& v) {
  if (!v.is_object()) return invalid("\"drivers\" must be an object");
  DriverConfig out;
  for (const auto& [key, value] : v.get_object()) {
    if (key == "disabled") {
      BERTH_TRY(out.disabled, get_driver_names(value, "drivers.disabled"));
    } else if (key == "required") {
      BERTH_TRY(out.required, get_driver_names(value, "drivers.required"));
    } else if (key == "options") {
      if (!value.is_object()) return invalid("\"drivers.options\" must be an object");
      for (const auto& [name, opts] : value.get_object()) {
        std::string full = "drivers.options." + std::string(name);
        if (!is_driver_name(name)) {
          return invalid("\"" + full + "\" does not name a driver (want <storage|net|volume|log>/<id>)");
        }
        if (!opts.is_object()) return invalid("\"" + full + "\" must be an object");
        out.options_json.emplace(std::string(name), json::serialize(opts));
      }
    } else {
      return invalid("unknown key \"drivers." + std::string(key) + "\"");
    }
  }
  return out;
}

}  // namespace

Result<ListenAddress> ListenAddress::parse(std::string_view text) {
  ListenAddress out;
  out.text = std::string(text);
  auto bad = [&](std::string_view why) {
    return invalid("invalid host \"" + std::string(text) + "\": " + std::string(why));
  };
  if (text.starts_with("unix://")) {
    out.kind = Kind::unix_socket;
    out.path = std::string(text.substr(7));
    if (out.path.empty()) return bad("empty socket path");
    if (out.path.front() != '/') return bad("socket path must be absolute");
    // sockaddr_un.sun_path holds 108 bytes including the terminator.
    if (out.path.size() > 107) return bad("socket path longer than 107 bytes");
    return out;
  }
  if (text.starts_with("tcp://")) {
    out.kind = Kind::tcp;
    std::string_view rest = text.substr(6);
    if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
    std::string_view host, port;
    if (rest.starts_with("[")) {
      auto close = rest.find(']');
      if (close == std::string_view::npos) return bad("unclosed [ in IPv6 address");
      host = rest.substr(1, close - 1);
      rest.remove_prefix(close + 1);
      if (!rest.starts_with(":")) return bad("missing port");
      port = rest.substr(1);
    } else {
      auto colon = rest.rfind(':');
      if (colon == std::string_view::npos) return bad("missing port");
      host = rest.substr(0, colon);
      port = rest.substr(colon + 1);
    }
    out.host = host.empty() ? "0.0.0.0" : std::string(host);
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value > 65535) {
      return bad("port must be a number from 0 to 65535");
    }
    out.port = static_cast<std::uint16_t>(value);
    return out;
  }
  return bad("want unix:///path or tcp://host:port");
}

Result<ConfigLayer> parse_config_file(std::string_view text, std::string_view file_name) {
  auto in_file = [&](Error e) { return std::move(e).wrap(file_name); };
  json::error_code ec;
  json::value root = json::parse(text, ec);
  if (ec) return in_file(invalid("not valid JSON: " + ec.message()));
  if (!root.is_object()) return in_file(invalid("the top level must be a JSON object"));

  ConfigLayer layer;
  auto apply = [&](std::string_view key, const json::value& v) -> Result<void> {
    if (key == "data-root") {
      BERTH_TRY(layer.data_root, get_string(v, key));
    } else if (key == "exec-root") {
      BERTH_TRY(layer.exec_root, get_string(v, key));
    } else if (key == "cgroup-parent") {
      BERTH_TRY(layer.cgroup_parent, get_string(v, key));
    } else if (key == "userns-remap") {
      BERTH_TRY(layer.userns_remap, get_string(v, key));
    } else if (key == "bridge") {
      BERTH_TRY(layer.bridge, get_string(v, key));
    } else if (key == "bip") {
      BERTH_TRY(layer.bip, get_string(v, key));
    } else if (key == "dns") {
      BERTH_TRY(layer.dns, get_strings(v, key));
    } else if (key == "dns-search") {
      BERTH_TRY(layer.dns_search, get_strings(v, key));
    } else if (key == "dns-opts") {
      BERTH_TRY(layer.dns_options, get_strings(v, key));
    } else if (key == "ip-forward") {
      BERTH_TRY(layer.ip_forward, get_bool(v, key));
    } else if (key == "default-address-pools") {
      if (!v.is_array()) return invalid("\"default-address-pools\" must be an array of {\"base\", \"size\"} objects");
      std::vector<AddressPoolConfig> pools;
      for (const auto& item : v.get_array()) {
        const auto* o = item.if_object();
        const auto* base = o != nullptr ? o->if_contains("base") : nullptr;
        const auto* size = o != nullptr ? o->if_contains("size") : nullptr;
        if (base == nullptr || !base->is_string() || size == nullptr || !size->is_int64() ||
            size->get_int64() < 1 || size->get_int64() > 32) {
          return invalid("\"default-address-pools\" must be an array of {\"base\": \"a.b.c.d/n\", \"size\": 1-32}");
        }
        pools.push_back({std::string(base->get_string()), static_cast<int>(size->get_int64())});
      }
      layer.default_address_pools = std::move(pools);
    } else if (key == "hosts") {
      BERTH_TRY(layer.hosts, get_strings(v, key));
    } else if (key == "plugin-dirs") {
      BERTH_TRY(layer.plugin_dirs, get_strings(v, key));
    } else if (key == "storage-driver") {
      BERTH_TRY(layer.storage_driver, get_string(v, key));
    } else if (key == "log-driver") {
      BERTH_TRY(layer.log_driver, get_string(v, key));
    } else if (key == "log-opts") {
      if (!v.is_object()) return invalid("\"log-opts\" must be an object of strings");
      std::map<std::string, std::string> opts;
      for (const auto& [name, value] : v.get_object()) {
        BERTH_TRY(opts[std::string(name)], get_string(value, "log-opts." + std::string(name)));
      }
      layer.log_opts = std::move(opts);
    } else if (key == "log-level") {
      BERTH_TRY(layer.log_level, get_string(v, key));
    } else if (key == "debug") {
      BERTH_TRY(auto debug, get_bool(v, key));
      if (debug && !layer.log_level) layer.log_level = "debug";
    } else if (key == "pidfile") {
      BERTH_TRY(layer.pidfile, get_string(v, key));
    } else if (key == "tls") {
      BERTH_TRY(layer.tls, get_bool(v, key));
    } else if (key == "tlsverify") {
      BERTH_TRY(layer.tls_verify, get_bool(v, key));
    } else if (key == "tlscacert") {
      BERTH_TRY(layer.tls_ca, get_string(v, key));
    } else if (key == "tlscert") {
      BERTH_TRY(layer.tls_cert, get_string(v, key));
    } else if (key == "tlskey") {
      BERTH_TRY(layer.tls_key, get_string(v, key));
    } else if (key == "insecure-tcp") {
      BERTH_TRY(layer.insecure_tcp, get_bool(v, key));
    } else if (key == "insecure-registries") {
      BERTH_TRY(layer.insecure_registries, get_strings(v, key));
    } else if (key == "max-concurrent-downloads") {
      if (!v.is_int64() || v.get_int64() < 1 || v.get_int64() > 64) {
        return invalid("\"max-concurrent-downloads\" must be a number from 1 to 64");
      }
      layer.max_concurrent_downloads = static_cast<int>(v.get_int64());
    } else if (key == "max-build-context-size") {
      if (!v.is_int64() || v.get_int64() < 1) return invalid("\"max-build-context-size\" must be a number of bytes");
      layer.max_build_context_size = v.get_int64();
    } else if (key == "drivers") {
      BERTH_TRY(layer.drivers, get_drivers(v));
    } else if (key == "runtimes") {
      BERTH_TRY(layer.runtimes, get_runtimes(v));
    } else if (key == "default-runtime") {
      BERTH_TRY(layer.default_runtime, get_string(v, key));
    } else {
      return invalid("unknown key \"" + std::string(key) + "\"");
    }
    return ok();
  };
  for (const auto& [key, value] : root.get_object()) {
    if (auto r = apply(key, value); !r) return in_file(std::move(r).error());
  }
  return layer;
}

Result<std::map<std::string, std::string>> parse_log_opts(const std::vector<std::string>& pairs) {
  std::map<std::string, std::string> opts;
  for (const auto& pair : pairs) {
    auto eq = pair.find('=');
    if (eq == std::string::npos || eq == 0) {
      return invalid("invalid --log-opt \"" + pair + "\": want key=value");
    }
    opts[pair.substr(0, eq)] = pair.substr(eq + 1);
  }
  return opts;
}

Result<ConfigLayer> load_config_file(const std::string& path, bool must_exist) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int err = errno;
    if (err == ENOENT && !must_exist) return ConfigLayer{};
    return errno_error(err == ENOENT ? Errc::not_found : Errc::invalid_argument,
                       "read config file " + path, err);
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parse_config_file(text.str(), path);
}

Result<DaemonConfig> resolve_config(const ConfigLayer& file, const ConfigLayer& flags,
                                    const std::string& default_plugin_dir) {
  DaemonConfig cfg;
  auto pick = [](auto& target, const auto& from_file, const auto& from_flags) {
    if (from_flags) {
      target = *from_flags;
    } else if (from_file) {
      target = *from_file;
    }
  };
  pick(cfg.data_root, file.data_root, flags.data_root);
  pick(cfg.exec_root, file.exec_root, flags.exec_root);
  pick(cfg.storage_driver, file.storage_driver, flags.storage_driver);
  pick(cfg.log_driver, file.log_driver, flags.log_driver);
  pick(cfg.log_opts, file.log_opts, flags.log_opts);
  pick(cfg.log_level, file.log_level, flags.log_level);
  pick(cfg.pidfile, file.pidfile, flags.pidfile);
  pick(cfg.cgroup_parent, file.cgroup_parent, flags.cgroup_parent);
  pick(cfg.userns_remap, file.userns_remap, flags.userns_remap);
  pick(cfg.network.bridge, file.bridge, flags.bridge);
  pick(cfg.network.bip, file.bip, flags.bip);
  pick(cfg.network.default_address_pools, file.default_address_pools, flags.default_address_pools);
  pick(cfg.network.dns, file.dns, flags.dns);
  pick(cfg.network.dns_search, file.dns_search, flags.dns_search);
  pick(cfg.network.dns_options, file.dns_options, flags.dns_options);
  pick(cfg.network.ip_forward, file.ip_forward, flags.ip_forward);
  pick(cfg.runtimes, file.runtimes, flags.runtimes);
  pick(cfg.default_runtime, file.default_runtime, flags.default_runtime);
  pick(cfg.tls.tls, file.tls, flags.tls);
  pick(cfg.tls.verify, file.tls_verify, flags.tls_verify);
  pick(cfg.tls.ca, file.tls_ca, flags.tls_ca);
  pick(cfg.tls.cert, file.tls_cert, flags.tls_cert);
  pick(cfg.tls.key, file.tls_key, flags.tls_key);
  pick(cfg.insecure_tcp, file.insecure_tcp, flags.insecure_tcp);
  pick(cfg.drivers, file.drivers, flags.drivers);
  pick(cfg.insecure_registries, file.insecure_registries, flags.insecure_registries);
  pick(cfg.max_concurrent_downloads, file.max_concurrent_downloads, flags.max_concurrent_downloads);
  pick(cfg.max_build_context_size, file.max_build_context_size, flags.max_build_context_size);

  std::vector<std::string> hosts;
  pick(hosts, file.hosts, flags.hosts);
  std::vector<std::string> plugin_dirs{default_plugin_dir};
  pick(plugin_dirs, file.plugin_dirs, flags.plugin_dirs);
  cfg.plugin_dirs = std::move(plugin_dirs);

  for (const auto* dir : {&cfg.data_root, &cfg.exec_root}) {
    if (dir->empty() || dir->front() != '/') {
      return invalid("data and exec roots must be absolute paths, got \"" + *dir + "\"");
    }
  }
  if (hosts.empty()) hosts.push_back("unix://" + cfg.exec_root + "/berth.sock");
  for (const auto& h : hosts) {
    BERTH_TRY(auto addr, ListenAddress::parse(h));
    cfg.hosts.push_back(std::move(addr));
  }
  if (cfg.pidfile.empty()) cfg.pidfile = cfg.exec_root + "/berthd.pid";
  if (cfg.cgroup_parent.empty() || cfg.cgroup_parent.find("..") != std::string::npos) {
    return invalid("cgroup-parent must be a cgroup path without \"..\", got \"" + cfg.cgroup_parent + "\"");
  }
  if (cfg.cgroup_parent.front() != '/') cfg.cgroup_parent.insert(0, "/");
  if (cfg.default_runtime != "native" && !cfg.runtimes.contains(cfg.default_runtime)) {
    return invalid("default-runtime \"" + cfg.default_runtime + "\" is not \"native\" or one of \"runtimes\"");
  }

  static const std::set<std::string, std::less<>> levels{"trace", "debug", "info",
                                                         "warn",  "error", "fatal"};
  if (!levels.contains(cfg.log_level)) {
    return invalid("invalid log level \"" + cfg.log_level +
                   "\": want trace, debug, info, warn, error or fatal");
  }
  if (cfg.tls.verify) cfg.tls.tls = true;
  if (cfg.tls.tls && (cfg.tls.cert.empty() || cfg.tls.key.empty())) {
    return invalid("--tls needs --tlscert and --tlskey");
  }
  if (cfg.tls.verify && cfg.tls.ca.empty()) return invalid("--tlsverify needs --tlscacert");
  return cfg;
}

}  // namespace berth::core
