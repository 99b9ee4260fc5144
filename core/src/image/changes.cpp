#include "berth/core/image/changes.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <optional>

namespace berth::core::image {
namespace json = boost::json;

namespace {

Error invalid(std::string message) { return make_error(Errc::invalid_argument, std::move(message)); }

std::string trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  auto e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

// Words split on blanks, honouring double quotes (Dockerfile key=value and
// "key value" forms).
std::vector<std::string> words(std::string_view s) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false, any = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '\\' && i + 1 < s.size()) {
      cur += s[++i];
      any = true;
    } else if (c == '"') {
      quoted = !quoted;
      any = true;
    } else if (!quoted && (c == ' ' || c == '\t')) {
      if (any) out.push_back(std::move(cur));
      cur.clear();
      any = false;
    } else {
      cur += c;
      any = true;
    }
  }
  if (any) out.push_back(std::move(cur));
  return out;
}

// The JSON (exec) form ["a", "b"] when `args` is one; nullopt for the shell form.
std::optional<json::array> exec_form(const std::string& args) {
  if (args.empty() || args.front() != '[') return std::nullopt;
  json::error_code ec;
  auto v = json::parse(args, ec);
  if (ec || !v.is_array()) return std::nullopt;
  for (const auto& item : v.get_array()) {
    if (!item.is_string()) return std::nullopt;
  }
  return v.get_array();
}

// CMD/ENTRYPOINT: the exec form as given, the shell form through /bin/sh -c.
json::array command(const std::string& args) {
  if (auto form = exec_form(args)) return *form;
  return json::array{"/bin/sh", "-c", args};
}

// KEY=VALUE pairs (several) or the legacy "KEY VALUE" (one).
Result<std::vector<std::pair<std::string, std::string>>> pairs(const std::string& instruction, const std::string& args) {
  auto w = words(args);
  if (w.empty()) return invalid(instruction + " requires at least one argument");
  std::vector<std::pair<std::string, std::string>> out;
  if (w[0].find('=') == std::string::npos) {
    if (w.size() < 2) return invalid(instruction + " must have two arguments");
    auto rest = trim(args.substr(args.find(w[0]) + w[0].size()));
    if (rest.size() >= 2 && rest.front() == '"' && rest.back() == '"') rest = rest.substr(1, rest.size() - 2);
    out.emplace_back(w[0], rest);
    return out;
  }
  for (const auto& kv : w) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      return invalid("Syntax error - can't find = in \"" + kv + "\". Must be of the form: name=value");
    }
    out.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  return out;
}

json::object& object_field(json::object& config, std::string_view key) {
  auto& v = config[key];
  if (!v.is_object()) v = json::object{};
  return v.get_object();
}

Result<void> apply_one(json::object& config, const std::string& change) {
  std::string line = trim(change);
  auto space = line.find_first_of(" \t");
  std::string instruction = upper(line.substr(0, space));
  std::string args = space == std::string::npos ? std::string() : trim(line.substr(space));
  if (instruction.empty()) return invalid("dockerfile parse error: empty change");
  if (instruction == "CMD") {
    config["Cmd"] = command(args);
  } else if (instruction == "ENTRYPOINT") {
    config["Entrypoint"] = command(args);
  } else if (instruction == "ENV") {
    BERTH_TRY(auto kvs, pairs(instruction, args));
    json::array env = config.contains("Env") && config["Env"].is_array() ? config["Env"].get_array() : json::array{};
    for (const auto& [k, v] : kvs) {
      std::string entry = k + "=" + v;
      auto same = std::find_if(env.begin(), env.end(), [&](const json::value& e) {
        return e.is_string() && std::string_view(e.get_string()).starts_with(k + "=");
      });
      if (same != env.end()) {
        *same = entry;
      } else {
        env.emplace_back(entry);
      }
    }
    config["Env"] = std::move(env);
  } else if (instruction == "LABEL") {
    BERTH_TRY(auto kvs, pairs(instruction, args));
    auto& labels = object_field(config, "Labels");
    for (const auto& [k, v] : kvs) labels[k] = v;
  } else if (instruction == "EXPOSE") {
    auto ports = words(args);
    if (ports.empty()) return invalid("EXPOSE requires at least one argument");
    auto& exposed = object_field(config, "ExposedPorts");
    for (auto port : ports) {
      if (port.find('/') == std::string::npos) port += "/tcp";
      auto number = port.substr(0, port.find('/'));
      if (number.empty() || number.find_first_not_of("0123456789-") != std::string::npos) {
        return invalid("invalid containerPort: " + number);
      }
      exposed[port] = json::object{};
    }
  } else if (instruction == "VOLUME") {
    std::vector<std::string> paths;
    if (auto form = exec_form(args)) {
      for (const auto& p : *form) paths.emplace_back(p.get_string());
    } else {
      paths = words(args);
    }
    if (paths.empty()) return invalid("VOLUME specified can not be an empty string");
    auto& volumes = object_field(config, "Volumes");
    for (const auto& p : paths) volumes[p] = json::object{};
  } else if (instruction == "WORKDIR") {
    if (args.empty()) return invalid("WORKDIR requires exactly one argument");
    std::string current = config.contains("WorkingDir") && config["WorkingDir"].is_string()
                              ? std::string(config["WorkingDir"].get_string())
                              : std::string();
    config["WorkingDir"] = args.front() == '/' ? args : (current.empty() ? "/" : current + "/") + args;
  } else if (instruction == "USER") {
    if (args.empty()) return invalid("USER requires exactly one argument");
    config["User"] = args;
  } else if (instruction == "STOPSIGNAL") {
    if (args.empty()) return invalid("STOPSIGNAL requires exactly one argument");
    config["StopSignal"] = args;
  } else if (instruction == "ONBUILD") {
    if (args.empty()) return invalid("ONBUILD requires at least one argument");
    auto inner = upper(args.substr(0, args.find_first_of(" \t")));
    if (inner == "ONBUILD") return invalid("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
    if (inner == "FROM" || inner == "MAINTAINER") return invalid(inner + " isn't allowed as an ONBUILD trigger");
    json::array triggers =
        config.contains("OnBuild") && config["OnBuild"].is_array() ? config["OnBuild"].get_array() : json::array{};
    triggers.emplace_back(args);
    config["OnBuild"] = std::move(triggers);
  } else {
    static const char* const kKnown[] = {"ADD", "ARG", "COPY", "FROM", "HEALTHCHECK", "MAINTAINER", "RUN", "SHELL"};
    if (std::find(std::begin(kKnown), std::end(kKnown), instruction) != std::end(kKnown)) {
      return invalid(instruction + " is not a valid change command");
    }
    return invalid("dockerfile parse error on line 1: unknown instruction: " + instruction);
  }
  return ok();
}

}  // namespace

Result<void> apply_changes(json::object& config, const std::vector<std::string>& changes) {
  json::object next = config;
  for (const auto& change : changes) {
    BERTH_TRY(apply_one(next, change));
  }
  config = std::move(next);
  return ok();
}

}  // namespace berth::core::image
