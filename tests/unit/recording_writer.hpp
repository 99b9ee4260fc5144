// A ResponseWriter that records what a handler sent, for route tests.
#pragma once

#include "berth/core/api/http.hpp"

#include <boost/json.hpp>

#include <map>
#include <sstream>
#include <string>

namespace berth::core::api::testing {

class RecordingWriter final : public ResponseWriter {
 public:
  void set_header(const std::string& name, const std::string& value) override {
    headers[name] = value;
  }
  void send(int s, std::string_view type, std::string_view b) override {
    status = s;
    content_type = type;
    body = b;
    ++sends;
  }
  std::ostream& stream(int s, std::string_view type) override {
    status = s;
    content_type = type;
    ++sends;
    return streamed;
  }
  bool client_gone() override { return false; }

  boost::json::value json() const { return boost::json::parse(body); }
  std::string message() const {
    auto v = json();
    return std::string(v.at("message").as_string());
  }

  int status = 0;
  int sends = 0;
  std::string content_type, body;
  std::map<std::string, std::string, CaseInsensitiveLess> headers;
  std::ostringstream streamed;
};

}  // namespace berth::core::api::testing
