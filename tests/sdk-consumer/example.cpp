// log-example: a minimal logging driver that appends each message's text to
// the container's LogPath file, one line per complete message.
#include <fcntl.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <memory>
#include <string>

#include "berth/sdk/logging.hpp"

namespace {

using berth::sdk::Errc;
using berth::sdk::Error;

// The LogPath of `info_json`; refuses malformed info and every --log-opt.
std::string log_path(std::string_view info_json) {
  boost::system::error_code ec;
  const boost::json::value info = boost::json::parse(info_json, ec);
  if (ec) throw Error(Errc::invalid_argument, "parse log info: " + ec.message());
  const boost::json::object* object = info.if_object();
  if (object == nullptr) throw Error(Errc::invalid_argument, "log info is not a JSON object");
  const boost::json::value* path = object->if_contains("LogPath");
  if (path == nullptr || !path->is_string() || path->get_string().empty()) {
    throw Error(Errc::invalid_argument, "log info: LogPath must be a non-empty string");
  }
  if (const boost::json::value* config = object->if_contains("Config")) {
    if (!config->is_object())
      throw Error(Errc::invalid_argument, "log info: Config must be an object");
    for (const auto& option : config->get_object()) {
      throw Error(Errc::invalid_argument,
                  "unknown log opt '" + std::string(option.key()) + "' for example log driver");
    }
  }
  return std::string(path->get_string());
}

class ExampleLog final : public berth::sdk::ContainerLog {
 public:
  explicit ExampleLog(std::string path) : path_(std::move(path)) {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd_ < 0) throw Error::from_errno(errno, "open log " + path_);
  }
  ~ExampleLog() override {
    if (fd_ >= 0) ::close(fd_);
  }

  void log(const berth::sdk::LogMessage& message) override {
    std::string text(message.line);
    if (!message.partial) text += '\n';
    for (std::size_t done = 0; done < text.size();) {
      const ssize_t n = ::write(fd_, text.data() + done, text.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw Error::from_errno(errno, "write log " + path_);
      done += static_cast<std::size_t>(n);
    }
  }

  void close() override {
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) throw Error::from_errno(errno, "close log " + path_);
  }

 private:
  std::string path_;
  int fd_ = -1;
};

class ExampleDriver final : public berth::sdk::LoggingDriver {
 public:
  explicit ExampleDriver(const berth::sdk::Host& host) { host.debug("log-example ready"); }

  std::unique_ptr<berth::sdk::ContainerLog> open(std::string_view info_json) override {
    return std::make_unique<ExampleLog>(log_path(info_json));
  }

  void read(std::string_view, const berth::sdk::LogReadOptions&,
            const berth::sdk::LogSink&) override {
    throw Error(Errc::unsupported, "the example log driver cannot read logs back");
  }
};

}  // namespace

BERTH_DEFINE_PLUGIN(log_example_descriptor, ExampleDriver, "example", "0.1.0", 0)
BERTH_EXPORT_PLUGIN(log_example_descriptor)
