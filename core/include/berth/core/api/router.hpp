// Maps Engine API requests to handlers: strips and checks the /v1.xx version
// prefix, matches "/containers/{id}/json"-style patterns, and turns every
// failure into Docker's {"message": ...} error with the right status.
#pragma once

#include "berth/core/api/http.hpp"

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace berth::core::api {

// The API versions this daemon serves.
inline constexpr ApiVersion kMinApiVersion{1, 24};
inline constexpr ApiVersion kMaxApiVersion{1, 43};

using Handler = std::function<void(Request&, ResponseWriter&)>;

class Router {
 public:
  // Registers `handler` for `method` on `pattern` ("/networks/{id}").
  // Patterns are matched segment by segment; {name} matches one non-empty
  // segment and lands in Request::params; {name*} matches one or more
  // segments joined by '/' (greedy, like Docker's {name:.*}). Not thread-safe: register before
  // serving.
  void add(std::string method, std::string pattern, Handler handler);

  // Parses `raw_target` into `req` (path, query, version) and runs the
  // matching handler. Thread-safe once registration is done. A handler that
  // throws gets a 500 for the client and a log line, never a crash.
  void dispatch(const std::string& raw_target, Request& req, ResponseWriter& w) const;

  // The response headers every answer carries (Api-Version, Ostype, ...).
  static void common_headers(ResponseWriter& w);

 private:
  static bool match(const std::vector<std::string>& pattern, std::size_t pi,
                    const std::vector<std::string>& path, std::size_t si,
                    std::map<std::string, std::string>& params);

  struct Route {
    std::string method;
    std::vector<std::string> segments;
    Handler handler;
  };
  std::vector<Route> routes_;
};

}  // namespace berth::core::api
