#include "json_stream.hpp"

#include "client.hpp"
#include "command.hpp"

#include <sys/ioctl.h>
#include <unistd.h>
#include <boost/json.hpp>

#include <cctype>
#include <cstdio>

namespace berth::cli {
namespace json = boost::json;

namespace {

std::string str(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::int64_t integer(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) return 0;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->get_uint64());
  if (v->is_double()) return static_cast<std::int64_t>(v->get_double());
  return 0;
}

json::parse_options lenient() {
  json::parse_options o;
  o.allow_invalid_utf8 = true;
  return o;
}

// aec.Up / aec.Down: nothing for zero lines.
void cursor_up(std::ostream& out, unsigned lines) {
  if (lines > 0) out << "\x1b[" << lines << "A";
}
void cursor_down(std::ostream& out, unsigned lines) {
  if (lines > 0) out << "\x1b[" << lines << "B";
}

}  // namespace

JsonMessage JsonMessage::from_json(const json::object& o) {
  JsonMessage m;
  m.stream = str(o, "stream");
  m.status = str(o, "status");
  m.progress_message = str(o, "progress");
  m.id = str(o, "id");
  m.from = str(o, "from");
  m.time = integer(o, "time");
  m.time_nano = integer(o, "timeNano");
  if (const auto* p = o.if_contains("progressDetail"); p != nullptr && p->is_object()) {
    const auto& d = p->get_object();
    JsonProgress progress;
    progress.current = integer(d, "current");
    progress.total = integer(d, "total");
    progress.start = integer(d, "start");
    if (const auto* h = d.if_contains("hidecounts"); h != nullptr && h->is_bool()) {
      progress.hide_counts = h->get_bool();
    }
    progress.units = str(d, "units");
    m.progress = progress;
  }
  if (const auto* e = o.if_contains("errorDetail"); e != nullptr && e->is_object()) {
    m.has_error = true;
    m.error_code = static_cast<int>(integer(e->get_object(), "code"));
    m.error_message = str(e->get_object(), "message");
  }
  // Docker reads only errorDetail; a bare "error" is still an error.
  if (std::string e = str(o, "error"); !e.empty()) {
    m.has_error = true;
    if (m.error_message.empty()) m.error_message = e;
  }
  if (const auto* a = o.if_contains("aux"); a != nullptr && !a->is_null()) m.aux = *a;
  return m;
}

std::string go_duration_string(std::int64_t seconds) {
  if (seconds == 0) return "0s";
  std::string sign = seconds < 0 ? "-" : "";
  if (seconds < 0) seconds = -seconds;
  std::int64_t h = seconds / 3600, m = seconds / 60 % 60, s = seconds % 60;
  if (h > 0)
    return sign + std::to_string(h) + "h" + std::to_string(m) + "m" + std::to_string(s) + "s";
  if (m > 0) return sign + std::to_string(m) + "m" + std::to_string(s) + "s";
  return sign + std::to_string(s) + "s";
}

std::string progress_string(const JsonProgress& p, int width, std::time_t now) {
  if (p.current <= 0 && p.total <= 0) return {};
  char buf[128];
  if (p.total <= 0) {
    if (p.units.empty()) {
      std::snprintf(buf, sizeof buf, "%8s", human_size(static_cast<double>(p.current)).c_str());
      return buf;
    }
    return std::to_string(p.current) + " " + p.units;
  }
  int percentage =
      static_cast<int>(static_cast<double>(p.current) / static_cast<double>(p.total) * 100) / 2;
  if (percentage > 50) percentage = 50;
  std::string bar;
  if (width > 110) {
    int spaces = 50 - percentage > 0 ? 50 - percentage : 0;
    bar = "[" + std::string(static_cast<std::size_t>(percentage < 0 ? 0 : percentage), '=') + ">" +
          std::string(static_cast<std::size_t>(spaces), ' ') + "] ";
  }
  std::string numbers;
  if (p.hide_counts) {
  } else if (p.units.empty()) {
    std::string current = human_size(static_cast<double>(p.current));
    std::string total = human_size(static_cast<double>(p.total));
    if (p.current > p.total) {
      std::snprintf(buf, sizeof buf, "%8s", current.c_str());
    } else {
      std::snprintf(buf, sizeof buf, "%8s/%s", current.c_str(), total.c_str());
    }
    numbers = buf;
  } else if (p.current > p.total) {
    numbers = std::to_string(p.current) + " " + p.units;
  } else {
    numbers = std::to_string(p.current) + "/" + std::to_string(p.total) + " " + p.units;
  }
  std::string left;
  if (p.current > 0 && p.start > 0 && percentage < 50 && width > 50) {
    // Go's integer Duration arithmetic, in nanoseconds.
    std::int64_t from_start = (static_cast<std::int64_t>(now) - p.start) * 1'000'000'000;
    std::int64_t per_entry = from_start / p.current;
    std::int64_t remaining = (p.total - p.current) * per_entry;
    left = " " + go_duration_string(remaining / 1'000'000'000);
  }
  return bar + numbers + left;
}

int terminal_width(int fd) {
  winsize ws{};
  if (::ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 200;
}

std::string rfc3339_nano_fixed(std::int64_t unix_nanos) {
  std::int64_t secs = unix_nanos / 1'000'000'000;
  std::int64_t nanos = unix_nanos % 1'000'000'000;
  if (nanos < 0) {
    nanos += 1'000'000'000;
    --secs;
  }
  // rfc3339_local gives "...T..:..:..Z" or "...+01:00"; the fraction goes
  // before the zone.
  std::string base = rfc3339_local(secs);
  char frac[16];
  std::snprintf(frac, sizeof frac, ".%09lld", static_cast<long long>(nanos));
  return base.substr(0, 19) + frac + base.substr(19);
}

JsonStreamDisplay::JsonStreamDisplay(std::ostream& out, Options options)
    : out_(out), options_(std::move(options)), parser_(json::storage_ptr(), lenient()) {}

void JsonStreamDisplay::feed(std::string_view bytes) {
  while (!bytes.empty()) {
    json::error_code ec;
    std::size_t n = parser_.write_some(bytes.data(), bytes.size(), ec);
    if (ec) throw CliError("invalid JSON message from daemon: " + ec.message());
    for (char c : bytes.substr(0, n)) {
      if (std::isspace(static_cast<unsigned char>(c)) == 0) partial_ = true;
    }
    bytes.remove_prefix(n);
    if (parser_.done()) {
      json::value v = parser_.release();
      parser_.reset();
      partial_ = false;
      handle(v);
    } else if (n == 0) {
      break;
    }
  }
}

void JsonStreamDisplay::finish() {
  out_.flush();
  if (partial_)
    throw CliError("invalid JSON message from daemon: the stream ended inside a message");
}

void JsonStreamDisplay::handle(const json::value& v) {
  if (!v.is_object()) throw CliError("invalid JSON message from daemon: not an object");
  JsonMessage m = JsonMessage::from_json(v.get_object());
  if (!m.aux.is_null()) {
    if (options_.on_aux) options_.on_aux(m.aux);
    return;
  }
  unsigned diff = 0;
  if (!m.id.empty() && (m.progress || !m.progress_message.empty())) {
    auto it = ids_.find(m.id);
    unsigned line = 0;
    if (it == ids_.end()) {
      // A new id gets a new line at the bottom.
      line = static_cast<unsigned>(ids_.size());
      ids_[m.id] = line;
      if (options_.terminal) out_ << "\n";
    } else {
      line = it->second;
    }
    diff = static_cast<unsigned>(ids_.size()) - line;
    if (options_.terminal) cursor_up(out_, diff);
  } else {
    // Anything else starts a new block: earlier progress lines are not
    // redrawn any more (e.g. the next tag of `pull -a`).
    ids_.clear();
  }
  try {
    display(m);
  } catch (...) {
    if (!m.id.empty() && options_.terminal) cursor_down(out_, diff);
    out_.flush();
    throw;
  }
  if (!m.id.empty() && options_.terminal) cursor_down(out_, diff);
  out_.flush();
}

void JsonStreamDisplay::display(const JsonMessage& m) {
  if (m.has_error) {
    if (m.error_code == 401) throw CliError("authentication is required");
    int code =
        options_.error_code_exit && m.error_code > 0 && m.error_code < 256 ? m.error_code : 1;
    throw CliError(m.error_message, code);
  }
  std::string endl;
  std::time_t now = std::time(nullptr);
  if (options_.terminal && m.stream.empty() && m.progress) {
    out_ << "\x1b[2K";
    endl = "\r";
    out_ << endl;
  } else if (m.progress && !progress_string(*m.progress, options_.width, now).empty()) {
    // No progress bars off a terminal.
    return;
  }
  if (m.time_nano != 0) {
    out_ << rfc3339_nano_fixed(m.time_nano) << " ";
  } else if (m.time != 0) {
    out_ << rfc3339_nano_fixed(m.time * 1'000'000'000) << " ";
  }
  if (!m.id.empty()) out_ << m.id << ": ";
  if (!m.from.empty()) out_ << "(from " << m.from << ") ";
  if (m.progress && options_.terminal) {
    out_ << m.status << " " << progress_string(*m.progress, options_.width, now) << endl;
  } else if (!m.progress_message.empty()) {
    out_ << m.status << " " << m.progress_message << endl;
  } else if (!m.stream.empty()) {
    out_ << m.stream << endl;
  } else {
    out_ << m.status << endl << "\n";
  }
}

void show_json_response(Context& ctx, const StreamRequest& request,
                        std::function<void(const json::value& aux)> on_aux, bool quiet) {
  bool terminal = !quiet && ctx.out_is_terminal();
  std::ostream discard(nullptr);
  JsonStreamDisplay display(quiet ? discard : ctx.out,
                            {terminal, terminal ? terminal_width(STDOUT_FILENO) : 200, std::move(on_aux)});
  bool is_json = false;
  Response r = ctx.client().stream(request, [&](const Response& head, std::string_view chunk) {
    is_json = head.content_type.starts_with("application/json");
    if (is_json) {
      display.feed(chunk);
    } else {
      ctx.out.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    }
  });
  check_response(r);
  if (is_json) display.finish();
  ctx.out.flush();
}

}  // namespace berth::cli
