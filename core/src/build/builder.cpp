#include "berth/core/build/builder.hpp"

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>
#include <SQLiteCpp/Statement.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>

#include "berth/core/build/dockerfile.hpp"
#include "berth/core/container/archive.hpp"
#include "berth/core/container/exec_user.hpp"
#include "berth/core/fs_copy.hpp"
#include "berth/core/go_format.hpp"
#include "berth/core/image/commit.hpp"
#include "berth/core/image/digest.hpp"
#include "berth/core/image/reference.hpp"
#include "berth/core/random_id.hpp"
#include "berth/core/time_format.hpp"
#include "berth/core/unique_fd.hpp"

namespace berth::core::build {
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

Error invalid(std::string message) {
  return make_error(Errc::invalid_argument, std::move(message));
}

std::string short_id(const std::string& id) {
  const std::string hex = id.starts_with("sha256:") ? id.substr(7) : id;
  return hex.substr(0, 12);
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

json::array strings(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

std::vector<std::string> strings_of(const json::value* v) {
  std::vector<std::string> out;
  if (v == nullptr || !v->is_array()) return out;
  for (const auto& e : v->get_array()) {
    if (e.is_string()) out.emplace_back(e.get_string());
  }
  return out;
}

// The ENV of a config as a map.
Env env_of(const json::object& config) {
  Env env;
  for (const auto& e : strings_of(config.if_contains("Env"))) {
    const auto eq = e.find('=');
    env[e.substr(0, eq)] = eq == std::string::npos ? "" : e.substr(eq + 1);
  }
  return env;
}

void set_env(json::object& config, const std::string& key, const std::string& value) {
  json::array env;
  bool replaced = false;
  for (const auto& e : strings_of(config.if_contains("Env"))) {
    if (e.substr(0, e.find('=')) == key) {
      env.emplace_back(key + "=" + value);
      replaced = true;
    } else {
      env.emplace_back(e);
    }
  }
  if (!replaced) env.emplace_back(key + "=" + value);
  config["Env"] = std::move(env);
}

// Go's duration strings of HEALTHCHECK flags ("30s", "1m30s", "500ms") in ns.
Result<std::int64_t> parse_duration(const std::string& text, const std::string& flag) {
  std::int64_t total = 0;
  std::size_t i = 0;
  if (text.empty()) return invalid("invalid duration for --" + flag + ": empty");
  while (i < text.size()) {
    std::size_t j = i;
    while (j < text.size() && (std::isdigit(static_cast<unsigned char>(text[j])) || text[j] == '.'))
      ++j;
    if (j == i) return invalid("time: invalid duration \"" + text + "\"");
    const double n = std::stod(text.substr(i, j - i));
    std::size_t k = j;
    while (k < text.size() && std::isalpha(static_cast<unsigned char>(text[k]))) ++k;
    const std::string unit = text.substr(j, k - j);
    double scale = 0;
    if (unit == "ns")
      scale = 1;
    else if (unit == "us")
      scale = 1e3;
    else if (unit == "ms")
      scale = 1e6;
    else if (unit == "s")
      scale = 1e9;
    else if (unit == "m")
      scale = 60e9;
    else if (unit == "h")
      scale = 3600e9;
    else
      return invalid("time: invalid duration \"" + text + "\"");
    total += static_cast<std::int64_t>(n * scale);
    i = k;
  }
  return total;
}

// One stage of the Dockerfile.
struct Stage {
  std::string base;                       // FROM's image or stage, build args expanded
  std::string name;                       // "as" name, lower case ("" none)
  std::vector<const Instruction*> steps;  // FROM first
  int index = 0;
};

// The state a stage's steps work on.
struct State {
  std::string image_id;  // "" = scratch so far
  json::object config;   // the image config's "config"
  std::vector<std::string> shell{"/bin/sh", "-c"};
  std::map<std::string, std::string> args;  // declared ARGs with their values
  std::vector<std::string> history_onbuild;
};

class Build {
 public:
  Build(const BuildServices& s, const BuildRequest& r, const Emit& emit)
      : s_(s), r_(r), emit_(emit) {}

  Result<std::string> run(const image::ReadFn& context);
  const std::string& dir() const { return dir_; }
  // The exit code of the RUN step that failed the build, or 0.
  int failed_exit_code() const { return failed_exit_code_; }

 private:
  bool say(const std::string& text) {
    if (r_.quiet) return true;
    return emit_(json::object{{"stream", text}});
  }
  Result<void> unpack(const image::ReadFn& context);
  Result<void> apply_dockerignore();
  Result<std::vector<Stage>> stages(const Dockerfile& df);
  Result<void> run_stage(const Stage& stage, State& st, int& step, int total);
  Result<void> from(const Stage& stage, State& st);
  Result<void> step(const Instruction& in, State& st);
  Result<void> onbuild_triggers(State& st);
  Result<std::string> resolve_image(const std::string& name);
  Env env_for(const State& st) const;
  // Cache: a recorded step, else a step of a --cache-from image. `config`
  // is the config the step leaves, for an image restored from a source.
  std::optional<std::string> cached(const std::string& parent, const std::string& key,
                                    const std::string& created_by, const json::object& config);
  void load_cache_sources();
  Result<std::optional<std::string>> from_cache_sources(const std::string& parent,
                                                        const std::string& created_by,
                                                        const json::object& config);
  void remember(const std::string& parent, const std::string& key, const std::string& image_id);
  // Commits
  Result<std::string> commit_config(State& st, const std::string& created_by, json::object config);
  Result<std::string> commit_diff(const State& st, const std::string& created_by,
                                  json::object config, const image::LayerDiffFn& diff);
  Result<void> run_command(const Instruction& in, State& st, const std::string& key);
  Result<void> copy(const Instruction& in, State& st, bool add);
  Result<std::string> sources_checksum(const std::string& root,
                                       const std::vector<std::string>& sources);

  const BuildServices& s_;
  const BuildRequest& r_;
  const Emit& emit_;
  std::string dir_, context_;
  Dockerfile dockerfile_;
  std::map<std::string, std::string> meta_args_;     // ARGs before the first FROM
  std::map<std::string, std::string> stage_images_;  // name or index -> image
  std::set<std::string> used_args_;
  // --cache-from images still in the running, with their parsed configs.
  struct CacheSource {
    image::ImageInfo info;
    json::object image;
  };
  std::vector<CacheSource> sources_;
  int failed_exit_code_ = 0;
};

Result<void> Build::unpack(const image::ReadFn& context) {
  dir_ = s_.work_dir + "/" + random_id().substr(0, 16);
  context_ = dir_ + "/context";
  std::error_code ec;
  fs::create_directories(context_, ec);
  if (ec) return make_error(Errc::internal, "create build directory: " + ec.message());
  std::int64_t total = 0;
  bool too_big = false;
  auto limited = [&](void* buf, std::size_t cap) -> std::int64_t {
    const std::int64_t n = context(buf, cap);
    if (n > 0) total += n;
    if (total > s_.max_context_bytes) {
      too_big = true;
      return -1;
    }
    return n;
  };
  auto r = container::extract_into(context_, "/", limited, {});
  if (too_big) {
    return invalid("build context is too large: more than " + std::to_string(s_.max_context_bytes) +
                   " bytes");
  }
  if (!r) return std::move(r).error().wrap("failed to read the build context");
  return ok();
}

Result<void> Build::apply_dockerignore() {
  std::ifstream in(context_ + "/.dockerignore");
  if (!in) return ok();
  std::string text((std::istreambuf_iterator<char>(in)), {});
  BERTH_TRY(auto matcher, IgnoreMatcher::parse(text));
  // Excluded files go, the Dockerfile (already read) and .dockerignore too
  // when listed, as Docker's daemon does (the docker CLI lists a Dockerfile
  // it sends from stdin); an excluded directory is walked when an exception
  // may match below it.
  std::vector<fs::path> doomed;
  for (auto it = fs::recursive_directory_iterator(context_, fs::directory_options::none);
       it != fs::recursive_directory_iterator(); ++it) {
    const std::string rel = fs::relative(it->path(), context_).generic_string();
    const bool dir = it->is_directory() && !it->is_symlink();
    if (!matcher.excluded(rel)) continue;
    if (dir && matcher.may_include_below(rel)) continue;
    doomed.push_back(it->path());
    if (dir) it.disable_recursion_pending();
  }
  for (const auto& p : doomed) {
    std::error_code ec;
    fs::remove_all(p, ec);
  }
  return ok();
}

Result<std::vector<Stage>> Build::stages(const Dockerfile& df) {
  std::vector<Stage> out;
  for (const auto& in : df.instructions) {
    if (in.keyword == "FROM") {
      Stage st;
      st.index = static_cast<int>(out.size());
      BERTH_TRY(auto words,
                expand_words(in.rest, Env(meta_args_.begin(), meta_args_.end()), df.escape));
      if (words.size() != 1 && !(words.size() == 3 && lower(words[1]) == "as")) {
        return invalid("FROM requires either one or three arguments");
      }
      st.base = words[0];
      if (words.size() == 3) st.name = lower(words[2]);
      st.steps.push_back(&in);
      out.push_back(std::move(st));
      continue;
    }
    if (out.empty()) {
      if (in.keyword != "ARG") return invalid("no build stage in current context");
      BERTH_TRY(auto kvs,
                parse_key_values(in, Env(meta_args_.begin(), meta_args_.end()), df.escape));
      for (const auto& [k, v] : kvs) {
        auto given = r_.build_args.find(k);
        meta_args_[k] =
            given != r_.build_args.end() && given->second ? *given->second : v.value_or("");
        used_args_.insert(k);
      }
      continue;
    }
    out.back().steps.push_back(&in);
  }
  if (out.empty()) return invalid("no build stage in current context");
  return out;
}

Env Build::env_for(const State& st) const {
  Env env(st.args.begin(), st.args.end());
  for (const auto& [k, v] : env_of(st.config)) env[k] = v;
  return env;
}

std::optional<std::string> Build::cached(const std::string& parent, const std::string& key,
                                         const std::string& created_by,
                                         const json::object& config) {
  if (r_.no_cache) return std::nullopt;
  auto id = guard("read build cache", [&] {
    return s_.db.with_db([&](SQLite::Database& db) {
      SQLite::Statement q(db, "SELECT image_id FROM build_cache WHERE parent = ? AND key = ?");
      q.bind(1, parent);
      q.bind(2, key);
      return q.executeStep() ? q.getColumn(0).getString() : std::string();
    });
  });
  if (id && !id.value().empty() && s_.images.get(id.value())) return id.value();
  auto restored = from_cache_sources(parent, created_by, config);
  if (!restored) {
    say("[Warning] --cache-from: " + restored.error().message + "\n");
    sources_.clear();
    return std::nullopt;
  }
  if (!restored.value()) return std::nullopt;
  remember(parent, key, *restored.value());
  return restored.value();
}

// The images named by --cache-from that are here (Docker's classic builder
// does not pull them either).
void Build::load_cache_sources() {
  if (r_.no_cache) return;
  for (const auto& name : r_.cache_from) {
    auto id = s_.images.resolve(name);
    auto info = id ? s_.images.get(id.value()) : Result<image::ImageInfo>(id.error());
    json::error_code ec;
    json::value v = info ? json::parse(info.value().config, ec) : json::value();
    if (!info || ec || !v.is_object()) {
      say("[Warning] --cache-from: image " + name + " is not available\n");
      continue;
    }
    sources_.push_back({std::move(info).value(), std::move(v).as_object()});
  }
}

const json::array& member_array(const json::object& o, std::string_view key) {
  static const json::array kNone;
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_array() ? v->get_array() : kNone;
}
const json::array& diff_ids_of(const json::object& image) {
  static const json::object kNone;
  const auto* r = image.if_contains("rootfs");
  return member_array(r != nullptr && r->is_object() ? r->get_object() : kNone, "diff_ids");
}

// Docker's classic cache-from (daemon/images/cache.go): a source image whose
// history and layers start with the parent's and whose next history entry
// was made by this step is a hit. At its last entry the source itself is
// the step's image; below it, an image of the parent plus that entry (and
// its layer) is recorded. A miss ends the use of the sources, since no later
// step can line up with them again.
Result<std::optional<std::string>> Build::from_cache_sources(const std::string& parent,
                                                             const std::string& created_by,
                                                             const json::object& config) {
  if (sources_.empty()) return std::optional<std::string>();
  image::ImageInfo parent_info;
  json::object parent_image;
  if (!parent.empty()) {
    BERTH_TRY(parent_info, s_.images.get(parent));
    json::error_code ec;
    auto v = json::parse(parent_info.config, ec);
    if (ec || !v.is_object()) return make_error(Errc::internal, "image " + parent + " has no valid config");
    parent_image = std::move(v).as_object();
  }
  const json::array& history = member_array(parent_image, "history");
  const json::array& diff_ids = diff_ids_of(parent_image);
  // Once one source matched, only it can match later steps.
  auto keep_only = [this](std::size_t i) {
    CacheSource kept = std::move(sources_[i]);
    sources_.clear();
    sources_.push_back(std::move(kept));
  };
  for (std::size_t i = 0; i < sources_.size(); ++i) {
    const CacheSource& src = sources_[i];
    const json::array& sh = member_array(src.image, "history");
    const json::array& sd = diff_ids_of(src.image);
    if (sh.size() <= history.size() || sd.size() < diff_ids.size()) continue;
    if (!std::equal(history.begin(), history.end(), sh.begin()) ||
        !std::equal(diff_ids.begin(), diff_ids.end(), sd.begin()))
      continue;
    const json::value& entry = sh[history.size()];
    const auto* by = entry.is_object() ? entry.get_object().if_contains("created_by") : nullptr;
    if (by == nullptr || !by->is_string() || by->get_string() != created_by) continue;
    // The entry's layer, when it has one, is the source's next layer.
    const auto* empty = entry.get_object().if_contains("empty_layer");
    const bool has_layer = empty == nullptr || !empty->is_bool() || !empty->get_bool();
    if (has_layer && (sd.size() == diff_ids.size() || src.info.layers.size() <= diff_ids.size())) continue;
    if (sh.size() == history.size() + 1) {
      const std::string id = src.info.id;
      keep_only(i);
      if (!parent.empty()) {
        BERTH_TRY(s_.images.set_parent(id, parent));
      }
      return std::optional<std::string>(id);
    }
    json::array new_diff_ids = diff_ids;
    std::string top = parent_info.top_layer;
    std::vector<std::string> keep;
    std::vector<image::LayerBlob> blobs;
    if (has_layer) {
      const image::LayerInfo& layer = src.info.layers[diff_ids.size()];
      new_diff_ids.push_back(sd[diff_ids.size()]);
      top = layer.chain_id;
      blobs = s_.images.layer_blobs(layer.diff_id);
      for (const auto& b : blobs) keep.push_back(b.digest);
    }
    json::array new_history = history;
    new_history.push_back(entry);
    json::object image{
        {"architecture", src.image.contains("architecture") ? src.image.at("architecture") : json::value("amd64")},
        {"os", src.image.contains("os") ? src.image.at("os") : json::value("linux")},
        {"created", entry.get_object().contains("created") ? entry.get_object().at("created") : json::value("")},
        {"config", config},
        {"container_config", json::object{{"Cmd", json::array{json::value(created_by)}}}},
        {"rootfs", json::object{{"type", "layers"}, {"diff_ids", std::move(new_diff_ids)}}},
        {"history", std::move(new_history)},
    };
    keep_only(i);
    BERTH_TRY(auto digest, s_.images.content().put(json::serialize(image)));
    BERTH_TRY(auto id, s_.images.add_image(digest, top, keep, blobs));
    if (!parent.empty()) {
      BERTH_TRY(s_.images.set_parent(id, parent));
    }
    return std::optional<std::string>(id);
  }
  sources_.clear();
  return std::optional<std::string>();
}

void Build::remember(const std::string& parent, const std::string& key,
                     const std::string& image_id) {
  (void)guard("record build cache", [&] {
    s_.db.with_db([&](SQLite::Database& db) {
      SQLite::Statement q(
          db,
          "INSERT OR REPLACE INTO build_cache(parent, key, image_id, created) VALUES(?, ?, ?, ?)");
      q.bind(1, parent);
      q.bind(2, key);
      q.bind(3, image_id);
      q.bind(4, rfc3339_now());
      q.exec();
    });
  });
}

Result<std::string> Build::commit_diff(const State& st, const std::string& created_by,
                                       json::object config, const image::LayerDiffFn& diff) {
  image::CommitRequest req;
  req.image_id = st.image_id;
  req.config = std::move(config);
  json::object cc = req.config.get_object();
  cc["Cmd"] = json::array{created_by};
  req.container_config = std::move(cc);
  req.merge_config = false;
  return image::commit_container(s_.images, req, diff);
}

Result<std::string> Build::commit_config(State& st, const std::string& created_by,
                                         json::object config) {
  // An empty layer: a tar of two zero blocks.
  static const std::string kEmptyTar(1024, '\0');
  return commit_diff(st, created_by, std::move(config),
                     [](const image::WriteFn& write) -> Result<void> {
                       if (!write(kEmptyTar.data(), kEmptyTar.size()))
                         return make_error(Errc::internal, "write empty layer");
                       return ok();
                     });
}

Result<std::string> Build::resolve_image(const std::string& name) {
  auto id = s_.images.resolve(name);
  if (id && !r_.pull) return id.value();
  if (!s_.pull) {
    if (id) return id.value();
    return make_error(Errc::not_found,
                      "pull access denied for " + name +
                          ", repository does not exist or may require 'docker login'");
  }
  auto pulled = s_.pull(name, [this](const json::object& m) {
    if (!r_.quiet) emit_(m);
  });
  if (!pulled && id) return id.value();  // --pull with the image here: keep it
  return pulled;
}

Result<void> Build::from(const Stage& stage, State& st) {
  const std::string& base = stage.base;
  st = State{};
  if (base == "scratch") return ok();
  if (auto it = stage_images_.find(lower(base)); it != stage_images_.end()) {
    st.image_id = it->second;
  } else {
    BERTH_TRY(st.image_id, resolve_image(base));
  }
  BERTH_TRY(auto info, s_.images.get(st.image_id));
  json::error_code ec;
  auto cfg = json::parse(info.config, ec);
  if (!ec && cfg.is_object()) {
    if (const auto* c = cfg.get_object().if_contains("config"); c != nullptr && c->is_object())
      st.config = c->get_object();
  }
  if (const auto* sh = st.config.if_contains("Shell");
      sh != nullptr && sh->is_array() && !sh->get_array().empty()) {
    st.shell = strings_of(sh);
  }
  return onbuild_triggers(st);
}

Result<void> Build::onbuild_triggers(State& st) {
  auto triggers = strings_of(st.config.if_contains("OnBuild"));
  if (triggers.empty()) return ok();
  say("# Executing " + std::to_string(triggers.size()) + " build trigger" +
      (triggers.size() == 1 ? "" : "s") + "\n");
  st.config.erase("OnBuild");
  for (const auto& t : triggers) {
    BERTH_TRY(auto parsed, parse_dockerfile(t));
    for (const auto& in : parsed.instructions) {
      BERTH_TRY(step(in, st));
    }
  }
  return ok();
}

Result<void> Build::run_stage(const Stage& stage, State& st, int& n, int total) {
  for (const Instruction* in : stage.steps) {
    if (!say("Step " + std::to_string(++n) + "/" + std::to_string(total) + " : " + in->original +
             "\n")) {
      return make_error(Errc::unavailable, "the client went away");
    }
    if (in->keyword == "FROM") {
      BERTH_TRY(from(stage, st));
    } else {
      BERTH_TRY(step(*in, st));
    }
    if (!st.image_id.empty()) say(" ---> " + short_id(st.image_id) + "\n");
  }
  return ok();
}

// The shell-form or exec-form command of RUN/CMD/ENTRYPOINT.
std::vector<std::string> command_of(const Instruction& in, const std::vector<std::string>& shell) {
  if (in.json) return in.json_args;
  std::vector<std::string> cmd = shell;
  cmd.push_back(in.rest);
  return cmd;
}

Result<void> Build::step(const Instruction& in, State& st) {
  const Env env = env_for(st);
  const char esc = dockerfile_.escape;
  json::object config = st.config;
  std::string text;  // the instruction as the cache and history see it
  const std::string& kw = in.keyword;

  if (kw == "RUN") {
    std::string key = "RUN " + json::serialize(strings(command_of(in, st.shell)));
    for (const auto& [k, v] : st.args) key += " |" + k + "=" + v;
    return run_command(in, st, key);
  }
  if (kw == "COPY" || kw == "ADD") return copy(in, st, kw == "ADD");

  if (kw == "ENV") {
    BERTH_TRY(auto kvs, parse_key_values(in, env, esc));
    for (const auto& [k, v] : kvs) {
      set_env(config, k, v.value_or(""));
      text += (text.empty() ? "" : " ") + k + "=" + v.value_or("");
    }
    text = "ENV " + text;
  } else if (kw == "ARG") {
    BERTH_TRY(auto kvs, parse_key_values(in, env, esc));
    for (const auto& [k, v] : kvs) {
      auto given = r_.build_args.find(k);
      std::optional<std::string> value = v;
      if (given != r_.build_args.end() && given->second) value = given->second;
      if (!value) {
        if (auto meta = meta_args_.find(k); meta != meta_args_.end()) value = meta->second;
      }
      st.args[k] = value.value_or("");
      used_args_.insert(k);
      text += (text.empty() ? "" : " ") + k + (v ? "=" + *v : "");
    }
    text = "ARG " + text;
  } else if (kw == "LABEL" || kw == "MAINTAINER") {
    json::object labels;
    if (const auto* l = config.if_contains("Labels"); l != nullptr && l->is_object())
      labels = l->get_object();
    if (kw == "MAINTAINER") {
      BERTH_TRY(auto who, expand_word(in.rest, env, esc));
      text = "MAINTAINER " + who;
    } else {
      BERTH_TRY(auto kvs, parse_key_values(in, env, esc));
      for (const auto& [k, v] : kvs) {
        labels[k] = v.value_or("");
        text += (text.empty() ? "" : " ") + k + "=" + v.value_or("");
      }
      text = "LABEL " + text;
    }
    config["Labels"] = std::move(labels);
  } else if (kw == "CMD" || kw == "ENTRYPOINT") {
    config[kw == "CMD" ? "Cmd" : "Entrypoint"] = strings(command_of(in, st.shell));
    if (kw == "ENTRYPOINT" && !in.json && in.rest.empty()) config["Entrypoint"] = nullptr;
    // An ENTRYPOINT resets a CMD inherited from the base, as Docker does.
    if (kw == "ENTRYPOINT" && !st.config.contains("Cmd")) config.erase("Cmd");
    // Docker's history text: fmt.Sprintf("CMD %q", cmd).
    text = kw + " " + go_quote_list(strings_of(config.if_contains(kw == "CMD" ? "Cmd" : "Entrypoint")));
  } else if (kw == "EXPOSE") {
    BERTH_TRY(auto ports, expand_words(in.rest, env, esc));
    if (ports.empty()) return invalid("EXPOSE requires at least one argument");
    json::object exposed;
    if (const auto* e = config.if_contains("ExposedPorts"); e != nullptr && e->is_object())
      exposed = e->get_object();
    for (auto p : ports) {
      if (p.find('/') == std::string::npos) p += "/tcp";
      const auto slash = p.find('/');
      const std::string num = p.substr(0, slash), proto = lower(p.substr(slash + 1));
      if (num.empty() || num.find_first_not_of("0123456789-") != std::string::npos ||
          (proto != "tcp" && proto != "udp" && proto != "sctp")) {
        return invalid("invalid containerPort: " + p.substr(0, slash));
      }
      exposed[num + "/" + proto] = json::object{};
      text += " " + num + "/" + proto;
    }
    config["ExposedPorts"] = std::move(exposed);
    text = "EXPOSE" + text;
  } else if (kw == "VOLUME") {
    std::vector<std::string> vols;
    if (in.json) {
      for (const auto& v : in.json_args) {
        BERTH_TRY(auto e, expand_word(v, env, esc));
        vols.push_back(e);
      }
    } else {
      BERTH_TRY(vols, expand_words(in.rest, env, esc));
    }
    if (vols.empty()) return invalid("VOLUME requires at least one argument");
    json::object volumes;
    if (const auto* v = config.if_contains("Volumes"); v != nullptr && v->is_object())
      volumes = v->get_object();
    for (const auto& v : vols) {
      if (v.empty()) return invalid("VOLUME specified can not be an empty string");
      volumes[v] = json::object{};
    }
    config["Volumes"] = std::move(volumes);
    text = "VOLUME " + go_list(vols);
  } else if (kw == "USER") {
    BERTH_TRY(auto user, expand_word(in.rest, env, esc));
    if (user.empty()) return invalid("USER requires exactly one argument");
    config["User"] = user;
    text = "USER " + user;
  } else if (kw == "WORKDIR") {
    BERTH_TRY(auto dir, expand_word(in.rest, env, esc));
    if (dir.empty()) return invalid("WORKDIR requires exactly one argument");
    std::string current;
    if (const auto* w = config.if_contains("WorkingDir"); w != nullptr && w->is_string())
      current = w->get_string();
    const std::string joined =
        dir.starts_with('/') ? dir : (current.empty() ? "/" : current) + "/" + dir;
    config["WorkingDir"] = fs::path(joined).lexically_normal().generic_string();
    text = "WORKDIR " + std::string(config.at("WorkingDir").get_string());
  } else if (kw == "STOPSIGNAL") {
    BERTH_TRY(auto sig, expand_word(in.rest, env, esc));
    if (sig.empty()) return invalid("STOPSIGNAL requires exactly one argument");
    config["StopSignal"] = sig;
    text = "STOPSIGNAL " + sig;
  } else if (kw == "SHELL") {
    if (!in.json || in.json_args.empty())
      return invalid("SHELL requires the arguments to be in JSON form");
    st.shell = in.json_args;
    config["Shell"] = strings(in.json_args);
    text = "SHELL " + go_list(strings_of(config.if_contains("Shell")));
  } else if (kw == "ONBUILD") {
    const auto space = in.rest.find_first_of(" \t");
    const std::string trigger =
        upper(in.rest.substr(0, space)) + (space == std::string::npos ? "" : in.rest.substr(space));
    json::array triggers;
    if (const auto* o = config.if_contains("OnBuild"); o != nullptr && o->is_array())
      triggers = o->get_array();
    triggers.emplace_back(trigger);
    config["OnBuild"] = std::move(triggers);
    text = "ONBUILD " + trigger;
  } else if (kw == "HEALTHCHECK") {
    const auto space = in.rest.find_first_of(" \t");
    const std::string type = upper(in.rest.substr(0, space));
    json::object hc;
    if (type == "NONE") {
      if (space != std::string::npos || !in.flags.empty())
        return invalid("HEALTHCHECK NONE takes no arguments");
      hc["Test"] = json::array{"NONE"};
    } else if (type == "CMD") {
      Instruction cmd;
      const std::string after = space == std::string::npos ? "" : in.rest.substr(space + 1);
      json::error_code ec;
      auto parsed = json::parse(after, ec);
      if (!ec && parsed.is_array()) {
        json::array test{"CMD"};
        for (const auto& a : parsed.get_array()) test.push_back(a);
        hc["Test"] = std::move(test);
      } else {
        if (after.empty()) return invalid("Missing command after HEALTHCHECK CMD");
        hc["Test"] = json::array{"CMD-SHELL", after};
      }
      for (const auto& [flag, value] : in.flags) {
        if (flag == "retries") {
          hc["Retries"] = std::stoll(value);
        } else if (flag == "interval" || flag == "timeout" || flag == "start-period" ||
                   flag == "start-interval") {
          BERTH_TRY(auto ns, parse_duration(value, flag));
          const char* field = flag == "interval"       ? "Interval"
                              : flag == "timeout"      ? "Timeout"
                              : flag == "start-period" ? "StartPeriod"
                                                       : "StartInterval";
          hc[field] = ns;
        } else {
          return invalid("Unknown flag: " + flag);
        }
      }
    } else {
      return invalid("Unknown type \"" + type + "\" in HEALTHCHECK (try CMD)");
    }
    config["Healthcheck"] = hc;
    text = "HEALTHCHECK " + json::serialize(hc);
  } else {
    return invalid("unknown instruction: " + kw);
  }

  const std::string created_by = "/bin/sh -c #(nop)  " + text;
  if (auto hit = cached(st.image_id, created_by, created_by, config)) {
    say(" ---> Using cache\n");
    st.image_id = *hit;
    st.config = std::move(config);
    return ok();
  }
  BERTH_TRY(auto id, commit_config(st, created_by, config));
  remember(st.image_id, created_by, id);
  st.image_id = id;
  st.config = std::move(config);
  return ok();
}

// Runs a container of the current image until it exits, relaying its
// output. With rm (the default) the container goes whether the command
// succeeded or not: unlike Docker, which keeps a failed step's container
// unless forcerm is set, a failed build leaves nothing behind. rm=false
// keeps it for inspection.
Result<void> Build::run_command(const Instruction& in, State& st, const std::string& key) {
  const auto cmd = command_of(in, st.shell);
  std::string args_prefix;
  if (!st.args.empty()) {
    args_prefix = "|" + std::to_string(st.args.size());
    for (const auto& [k, v] : st.args) args_prefix += " " + k + "=" + v;
    args_prefix += " ";
  }
  std::string joined;
  for (const auto& c : cmd) joined += (joined.empty() ? "" : " ") + c;
  const std::string created_by = args_prefix + joined;
  if (auto hit = cached(st.image_id, key, created_by, st.config)) {
    say(" ---> Using cache\n");
    st.image_id = *hit;
    return ok();
  }
  if (st.image_id.empty()) return invalid("RUN needs a base image: FROM scratch has no shell");
  json::object body = st.config;
  body["Image"] = st.image_id;
  body["Cmd"] = strings(cmd);
  body["Entrypoint"] = json::array{""};
  // Build args reach RUN's environment unless an ENV of the same name wins.
  const Env env = env_of(st.config);
  for (const auto& [k, v] : st.args) {
    if (!env.contains(k)) set_env(body, k, v);
  }
  body.erase("Healthcheck");
  body["HostConfig"] =
      json::object{{"NetworkMode", r_.network_mode.empty() ? "default" : r_.network_mode}};
  BERTH_TRY(auto created, s_.containers.create(body, ""));
  const std::string cid = created.first;
  say(" ---> Running in " + cid.substr(0, 12) + "\n");
  auto finish = [&]() {
    if (r_.force_remove || r_.remove) {
      (void)s_.containers.remove(cid, true, true);
      say("Removing intermediate container " + cid.substr(0, 12) + "\n");
    }
  };
  auto expected = s_.containers.expect_attach(cid);
  if (!expected) {
    finish();
    return std::move(expected).error();
  }
  if (auto r = s_.containers.start(cid); !r) {
    finish();
    return std::move(r).error();
  }
  if (auto stream = s_.containers.attach(cid, false, true, true, true)) {
    std::string payload;
    for (;;) {
      auto frame = stream.value().receive(payload);
      if (!frame || !frame.value() || *frame.value() == 3) break;
      if (!say(payload)) break;
    }
  }
  auto state = s_.containers.wait(cid, container::WaitCondition::not_running, [] { return false; });
  if (!state) {
    finish();
    return std::move(state).error();
  }
  if (state.value().exit_code != 0) {
    failed_exit_code_ = state.value().exit_code;
    finish();
    return make_error(Errc::invalid_argument,
                      "The command '" + joined +
                          "' returned a non-zero code: " + std::to_string(state.value().exit_code));
  }
  json::object config = st.config;
  auto id = commit_diff(st, created_by, config, [&](const image::WriteFn& write) {
    return s_.containers.layer_diff(cid, write);
  });
  finish();
  if (!id) return std::move(id).error();
  remember(st.image_id, key, id.value());
  st.image_id = id.value();
  return ok();
}

// Sources of COPY/ADD matched against `root` (wildcards per Go's
// filepath.Match), relative paths without a leading "/".
Result<std::vector<std::string>> match_sources(const std::string& root,
                                               const std::vector<std::string>& patterns) {
  std::vector<std::string> out;
  for (const auto& raw : patterns) {
    // Docker's classic builder refuses a source that climbs out of the
    // context rather than clamping it to the root.
    if (const auto rel = fs::path(raw).lexically_normal().generic_string();
        rel == ".." || rel.starts_with("../")) {
      return invalid("COPY failed: forbidden path outside the build context: " + raw + " ()");
    }
    std::string pattern = fs::path("/" + raw).lexically_normal().generic_string();
    if (pattern.size() > 1 && pattern.back() == '/') pattern.pop_back();
    pattern = pattern == "/" ? "" : pattern.substr(1);
    if (pattern.find_first_of("*?[") == std::string::npos) {
      std::error_code ec;
      BERTH_TRY(auto host, container::resolve_in_root(root, "/" + pattern));
      if (!fs::exists(fs::symlink_status(host, ec))) {
        return make_error(
            Errc::not_found,
            "COPY failed: file not found in build context or excluded by .dockerignore: "
            "stat " +
                raw + ": file does not exist");
      }
      out.push_back(pattern);
      continue;
    }
    std::vector<std::string> found;
    for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
         ++it) {
      const std::string rel = fs::relative(it->path(), root).generic_string();
      if (::fnmatch(pattern.c_str(), rel.c_str(), FNM_PATHNAME) == 0) {
        found.push_back(rel);
        if (it->is_directory()) it.disable_recursion_pending();
      }
    }
    if (found.empty()) {
      return make_error(Errc::not_found, "COPY failed: no source files were specified");
    }
    std::sort(found.begin(), found.end());
    out.insert(out.end(), found.begin(), found.end());
  }
  return out;
}

// A checksum of what the sources hold: paths, types, modes, contents and
// link targets — not times or owners.
Result<std::string> Build::sources_checksum(const std::string& root,
                                            const std::vector<std::string>& sources) {
  std::string summary;
  auto add = [&](const fs::path& p, const std::string& rel) -> Result<void> {
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0) return errno_error(Errc::internal, "stat " + rel, errno);
    summary += rel + '\0' + std::to_string(st.st_mode) + '\0';
    if (S_ISREG(st.st_mode)) {
      // Streamed: a context may hold files larger than memory.
      UniqueFd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
      if (!fd) return errno_error(Errc::internal, "open " + rel, errno);
      image::Sha256 hash;
      std::vector<char> buf(1 << 16);
      for (;;) {
        const ssize_t n = ::read(fd.get(), buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno_error(Errc::internal, "read " + rel, errno);
        if (n == 0) break;
        hash.update(buf.data(), static_cast<std::size_t>(n));
      }
      summary += hash.finish();
    } else if (S_ISLNK(st.st_mode)) {
      std::error_code ec;
      summary += fs::read_symlink(p, ec).string();
    }
    summary += "\n";
    return ok();
  };
  for (const auto& src : sources) {
    BERTH_TRY(auto host, container::resolve_in_root(root, "/" + src));
    BERTH_TRY(add(host, src));
    std::error_code ec;
    if (fs::is_directory(fs::symlink_status(host, ec))) {
      std::vector<std::pair<std::string, fs::path>> below;
      for (auto it = fs::recursive_directory_iterator(host);
           it != fs::recursive_directory_iterator(); ++it) {
        below.emplace_back(src + "/" + fs::relative(it->path(), host).generic_string(), it->path());
      }
      std::sort(below.begin(), below.end());
      for (const auto& [rel, p] : below) {
        BERTH_TRY(add(p, rel));
      }
    }
  }
  return image::sha256_digest(summary);
}

// ADD's remote source: the file at `url` (following redirects) written to
// `file`, mode 0600 as Docker leaves it.
Result<void> download(std::string url, const std::string& file) {
  try {
    for (int redirects = 0; redirects < 10; ++redirects) {
      Poco::URI uri(url);
      std::unique_ptr<Poco::Net::HTTPClientSession> session;
      if (uri.getScheme() == "https") {
        session = std::make_unique<Poco::Net::HTTPSClientSession>(uri.getHost(), uri.getPort());
      } else {
        session = std::make_unique<Poco::Net::HTTPClientSession>(uri.getHost(), uri.getPort());
      }
      session->setTimeout(Poco::Timespan(60, 0));
      Poco::Net::HTTPRequest req(Poco::Net::HTTPRequest::HTTP_GET,
                                 uri.getPathAndQuery().empty() ? "/" : uri.getPathAndQuery(),
                                 Poco::Net::HTTPMessage::HTTP_1_1);
      session->sendRequest(req);
      Poco::Net::HTTPResponse resp;
      std::istream& body = session->receiveResponse(resp);
      const int status = static_cast<int>(resp.getStatus());
      if (status >= 300 && status < 400 && resp.has("Location")) {
        Poco::URI next(uri, resp.get("Location"));
        url = next.toString();
        continue;
      }
      if (status != 200) {
        return make_error(Errc::invalid_argument, "failed to GET " + url + " with status " +
                                                      std::to_string(status) + " " +
                                                      resp.getReason());
      }
      std::ofstream out(file, std::ios::binary | std::ios::trunc);
      Poco::StreamCopier::copyStream(body, out);
      if (!out) return make_error(Errc::internal, "write " + file);
      out.close();
      ::chmod(file.c_str(), 0600);
      return ok();
    }
    return make_error(Errc::invalid_argument, "failed to GET " + url + ": too many redirects");
  } catch (const Poco::Exception& e) {
    return make_error(Errc::invalid_argument, "failed to GET " + url + ": " + e.displayText());
  }
}

bool is_archive(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[262] = {};
  in.read(magic, sizeof magic);
  const auto n = in.gcount();
  const auto* u = reinterpret_cast<const unsigned char*>(magic);
  if (n >= 2 && u[0] == 0x1f && u[1] == 0x8b) return true;                                  // gzip
  if (n >= 3 && magic[0] == 'B' && magic[1] == 'Z' && magic[2] == 'h') return true;         // bzip2
  if (n >= 6 && u[0] == 0xfd && magic[1] == '7' && magic[2] == 'z') return true;            // xz
  if (n >= 4 && u[0] == 0x28 && u[1] == 0xb5 && u[2] == 0x2f && u[3] == 0xfd) return true;  // zstd
  return n >= 262 && std::string_view(magic + 257, 5) == "ustar";                           // tar
}

Result<void> Build::copy(const Instruction& in, State& st, bool add) {
  const Env env = env_for(st);
  const char esc = dockerfile_.escape;
  std::vector<std::string> words;
  if (in.json) {
    for (const auto& a : in.json_args) {
      BERTH_TRY(auto e, expand_word(a, env, esc));
      words.push_back(e);
    }
  } else {
    BERTH_TRY(words, expand_words(in.rest, env, esc));
  }
  const std::string kw = add ? "ADD" : "COPY";
  if (words.size() < 2)
    return invalid(kw +
                   " requires at least two arguments, but only one was provided. Destination could "
                   "not be determined.");
  std::string dest = words.back();
  words.pop_back();
  for (const auto& [flag, value] : in.flags) {
    if (flag != "from" && flag != "chown" && flag != "chmod" && flag != "link") {
      return invalid("Unknown flag: " + flag);
    }
  }
  std::string workdir;
  if (const auto* w = st.config.if_contains("WorkingDir"); w != nullptr && w->is_string())
    workdir = w->get_string();
  const bool dest_is_dir = dest.ends_with('/') || dest.ends_with("/.") || dest == ".";
  if (!dest.starts_with('/')) dest = (workdir.empty() ? "/" : workdir + "/") + dest;

  // Where the sources come from: the context, another stage or an image.
  std::string from_root = context_;
  std::unique_ptr<container::ContainerManager::MountedRootfs> from_mount;
  std::string from_container;
  auto drop_from = [&] {
    from_mount.reset();
    if (!from_container.empty()) (void)s_.containers.remove(from_container, true, false);
  };
  std::string from_id;
  if (auto from = in.flag("from")) {
    if (add) return invalid("ADD does not support --from");
    BERTH_TRY(auto name, expand_word(*from, env, esc));
    if (auto it = stage_images_.find(lower(name)); it != stage_images_.end()) {
      from_id = it->second;
    } else {
      BERTH_TRY(from_id, resolve_image(name));
    }
    BERTH_TRY(
        auto created,
        s_.containers.create(json::object{{"Image", from_id}, {"Cmd", json::array{"true"}}}, ""));
    from_container = created.first;
    auto m = s_.containers.mount_rootfs(from_container);
    if (!m) {
      drop_from();
      return std::move(m).error();
    }
    from_mount = std::move(m).value();
    from_root = from_mount->path();
  }
  struct Cleanup {
    std::function<void()> fn;
    ~Cleanup() { fn(); }
  } cleanup{drop_from};

  // Remote sources are fetched into a directory of their own in the
  // context (every build fetches again; the checksum sees the content).
  std::set<std::string> remote;
  std::vector<std::string> patterns;
  for (const auto& w : words) {
    if (!add || !(w.starts_with("http://") || w.starts_with("https://"))) {
      patterns.push_back(w);
      continue;
    }
    Poco::URI uri;
    try {
      uri = Poco::URI(w);
    } catch (const Poco::Exception& e) {
      return invalid("invalid URL " + w + ": " + e.displayText());
    }
    std::string name = fs::path(uri.getPath()).filename().string();
    if (name.empty()) name = "__unnamed__";
    const std::string rel = ".berth-remote-" + std::to_string(remote.size()) + "/" + name;
    std::error_code ec;
    fs::create_directories(fs::path(context_ + "/" + rel).parent_path(), ec);
    say("Downloading " + w + "\n");
    BERTH_TRY(download(w, context_ + "/" + rel));
    remote.insert(rel);
    patterns.push_back(rel);
  }
  BERTH_TRY(auto sources, match_sources(from_root, patterns));
  if (sources.size() > 1 && !dest_is_dir) {
    return invalid(
        "When using " + kw +
        " with more than one source file, the destination must be a directory and end with a /");
  }
  BERTH_TRY(auto checksum, sources_checksum(from_root, sources));
  std::string chown;
  if (auto c = in.flag("chown")) {
    BERTH_TRY(chown, expand_word(*c, env, esc));
  }
  std::string text = kw + " " + (from_id.empty() ? "" : "--from=" + from_id + " ") +
                     (chown.empty() ? "" : "--chown=" + chown + " ") + "dir:" + checksum + " in " +
                     dest;
  const std::string created_by = "/bin/sh -c #(nop) " + text;
  if (auto hit = cached(st.image_id, created_by, created_by, st.config)) {
    say(" ---> Using cache\n");
    st.image_id = *hit;
    return ok();
  }

  // The files go into a root file system: the current image's, in a
  // container made for the copy, or an empty one for FROM scratch.
  std::string cid, rootfs;
  std::unique_ptr<container::ContainerManager::MountedRootfs> mounted;
  if (!st.image_id.empty()) {
    BERTH_TRY(auto created,
              s_.containers.create(
                  json::object{{"Image", st.image_id}, {"Cmd", json::array{"true"}}}, ""));
    cid = created.first;
    auto m = s_.containers.mount_rootfs(cid);
    if (!m) {
      (void)s_.containers.remove(cid, true, false);
      return std::move(m).error();
    }
    mounted = std::move(m).value();
    rootfs = mounted->path();
  } else {
    rootfs = dir_ + "/scratch-" + random_id().substr(0, 8);
    std::error_code ec;
    fs::create_directories(rootfs, ec);
  }
  auto done = [&] {
    mounted.reset();
    if (!cid.empty()) (void)s_.containers.remove(cid, true, false);
  };

  auto copy_all = [&]() -> Result<void> {
    CopyOptions options;
    options.owner = std::pair<uid_t, gid_t>{0, 0};
    options.replace = true;
    if (!chown.empty()) {
      auto who = container::resolve_exec_user(rootfs, chown);
      if (!who)
        return invalid("unable to convert uid/gid chown string to host mapping: " +
                       who.error().message);
      options.owner = std::pair<uid_t, gid_t>{who.value().uid, who.value().gid};
    }
    for (const auto& src : sources) {
      BERTH_TRY(auto src_host, container::resolve_in_root(from_root, "/" + src));
      std::error_code ec;
      const bool src_dir = fs::is_directory(fs::symlink_status(src_host, ec));
      // The destination: a directory to copy into, and the name there.
      // A file goes into a destination that ends in "/" or is a directory
      // already, and is renamed to it otherwise.
      std::string target_dir = dest, target_name;
      bool into = dest_is_dir;
      if (!src_dir && !into) {
        BERTH_TRY(auto dest_host, container::resolve_in_root(rootfs, dest));
        into = fs::is_directory(fs::symlink_status(dest_host, ec));
      }
      if (!src_dir && !into) {
        const fs::path d(dest);
        target_dir = d.parent_path().generic_string();
        target_name = d.filename().generic_string();
      } else if (!src_dir) {
        target_name = fs::path(src).filename().generic_string();
      }
      BERTH_TRY(auto dir_host,
                container::resolve_in_root(rootfs, target_dir.empty() ? "/" : target_dir));
      fs::create_directories(dir_host, ec);
      UniqueFd dst(::open(dir_host.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (dst.get() < 0)
        return errno_error(Errc::invalid_argument, kw + " failed: destination " + target_dir,
                           errno);
      if (src_dir) {
        UniqueFd s(::open(src_host.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (s.get() < 0) return errno_error(Errc::internal, "open " + src, errno);
        BERTH_TRY(copy_dir_contents(s.get(), dst.get(), options));
        continue;
      }
      if (add && from_id.empty() && !remote.contains(src) && is_archive(src_host)) {
        BERTH_TRY(auto read, image::file_reader(src_host));
        container::ExtractOptions eo;
        BERTH_TRY(container::extract_into(rootfs, target_dir.empty() ? "/" : target_dir, read, eo));
        continue;
      }
      const fs::path sp(src_host);
      UniqueFd parent(::open(sp.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (parent.get() < 0) return errno_error(Errc::internal, "open " + src, errno);
      BERTH_TRY(copy_entry(parent.get(), sp.filename().string(), dst.get(), target_name, options));
    }
    return ok();
  };
  if (auto r = copy_all(); !r) {
    done();
    return std::move(r).error();
  }
  json::object config = st.config;
  Result<std::string> id = make_error(Errc::internal, "no commit");
  if (!cid.empty()) {
    // layer_diff takes the container's lock, which the mount holds.
    mounted.reset();
    id = commit_diff(st, created_by, config, [&](const image::WriteFn& write) {
      return s_.containers.layer_diff(cid, write);
    });
  } else {
    id = commit_diff(st, created_by, config, [&](const image::WriteFn& write) {
      return container::write_tree_tar(rootfs, "", write);
    });
  }
  done();
  if (!id) return std::move(id).error();
  remember(st.image_id, created_by, id.value());
  st.image_id = id.value();
  return ok();
}

Result<std::string> Build::run(const image::ReadFn& context) {
  BERTH_TRY(unpack(context));
  BERTH_TRY(auto dockerfile_host, container::resolve_in_root(context_, "/" + r_.dockerfile));
  std::ifstream in(dockerfile_host);
  if (!in) {
    return invalid("Cannot locate specified Dockerfile: " + r_.dockerfile);
  }
  std::string text((std::istreambuf_iterator<char>(in)), {});
  BERTH_TRY(apply_dockerignore());
  BERTH_TRY(dockerfile_, parse_dockerfile(text));
  load_cache_sources();
  for (const auto& w : dockerfile_.warnings) say("[WARNING]: " + w + "\n");
  BERTH_TRY(auto all, stages(dockerfile_));

  // The stages the target needs: it, and what its FROM and COPY --from name.
  std::size_t last = all.size() - 1;
  if (!r_.target.empty()) {
    auto it = std::find_if(all.begin(), all.end(),
                           [&](const Stage& s) { return s.name == lower(r_.target); });
    if (it == all.end())
      return invalid("failed to reach build target " + r_.target + " in Dockerfile");
    last = static_cast<std::size_t>(it - all.begin());
  }
  std::set<std::size_t> needed{last};
  for (std::size_t i = last + 1; i-- > 0;) {
    if (!needed.contains(i)) continue;
    for (const Instruction* ins : all[i].steps) {
      std::optional<std::string> ref;
      if (ins->keyword == "FROM") {
        ref = all[i].base;
      } else if (auto f = ins->flag("from")) {
        ref = *f;
      }
      if (!ref) continue;
      for (std::size_t j = 0; j < i; ++j) {
        if (all[j].name == lower(*ref) || std::to_string(j) == *ref) needed.insert(j);
      }
    }
  }
  // ARGs before the first FROM are steps too, as Docker counts them.
  std::vector<const Instruction*> meta_steps;
  for (const auto& ins : dockerfile_.instructions) {
    if (ins.keyword == "FROM") break;
    meta_steps.push_back(&ins);
  }
  int total = static_cast<int>(meta_steps.size());
  for (auto i : needed) total += static_cast<int>(all[i].steps.size());
  int n = 0;
  for (const Instruction* ins : meta_steps) {
    say("Step " + std::to_string(++n) + "/" + std::to_string(total) + " : " + ins->original + "\n");
  }
  State st;
  for (auto i : needed) {
    BERTH_TRY(run_stage(all[i], st, n, total));
    if (st.image_id.empty()) {
      // A stage of FROM scratch and nothing else: an image with no layer.
      BERTH_TRY(st.image_id, commit_config(st, "/bin/sh -c #(nop)  FROM scratch", st.config));
    }
    stage_images_[std::to_string(i)] = st.image_id;
    if (!all[i].name.empty()) stage_images_[all[i].name] = st.image_id;
  }
  // Labels of the request go on the final image.
  if (!r_.labels.empty()) {
    json::object config = st.config;
    json::object labels;
    if (const auto* l = config.if_contains("Labels"); l != nullptr && l->is_object())
      labels = l->get_object();
    std::string pairs;
    for (const auto& [k, v] : r_.labels) {
      labels[k] = v;
      pairs += " " + k + "=" + v;
    }
    config["Labels"] = std::move(labels);
    BERTH_TRY(st.image_id, commit_config(st, "/bin/sh -c #(nop)  LABEL" + pairs, config));
  }
  for (const auto& [k, v] : r_.build_args) {
    if (!used_args_.contains(k))
      say("[Warning] One or more build-args [" + k + "] were not consumed\n");
  }
  for (const auto& tag : r_.tags) {
    BERTH_TRY(auto ref, image::Reference::parse(tag));
    BERTH_TRY(s_.images.set_ref(ref.str(), st.image_id, false));
  }
  emit_(json::object{{"aux", json::object{{"ID", st.image_id}}}});
  if (r_.quiet) {
    emit_(json::object{{"stream", st.image_id + "\n"}});
  } else {
    say("Successfully built " + short_id(st.image_id) + "\n");
    for (const auto& tag : r_.tags) {
      auto ref = image::Reference::parse(tag);
      say("Successfully tagged " + (ref ? ref.value().familiar() : tag) + "\n");
    }
  }
  return st.image_id;
}

}  // namespace

Result<std::string> run_build(const BuildServices& services, const BuildRequest& request,
                              const image::ReadFn& context, const Emit& emit) {
  Build b(services, request, emit);
  auto id = b.run(context);
  // The unpacked context goes whatever happened.
  std::error_code ec;
  if (!b.dir().empty()) fs::remove_all(b.dir(), ec);
  if (!id) {
    // Docker's error message; its code is the failed RUN's exit code, which
    // the docker CLI exits with.
    json::object detail{{"message", id.error().message}};
    if (b.failed_exit_code() != 0) detail["code"] = b.failed_exit_code();
    emit(json::object{{"errorDetail", std::move(detail)}, {"error", id.error().message}});
  }
  return id;
}

Result<std::pair<std::vector<std::string>, std::int64_t>> prune_cache(
    const BuildServices& services) {
  BERTH_TRY(auto ids, guard("read build cache", [&] {
              return services.db.with_db([&](SQLite::Database& db) {
                std::vector<std::string> out;
                SQLite::Statement q(db, "SELECT DISTINCT image_id FROM build_cache");
                while (q.executeStep()) out.push_back(q.getColumn(0).getString());
                SQLite::Statement d(db, "DELETE FROM build_cache");
                d.exec();
                return out;
              });
            }));
  std::vector<std::string> removed;
  std::int64_t reclaimed = 0;
  for (const auto& id : ids) {
    auto info = services.images.get(id);
    if (!info || !info.value().tags.empty()) continue;
    const std::int64_t size = info.value().size;
    if (services.images.remove(id, false)) {
      removed.push_back(id);
      reclaimed += size;
    }
  }
  return std::pair{removed, reclaimed};
}

}  // namespace berth::core::build
