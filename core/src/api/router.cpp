#include "berth/core/api/router.hpp"

#include "berth/core/log.hpp"
#include "berth/core/version.hpp"

#include <Poco/Exception.h>
#include <Poco/URI.h>

#include <algorithm>

namespace berth::core::api {
namespace {

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    size_t end = path.find('/', i);
    if (end == std::string_view::npos) end = path.size();
    out.emplace_back(path.substr(i, end - i));
    i = end;
  }
  return out;
}

bool decode(std::string_view in, std::string& out, bool plus_as_space) {
  try {
    out.clear();
    std::string text(in);
    // Query strings are form-encoded: '+' is a space (an encoded '+' is %2B).
    if (plus_as_space) std::replace(text.begin(), text.end(), '+', ' ');
    Poco::URI::decode(text, out);
    return true;
  } catch (const Poco::Exception&) {
    return false;
  }
}

}  // namespace

bool Router::match(const std::vector<std::string>& pattern, std::size_t pi,
                   const std::vector<std::string>& path, std::size_t si,
                   std::map<std::string, std::string>& params) {
  if (pi == pattern.size()) return si == path.size();
  const std::string& p = pattern[pi];
  bool param = p.size() > 2 && p.front() == '{' && p.back() == '}';
  if (param && p[p.size() - 2] == '*') {
    // {name*}: one or more segments (image names contain slashes), as few
    // as let the rest of the pattern match... from the longest, like
    // Docker's {name:.*} which is greedy.
    for (std::size_t end = path.size(); end > si; --end) {
      std::string joined;
      for (std::size_t i = si; i < end; ++i) joined += (i > si ? "/" : "") + path[i];
      auto saved = params;
      params[p.substr(1, p.size() - 3)] = joined;
      if (match(pattern, pi + 1, path, end, params)) return true;
      params = std::move(saved);
    }
    return false;
  }
  if (si == path.size()) return false;
  if (param) {
    params[p.substr(1, p.size() - 2)] = path[si];
  } else if (p != path[si]) {
    return false;
  }
  return match(pattern, pi + 1, path, si + 1, params);
}

void Router::add(std::string method, std::string pattern, Handler handler) {
  routes_.push_back({std::move(method), split_path(pattern), std::move(handler)});
}

void Router::common_headers(ResponseWriter& w) {
  w.set_header("Api-Version", kMaxApiVersion.str());
  w.set_header("Docker-Experimental", "false");
  w.set_header("Ostype", "linux");
  w.set_header("Server", std::string("berth/") + kBerthVersion + " (linux)");
}

void Router::dispatch(const std::string& raw_target, Request& req, ResponseWriter& w) const {
  common_headers(w);
  req.raw_target = raw_target;
  std::string_view target = raw_target;
  std::string_view raw_query;
  if (auto q = target.find('?'); q != std::string_view::npos) {
    raw_query = target.substr(q + 1);
    target = target.substr(0, q);
  }
  if (target.empty() || target.front() != '/') return w.send_error(400, "invalid request path");
  if (!decode(target, req.path, false) || req.path.find('\0') != std::string::npos) {
    return w.send_error(400, "invalid request path");
  }
  req.query.clear();
  while (!raw_query.empty()) {
    auto amp = raw_query.find('&');
    std::string_view pair = raw_query.substr(0, amp);
    raw_query = amp == std::string_view::npos ? std::string_view() : raw_query.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    std::string key, value;
    if (!decode(pair.substr(0, eq), key, true) ||
        (eq != std::string_view::npos && !decode(pair.substr(eq + 1), value, true))) {
      return w.send_error(400, "invalid query string");
    }
    req.query.emplace(std::move(key), std::move(value));
  }

  std::vector<std::string> segments = split_path(req.path);
  req.version = kMaxApiVersion;
  if (!segments.empty() && segments.front().size() > 1 && segments.front()[0] == 'v' &&
      std::isdigit(static_cast<unsigned char>(segments.front()[1]))) {
    ApiVersion v;
    if (!ApiVersion::parse(std::string_view(segments.front()).substr(1), v)) {
      return w.send_error(404, "page not found");
    }
    if (v < kMinApiVersion) {
      return w.send_error(400, "client version " + v.str() +
                                   " is too old. Minimum supported API version is " +
                                   kMinApiVersion.str() +
                                   ", please upgrade your client to a newer version");
    }
    if (v > kMaxApiVersion) {
      return w.send_error(400, "client version " + v.str() +
                                   " is too new. Maximum supported API version is " +
                                   kMaxApiVersion.str());
    }
    req.version = v;
    segments.erase(segments.begin());
    req.path = req.path.substr(req.path.find('/', 1) == std::string::npos
                                   ? req.path.size()
                                   : req.path.find('/', 1));
    if (req.path.empty()) req.path = "/";
  }
  for (const auto& s : segments) {
    if (s == "." || s == "..") return w.send_error(404, "page not found");
  }

  bool path_matched = false;
  for (const auto& route : routes_) {
    std::map<std::string, std::string> params;
    if (!match(route.segments, 0, segments, 0, params)) continue;
    path_matched = true;
    if (route.method != req.method) continue;
    req.params = std::move(params);
    try {
      route.handler(req, w);
    } catch (const std::exception& e) {
      logger("api")->error("{} {}: handler failed: {}", req.method, raw_target, e.what());
      w.send_error(500, std::string("internal error: ") + e.what());
    }
    return;
  }
  if (path_matched) return w.send_error(405, "method " + req.method + " not allowed on " + req.path);
  w.send_error(404, "page not found");
}

}  // namespace berth::core::api
