// Display of the Engine API's JSON message streams (Docker's
// pkg/jsonmessage): the answers of `load` and `import` today, and of pull,
// push and build, which send the same messages with progress.
//
// A stream is a sequence of JSON objects (berthd separates them with CRLF;
// any white space will do) with these members, all optional:
//   "stream"         text printed as is (build output, "Loaded image: x\n")
//   "status"         a status line ("Pulling fs layer", "sha256:...")
//   "id"             what the status is about (a layer); shown as "id: "
//   "progressDetail" {"current", "total", "start", "hidecounts", "units"}
//   "progress"       a preformatted progress text (deprecated)
//   "from", "time", "timeNano"
//   "errorDetail"    {"code", "message"}; "error" is its message alone
//   "aux"            machine-readable data for the caller, never printed
//
// On a terminal, messages with an "id" and progress own one line each and
// are redrawn in place with ANSI cursor moves; elsewhere progress updates
// are dropped and every other message is printed as a plain line.
#pragma once

#include <boost/json/stream_parser.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <ctime>
#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

namespace berth::cli {

// "progressDetail": how far one item (usually a layer) got.
struct JsonProgress {
  std::int64_t current = 0;
  std::int64_t total = 0;
  std::int64_t start = 0;  // Unix seconds the transfer began; 0: unknown
  bool hide_counts = false;
  std::string units;  // empty: bytes
};

// One message of a stream, decoded leniently: members of the wrong type are
// ignored, as Go's decoder into a struct would reject them but Docker's
// servers never send them.
struct JsonMessage {
  std::string stream;
  std::string status;
  std::string progress_message;  // "progress"
  std::string id;
  std::string from;
  std::int64_t time = 0;
  std::int64_t time_nano = 0;
  std::optional<JsonProgress> progress;
  bool has_error = false;
  int error_code = 0;
  std::string error_message;
  boost::json::value aux;  // null when absent

  static JsonMessage from_json(const boost::json::object& o);
};

// Docker's JSONProgress.String(): "[=====>     ] 1.2MB/4.5MB 3s" for a
// terminal `width` wider than 110 columns, without the bar when narrower,
// without the time left at 50 columns or fewer; empty when there is
// nothing to show. `now` is the current Unix time (for the time left).
std::string progress_string(const JsonProgress& p, int width, std::time_t now);

// The columns of the terminal on `fd`, or 200 (Docker's default) when it is
// not a terminal.
int terminal_width(int fd);

class JsonStreamDisplay {
 public:
  struct Options {
    // Redraw progress lines in place with ANSI sequences.
    bool terminal = false;
    // Terminal columns for progress bars (see terminal_width()).
    int width = 200;
    // Called with each message's "aux" member; such messages print nothing.
    std::function<void(const boost::json::value& aux)> on_aux;
    // Fail with an error message's errorDetail code as the exit status (1
    // when it has none), as `docker build` does with a failed RUN's code;
    // otherwise always 1.
    bool error_code_exit = false;
  };

  // out: where messages are displayed; must outlive the display.
  JsonStreamDisplay(std::ostream& out, Options options);

  // Feeds the next bytes of the stream, in any split; displays every
  // message completed by them.
  // Throws CliError (exit 1, see Options::error_code_exit) with the
  // message's error text at the first message carrying an error (after
  // displaying those before it), and with "invalid JSON message from
  // daemon: ..." for bytes that are not JSON.
  void feed(std::string_view bytes);

  // Ends the stream. Throws CliError when it stopped inside a message.
  void finish();

 private:
  void handle(const boost::json::value& v);
  void display(const JsonMessage& m);

  std::ostream& out_;
  Options options_;
  boost::json::stream_parser parser_;
  bool partial_ = false;  // bytes of an unfinished message were fed
  // Line of each progress id, counted from the first; cleared by any
  // message that is not progress, as Docker does.
  std::map<std::string, unsigned> ids_;
};

class Context;
struct StreamRequest;

// Sends `request` and shows its answer on ctx.out: a JSON message stream
// (Content-Type application/json) through a JsonStreamDisplay, redrawing
// on a terminal; any other body is copied as is (Docker's
// DisplayJSONMessagesToStream after ImageLoad, ImageImport, ImagePull...).
// on_aux receives "aux" members (may be empty). `quiet` shows nothing but
// still fails on errors (pull/push -q).
// Throws CliError: "Error response from daemon: ..." for a non-2xx
// answer, the first error message of the stream, or a broken connection.
void show_json_response(Context& ctx, const StreamRequest& request,
                        std::function<void(const boost::json::value& aux)> on_aux = {}, bool quiet = false);

// Docker's RFC3339NanoFixed in local time: "2026-01-01T00:00:00.000000000Z".
std::string rfc3339_nano_fixed(std::int64_t unix_nanos);

// Go's time.Duration.String() for a whole number of seconds: "0s", "45s",
// "1m30s", "2h0m5s".
std::string go_duration_string(std::int64_t seconds);

}  // namespace berth::cli
